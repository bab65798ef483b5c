// Package secureaccesssim simulates Cisco Secure Access identity
// registrations (../../../shared/contracts/secureaccess.md): an OAuth2
// client-credentials token endpoint and GET/PUT
// /deployments/v2/identities/registrations/{device|securityGroupTag}, with
// the documented per-key rate limits enforced (scaled by an option so tests
// stay fast).
//
// The simulator is strict: it refuses what the contract does not list
// (unknown fields, nulls, wrong content types, bad paging, oversized or
// empty arrays, a key twice in one PUT) with the target's own error bodies.
// With the fault knobs off it is deterministic.
package secureaccesssim

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// Paths served, relative to the simulator's root.
const (
	BasePath  = "/deployments/v2"
	TokenPath = "/auth/v2/token"
	regPath   = BasePath + "/identities/registrations/"
)

// Registration types.
const (
	Device           = "device"
	SecurityGroupTag = "securityGroupTag"
)

// MaxItems is the most items one PUT or one GET page may carry.
const MaxItems = 250

// Window is one rate limit: at most N requests in any interval of length Per.
type Window struct {
	N   int
	Per time.Duration
}

// The documented limits, per API key.
var (
	ResourceWindows = []Window{{5, time.Second}, {14, time.Minute}, {350, 30 * time.Minute}}
	TokenWindows    = []Window{{20, time.Minute}}
)

// Scale returns ws with every interval multiplied by f (f <= 0 means 1).
func Scale(ws []Window, f float64) []Window {
	if f <= 0 {
		f = 1
	}
	out := make([]Window, len(ws))
	for i, w := range ws {
		out[i] = Window{N: w.N, Per: max(time.Duration(float64(w.Per)*f), 1)}
	}
	return out
}

// Options are the simulator's knobs; the zero value is the documented target.
type Options struct {
	APIKey, APISecret string // default "sim-api-key" / "sim-api-secret"
	// MoreKeys are further API keys (key -> secret). The rate limits are
	// per key, as on the target: each key has its own windows.
	MoreKeys      map[string]string
	TokenLifetime time.Duration // default 1h; an expired token answers 401

	// RateScale multiplies every rate-limit interval (0.01 turns a minute
	// into 600ms). 0 means 1, the documented limits.
	RateScale   float64
	NoRateLimit bool

	Latency time.Duration // added to every resource request

	// Faults are the shared fault knobs (simkit): ErrorRate answers 500,
	// ThrottleRate and RateLimit answer 429 on top of the documented
	// windows. RetryAfter > 0 adds Retry-After to every rate-limit 429 (at
	// least the wait until the windows have room); the real target sends
	// none, so the default is off.
	simkit.Faults
	// RetryAfterDate writes Retry-After as an HTTP date (RFC 9110 §10.2.3
	// allows either form) instead of seconds.
	RetryAfterDate bool

	// Reject, when set, makes a PUT fail with 400 if any of its items
	// matches: a stand-in for server-side rules the contract does not state,
	// so tests can check how a connector finds the bad item of a batch.
	Reject func(typ string, item Registration) bool

	// Hold, when set, sees every resource request that passed
	// authentication and the rate limit: at Arrived, before it is served,
	// and for a PUT again at Applied, once its items are stored and
	// before the answer is written. It may block: crash tests kill the
	// client while a request is held. Returning false at Arrived drops
	// the request unserved (nothing stored, no answer: the connection is
	// closed).
	Hold func(at Stage, r *http.Request) bool
}

// Stage is where Options.Hold sees a request.
type Stage int

const (
	Arrived Stage = iota // counted by the rate limit, not served yet
	Applied              // a PUT's items are stored, the answer not written yet
)

// Registration is one stored identity registration.
type Registration struct {
	Key            string          `json:"key"`
	Label          string          `json:"label"`
	Status         string          `json:"status"`
	AuthName       string          `json:"authName,omitempty"`
	TagID          json.RawMessage `json:"tagId,omitempty"`
	DomainName     string          `json:"domainName,omitempty"`
	SamAccountName string          `json:"samAccountName,omitempty"`
	GUIDHash       string          `json:"guidHash,omitempty"`
	CreatedAt      int64           `json:"createdAt"`
	ModifiedAt     int64           `json:"modifiedAt"`
}

type grant struct {
	key    string
	expiry time.Time
}

// Server is the simulator. It implements connectors.Simulator and
// simkit.Sim.
type Server struct {
	opts      Options
	resLimits []Window
	tokLimits []Window

	mu       sync.Mutex
	regs     map[string][]*Registration // type -> registrations in creation order
	byKey    map[string]map[string]*Registration
	tokens   map[string]grant // access token -> its key and expiry
	issued   int
	resHits  map[string][]time.Time // per API key: resource requests that passed the rate limit
	tokHits  map[string][]time.Time // per API key: token requests that passed
	faults   *simkit.Injector
	calls    int
	puts     int
	limited  int
	tokenReq int
}

var (
	_ connectors.Simulator = (*Server)(nil)
	_ simkit.Sim           = (*Server)(nil)
)

// New returns a simulator with opts.
func New(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = "sim-api-key"
	}
	if opts.APISecret == "" {
		opts.APISecret = "sim-api-secret"
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	return &Server{
		opts:      opts,
		resLimits: Scale(ResourceWindows, opts.RateScale),
		tokLimits: Scale(TokenWindows, opts.RateScale),
		regs:      map[string][]*Registration{},
		byKey:     map[string]map[string]*Registration{Device: {}, SecurityGroupTag: {}},
		tokens:    map[string]grant{},
		resHits:   map[string][]time.Time{},
		tokHits:   map[string][]time.Time{},
		faults:    simkit.NewInjector(opts.Faults),
	}
}

// ScaleRates multiplies every rate window by f, for `scimbridge simulate
// --rate-scale` (crash and load tests that cannot wait whole minutes). Call
// it before the simulator serves. It returns the connector options that
// match (a connector must scale its own limiter the same way).
func (s *Server) ScaleRates(f float64) map[string]string {
	s.opts.RateScale = f
	s.resLimits = Scale(ResourceWindows, f)
	s.tokLimits = Scale(TokenWindows, f)
	return map[string]string{"rate_scale": strconv.FormatFloat(f, 'g', -1, 64)}
}

// NewDefault is the simulator behind `simulate: true`: the documented limits.
func NewDefault() connectors.Simulator { return New(Options{}) }

// Credentials are the settings a connector needs for this simulator.
func (s *Server) Credentials() map[string]string {
	return map[string]string{"api_key": s.opts.APIKey, "api_secret": s.opts.APISecret}
}

// BasePath is the registrations API root; the token endpoint is TokenPath.
func (s *Server) BasePath() string { return BasePath }

// Users returns the device registrations as users, in creation order.
func (s *Server) Users() []simkit.SimUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []simkit.SimUser
	for _, r := range s.regs[Device] {
		out = append(out, simkit.SimUser{TargetID: r.Key, UserName: r.AuthName, Active: r.Status == "active"})
	}
	return out
}

// Groups is always empty: the target has no groups.
func (s *Server) Groups() []simkit.SimGroup { return nil }

// Registrations returns copies of the stored registrations of typ.
func (s *Server) Registrations(typ string) []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Registration, 0, len(s.regs[typ]))
	for _, r := range s.regs[typ] {
		out = append(out, *r)
	}
	return out
}

// FailNext queues n faults f for the next resource requests.
func (s *Server) FailNext(f simkit.Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.FailNext(f, n)
}

// Calls counts resource requests served (any answer), not token requests.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Stats are counters for tests and benchmarks.
type Stats struct {
	Calls       int // resource requests
	Puts        int // PUTs answered 200
	RateLimited int // requests answered 429 by the rate limiter (not FailNext)
	Tokens      int // token requests
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Calls: s.calls, Puts: s.puts, RateLimited: s.limited, Tokens: s.tokenReq}
}

// ExpireTokens makes every issued token expired, as after a key rotation.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == TokenPath:
		s.serveToken(w, r)
	case strings.HasPrefix(r.URL.Path, BasePath+"/"):
		s.serveResource(w, r)
	default:
		writeMessage(w, http.StatusNotFound, "Not Found")
	}
}

// serveToken is the client-credentials grant with HTTP Basic only.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenReq++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeMessage(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	key, ok := s.basicAuth(r.Header.Get("Authorization"))
	if !ok {
		writeMessage(w, http.StatusUnauthorized, "Authentication failed.")
		return
	}
	if !s.allow(s.tokHits, key, s.tokLimits, time.Now()) {
		writeMessage(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeMessage(w, http.StatusBadRequest, "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<12)
	if err := r.ParseForm(); err != nil {
		writeMessage(w, http.StatusBadRequest, "invalid form body")
		return
	}
	if r.PostForm.Has("client_secret") || r.PostForm.Has("client_id") {
		writeMessage(w, http.StatusBadRequest, "client credentials are accepted in the Authorization header only")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeMessage(w, http.StatusBadRequest, "unsupported grant_type")
		return
	}
	s.mu.Lock()
	s.issued++
	tok := fmt.Sprintf("sa-sim-%08d", s.issued)
	s.tokens[tok] = grant{key: key, expiry: time.Now().Add(s.opts.TokenLifetime)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "bearer",
		"expires_in":   int64(math.Ceil(s.opts.TokenLifetime.Seconds())),
	})
}

// basicAuth returns the API key of a valid Basic Authorization header.
func (s *Server) basicAuth(h string) (string, bool) {
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", false
	}
	key, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", false
	}
	want, known := s.opts.MoreKeys[key]
	if key == s.opts.APIKey {
		want, known = s.opts.APISecret, true
	}
	// Compare even for an unknown key, so timing does not tell keys apart.
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(want)) == 1
	return key, known && secretOK && want != ""
}

func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	key, ok := s.bearer(r.Header.Get("Authorization"), now)
	if !ok {
		writeMessage(w, http.StatusUnauthorized, "Authentication failed.")
		return
	}
	// The gateway counts a request when it arrives; the latency knob
	// models the time the answer takes.
	if !s.opts.NoRateLimit && !s.allow(s.resHits, key, s.resLimits, now) {
		if s.opts.RetryAfter > 0 {
			s.setRetryAfter(w, max(s.opts.RetryAfter, s.retryAfter(key, now)))
		}
		writeMessage(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}
	if !s.sleep(r.Context()) {
		return
	}
	if s.fault(w, now) {
		return
	}
	if s.opts.Hold != nil && !s.opts.Hold(Arrived, r) {
		panic(http.ErrAbortHandler) // dropped: no answer, the connection closes
	}

	typ, ok := strings.CutPrefix(r.URL.Path, regPath)
	if !ok || (typ != Device && typ != SecurityGroupTag) {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.list(w, r, typ)
	case http.MethodPut:
		s.put(w, r, typ)
	default:
		w.Header().Set("Allow", "GET, PUT")
		writeMessage(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

// bearer returns the API key of a valid, unexpired bearer token.
func (s *Server) bearer(h string, now time.Time) (string, bool) {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	return t.key, ok && now.Before(t.expiry)
}

// allow records a request of key at now in hits if every window has
// room. Refused requests are not counted.
func (s *Server) allow(hits map[string][]time.Time, key string, ws []Window, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	longest := ws[len(ws)-1].Per
	h := hits[key]
	i := 0
	for i < len(h) && !h[i].After(now.Add(-longest)) {
		i++
	}
	h = h[i:]
	for _, w := range ws {
		if inWindow(h, now, w.Per) >= w.N {
			hits[key] = h
			s.limited++
			return false
		}
	}
	hits[key] = append(h, now)
	return true
}

// inWindow counts the times in hits (sorted) within (now-per, now].
func inWindow(hits []time.Time, now time.Time, per time.Duration) int {
	from := now.Add(-per)
	i, _ := slices.BinarySearchFunc(hits, from, func(t, from time.Time) int {
		if t.After(from) {
			return 1
		}
		return -1
	})
	return len(hits) - i
}

// retryAfter is the wait (at least a second) until every window has room again.
func (s *Server) retryAfter(key string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := now
	hits := s.resHits[key]
	for _, w := range s.resLimits {
		if n := len(hits); n >= w.N {
			if free := hits[n-w.N].Add(w.Per); free.After(at) {
				at = free
			}
		}
	}
	return max(time.Second, at.Sub(now))
}

// setRetryAfter sets Retry-After to d, in seconds or, with
// RetryAfterDate, as the HTTP date that many seconds (rounded up) ahead.
func (s *Server) setRetryAfter(w http.ResponseWriter, d time.Duration) {
	simkit.SetRetryAfter(w, d)
	if v := w.Header().Get("Retry-After"); v != "" && s.opts.RetryAfterDate {
		secs, _ := strconv.Atoi(v)
		w.Header().Set("Retry-After", time.Now().Add(time.Duration(secs)*time.Second).UTC().Format(http.TimeFormat))
	}
}

func (s *Server) sleep(ctx context.Context) bool {
	if s.opts.Latency <= 0 {
		return true
	}
	t := time.NewTimer(s.opts.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// fault answers an injected failure, if one is due.
func (s *Server) fault(w http.ResponseWriter, now time.Time) bool {
	s.mu.Lock()
	f, retryAfter := s.faults.Next(now)
	s.mu.Unlock()
	s.setRetryAfter(w, retryAfter)
	switch f {
	case simkit.FaultNone:
		return false
	case simkit.Fault429, simkit.Fault429RetryAfter:
		writeMessage(w, http.StatusTooManyRequests, "Too Many Requests")
	case simkit.FaultPermanent:
		badRequest(w)
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "Internal server error.", "success": "false"})
	}
	return true
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, typ string) {
	q := r.URL.Query()
	offset, ok := intParam(q.Get("offset"), 0, 0, math.MaxInt32)
	if !ok {
		badRequest(w)
		return
	}
	limit, ok := intParam(q.Get("limit"), 100, 1, MaxItems)
	if !ok {
		badRequest(w)
		return
	}
	label, byLabel := q.Get("label"), q.Has("label")

	s.mu.Lock()
	var match []Registration
	for _, reg := range s.regs[typ] {
		if !byLabel || reg.Label == label {
			match = append(match, *reg)
		}
	}
	s.mu.Unlock()
	lo, hi := simkit.Page(len(match), offset, limit)
	page := match[lo:hi]
	writeJSON(w, http.StatusOK, map[string]any{
		"total":  len(match),
		"limit":  limit,
		"offset": offset,
		"data":   append([]Registration{}, page...), // [] not null when empty
	})
}

func intParam(v string, def, lo, hi int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, typ string) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		badRequest(w)
		return
	}
	items, err := decodeItems(http.MaxBytesReader(w, r.Body, 4<<20), typ)
	if err != nil {
		badRequest(w)
		return
	}
	if s.opts.Reject != nil {
		for _, it := range items {
			if s.opts.Reject(typ, it) {
				badRequest(w)
				return
			}
		}
	}

	now := time.Now().UnixNano()
	s.mu.Lock()
	for _, it := range items {
		old, ok := s.byKey[typ][it.Key]
		if !ok {
			it.CreatedAt, it.ModifiedAt = now, now
			s.regs[typ] = append(s.regs[typ], &it)
			s.byKey[typ][it.Key] = &it
			continue
		}
		it.CreatedAt, it.ModifiedAt = old.CreatedAt, now
		*old = it
	}
	s.puts++
	s.mu.Unlock()
	if s.opts.Hold != nil {
		s.opts.Hold(Applied, r)
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func badRequest(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprint(w, "Bad Request")
}

// writeMessage answers the gateway's {"message": ...} error body.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	simkit.WriteJSON(w, status, "", v)
}

// Preload stores registrations as a tenant that already holds them would
// (tests of adoption). A key already stored is replaced; an empty status
// is active.
func (s *Server) Preload(typ string, regs ...Registration) {
	now := time.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range regs {
		r := r
		if r.Status == "" {
			r.Status = "active"
		}
		if r.Label == "" {
			r.Label = r.AuthName
		}
		r.CreatedAt, r.ModifiedAt = now, now
		if old, ok := s.byKey[typ][r.Key]; ok {
			*old = r
			continue
		}
		s.regs[typ] = append(s.regs[typ], &r)
		s.byKey[typ][r.Key] = &r
	}
}
