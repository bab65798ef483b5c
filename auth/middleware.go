package auth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

type ctxKey struct{}

// slot carries the client name out to middleware that ran before auth
// (the access log and the request metrics), and may hold the request's
// own logger for the auth middleware to add the client to.
type slot struct {
	name string
	log  RequestLogger
}

// RequestLogger is a request's own logger (the one zerolog.Ctx finds in
// its context, made for that request alone), which the auth middleware
// names the client in.
type RequestLogger interface {
	AddClient(name string)
}

// WithClientSlot prepares ctx to report the client that the auth
// middleware, further in, identifies; ClientFrom(ctx) reads it afterwards.
func WithClientSlot(ctx context.Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, &slot{})
}

// WithClientSlotLogger is WithClientSlot for a ctx whose logger was made
// for this request alone (log): the auth middleware names the client in
// it, instead of deriving another logger (a 500-byte buffer) and copying
// the request.
func WithClientSlotLogger(ctx context.Context, log RequestLogger) context.Context {
	return context.WithValue(ctx, ctxKey{}, &slot{log: log})
}

// ClientFrom returns the authenticated SCIM client's name ("" when the
// request was not authenticated, or not yet).
func ClientFrom(ctx context.Context) string {
	if s, ok := ctx.Value(ctxKey{}).(*slot); ok {
		return s.name
	}
	return ""
}

func withClient(ctx context.Context, name string) context.Context {
	if s, ok := ctx.Value(ctxKey{}).(*slot); ok {
		s.name = name
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, &slot{name: name})
}

// Middleware admits requests with a valid credential of a configured
// client, puts the client's name on the context (and the request's
// logger), and refuses writes to read-only clients with 403.
func (r *Registry) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s := r.cur.Load()
		cred, err := ParseAuthorization(req.Header.Get("Authorization"))
		var c *client
		var name string
		if err == nil {
			c, name, err = r.authenticate(req.Context(), s, cred)
		}
		if err != nil {
			r.refuse(w, req, s, name, cred.Scheme, err)
			return
		}
		if c.readOnly && !readRequest(req) {
			WriteSCIMError(w, http.StatusForbidden, "", "client "+strconv.Quote(c.name)+" is read-only")
			return
		}
		ctx := req.Context()
		if sl, ok := ctx.Value(ctxKey{}).(*slot); ok && sl.log != nil {
			if sl.name == "" { // once, should the middleware run twice
				sl.log.AddClient(c.name)
			}
			sl.name = c.name
			next.ServeHTTP(w, req)
			return
		}
		ctx = withClient(ctx, c.name)
		ctx = zerolog.Ctx(ctx).With().Str("client", c.name).Logger().WithContext(ctx)
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// readRequest: GET, HEAD and searches (POST .../.search) only read.
func readRequest(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		return strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/.search")
	}
	return false
}

func (r *Registry) refuse(w http.ResponseWriter, req *http.Request, s *snapshot, name string, scheme Scheme, err error) {
	if errors.Is(err, ErrBusy) {
		w.Header().Set("Retry-After", "1")
		WriteSCIMError(w, http.StatusServiceUnavailable, "", "too many credential checks in progress; retry")
		return
	}
	if req.Context().Err() != nil {
		return
	}
	reason := "invalid"
	switch {
	case errors.Is(err, errNoCredential):
		reason = "missing"
	case errors.Is(err, errMalformed), errors.Is(err, errScheme):
		reason = "malformed"
	}
	retry := r.Fail(req, name, reason)
	// The credential is never logged: only its scheme and the reason.
	zerolog.Ctx(req.Context()).Warn().Str("source", r.sourceAddr(req)).Str("scheme", scheme.String()).Str("client", name).
		Str("reason", reason).Msg("SCIM authentication failed")
	if retry > 0 {
		w.Header().Set("Retry-After", RetryAfter(retry))
		WriteSCIMError(w, http.StatusTooManyRequests, "", "too many failed authentication attempts from this address; retry later")
		return
	}
	for _, c := range s.challenges() {
		w.Header().Add("WWW-Authenticate", c)
	}
	detail := "missing or invalid credentials"
	if reason == "malformed" {
		detail = "malformed Authorization header"
	}
	WriteSCIMError(w, http.StatusUnauthorized, "", detail)
}

// Fail records a failed authentication outside the SCIM middleware (the
// OAuth token, revocation and consent endpoints) against the request's
// source address, and returns how long that address must wait before its
// next failing attempt is answered with anything but 429 (0: no wait).
func (r *Registry) Fail(req *http.Request, client, reason string) time.Duration {
	src := r.sourceAddr(req)
	r.metrics.failure(client, reason)
	r.metrics.source(src)
	retry := r.throttle.fail(src, r.opts.Now())
	if retry > 0 {
		r.metrics.throttled.Inc()
	}
	return retry
}

// RetryAfter formats a wait for the Retry-After header (whole seconds, rounded up).
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}

func (s *snapshot) challenges() []string {
	var out []string
	if s.bearerOn || s.oauthOn || !s.basicOn {
		out = append(out, `Bearer realm="scimbridge"`)
	}
	if s.basicOn {
		out = append(out, `Basic realm="scimbridge", charset="UTF-8"`)
	}
	return out
}

// sourceAddr is the request's client address: the connection's peer, or,
// when that is a trusted proxy, the right-most X-Forwarded-For entry that
// is not one.
func (r *Registry) sourceAddr(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !r.trusted(addr) {
		return host
	}
	hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return host // unparsable: stop at the proxy we know
		}
		if !r.trusted(a) {
			return a.Unmap().String()
		}
	}
	return host
}

func (r *Registry) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Schemes lists the configured schemes for /ServiceProviderConfig
// (RFC 7643 §5 authenticationSchemes); oauthDoc is the authorization
// server's metadata URL.
func (r *Registry) Schemes(oauthDoc string) []map[string]any {
	s := r.cur.Load()
	var out []map[string]any
	if s.bearerOn {
		out = append(out, map[string]any{
			"type": "oauthbearertoken", "name": "Bearer token",
			"description": "A static token configured for the client, sent as 'Authorization: Bearer <token>' or as the bare header value",
			"specUri":     "https://datatracker.ietf.org/doc/html/rfc6750",
		})
	}
	if s.basicOn {
		out = append(out, map[string]any{
			"type": "httpbasic", "name": "HTTP Basic",
			"description": "User name and password configured for the client (UTF-8)",
			"specUri":     "https://datatracker.ietf.org/doc/html/rfc7617",
		})
	}
	if s.oauthOn {
		m := map[string]any{
			"type": "oauth2", "name": "OAuth 2.0",
			"description": "Access tokens from this server's /oauth/token (client credentials or authorization code)",
			"specUri":     "https://datatracker.ietf.org/doc/html/rfc6749",
		}
		if oauthDoc != "" {
			m["documentationUri"] = oauthDoc
		}
		out = append(out, m)
	}
	if len(out) > 0 {
		out[0]["primary"] = true
	}
	return out
}

// WriteSCIMError writes an RFC 7644 §3.12 error.
func WriteSCIMError(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"` + strconv.Itoa(status) + `"`
	if scimType != "" {
		body += `,"scimType":` + strconv.Quote(scimType)
	}
	body += `,"detail":` + strconv.Quote(detail) + "}"
	_, _ = w.Write([]byte(body))
}

// throttle counts failures per address in one-minute windows.
type throttle struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	by     map[string]*failures
}

type failures struct {
	start time.Time
	n     int
}

// maxTracked bounds the addresses tracked; past it, expired windows are
// dropped and, if that is not enough, everything is.
const maxTracked = 100000

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, by: map[string]*failures{}}
}

// fail records a failure and returns how long the address must wait, or 0.
func (t *throttle) fail(addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.by[addr]
	if f == nil || now.Sub(f.start) >= t.window {
		if len(t.by) >= maxTracked {
			for k, v := range t.by {
				if now.Sub(v.start) >= t.window {
					delete(t.by, k)
				}
			}
			if len(t.by) >= maxTracked {
				clear(t.by)
			}
		}
		f = &failures{start: now}
		t.by[addr] = f
	}
	f.n++
	if f.n <= t.limit {
		return 0
	}
	return f.start.Add(t.window).Sub(now)
}

type metrics struct {
	failures  *prometheus.CounterVec
	bySource  *prometheus.CounterVec
	throttled prometheus.Counter
	hashes    prometheus.Counter

	mu      sync.Mutex
	sources map[string]bool
}

// maxSources bounds the source label's values; later addresses count as "other".
const maxSources = 100

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimbridge_auth_failures_total",
			Help: "Failed SCIM authentications by client (\"unknown\" when the credential names none) and reason.",
		}, []string{"client", "reason"}),
		bySource: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimbridge_auth_failures_by_source_total",
			Help: "Failed SCIM authentications by source address (the first 100 addresses seen; later ones as \"other\").",
		}, []string{"source"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimbridge_auth_throttled_total",
			Help: "Failed SCIM authentications answered 429 because their address failed too often.",
		}),
		hashes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimbridge_auth_hash_verifications_total",
			Help: "Password hash verifications (cache misses on hashed secrets).",
		}),
		sources: map[string]bool{},
	}
	if reg != nil {
		reg.MustRegister(m.failures, m.bySource, m.throttled, m.hashes)
	}
	return m
}

func (m *metrics) failure(client, reason string) {
	if client == "" {
		client = "unknown"
	}
	m.failures.WithLabelValues(client, reason).Inc()
}

func (m *metrics) source(addr string) {
	m.mu.Lock()
	if !m.sources[addr] {
		if len(m.sources) >= maxSources {
			addr = "other"
		} else {
			m.sources[addr] = true
		}
	}
	m.mu.Unlock()
	m.bySource.WithLabelValues(addr).Inc()
}
