// Package httpmw is the middleware every request to scimbridge passes
// through (request id, access log, request metrics, panic recovery), in
// the order cmd/scimbridge serves it. It lives outside package main so the
// speed benchmarks (scim/speed_bench_test.go) measure the same chain.
package httpmw

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/auth"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// Chain is the production chain: the logger, the request id, the access
// log, the request metrics (registered with reg when it is not nil) and
// panic recovery, in that order. The steps are fused into one handler, so
// a request gets one response wrapper, one copy of the request and one
// clock reading instead of one per step (the separate middlewares below
// run the same steps one at a time), and its logger is built only if
// something asks for it (requestLog).
func Chain(log zerolog.Logger, reg prometheus.Registerer) []func(http.Handler) http.Handler {
	c := &chain{log: log, metrics: NewRequestMetrics(reg)}
	return []func(http.Handler) http.Handler{func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.serve(w, r, next, nil) })
	}}
}

// Handler serves routes (a chi router) behind the chain, as
// router.Use(Chain(log, reg)...) does, but from outside the router: the
// request's one copy carries chi's routing context along with the chain's
// values, so the router does not copy the request again to add it.
func Handler(log zerolog.Logger, reg prometheus.Registerer, routes http.Handler) http.Handler {
	c := &chain{log: log, metrics: NewRequestMetrics(reg)}
	rt, _ := routes.(chi.Routes)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := routeContexts.Get().(*chi.Context)
		rctx.Reset()
		rctx.Routes = rt
		c.serve(w, r, routes, rctx)
		routeContexts.Put(rctx)
	})
}

// routeContexts recycles Handler's routing contexts, as chi's router does
// its own.
var routeContexts = sync.Pool{New: func() any { return chi.NewRouteContext() }}

type chain struct {
	log     zerolog.Logger
	metrics *RequestMetrics
}

// serve runs the chain's steps around next; route, when not nil, is the
// routing context the request's context gives chi.
func (c *chain) serve(w http.ResponseWriter, r *http.Request, next http.Handler, route *chi.Context) {
	start := time.Now()
	id := requestIDOf(r)
	w.Header()[RequestIDHeader] = []string{id}
	rl := &requestLog{Context: r.Context(), route: route, base: &c.log, id: id}
	r = r.WithContext(activity.WithRequestID(auth.WithClientSlotLogger(rl, rl), id))
	ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
	// The chain's own lines, as the separate steps' do, carry the request
	// id but not the client.
	serveRecoveringWith(&c.log, id, next, ww, r)
	d := time.Since(start)
	c.metrics.count(r, ww.Status(), d)
	logAccessWith(&c.log, id, r, ww, d)
}

// requestLog is a request's context in the fused chain, answering for
// its logger: the base logger with the request id, and the client once
// auth names it (auth.RequestLogger), as the separate steps make it. The
// logger (zerolog's With(): a 500-byte buffer) is built only when the
// request first asks for it (zerolog.Ctx): an answered GET logs nothing
// but the access line, which the chain writes from the base logger.
type requestLog struct {
	context.Context
	route *chi.Context // Handler's routing context (nil: the parent's)
	base  *zerolog.Logger
	id    string

	mu     sync.Mutex
	client string
	log    *zerolog.Logger // nil until asked for
}

func (c *requestLog) Value(key any) any {
	switch {
	case key == chi.RouteCtxKey && c.route != nil:
		return c.route
	case key == zerologKey:
		return c.logger()
	}
	return c.Context.Value(key)
}

func (c *requestLog) logger() *zerolog.Logger {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log == nil {
		l := c.base.With().Str("request_id", c.id)
		if c.client != "" {
			l = l.Str("client", c.client)
		}
		log := l.Logger()
		c.log = &log
	}
	return c.log
}

// AddClient names the client in the request's logger, built or not.
func (c *requestLog) AddClient(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log != nil {
		c.log.UpdateContext(func(l zerolog.Context) zerolog.Context { return l.Str("client", name) })
		return
	}
	c.client = name
}

// zerologKey is the context key zerolog.Ctx looks the logger up by
// (unexported in zerolog: learnt by asking once).
var zerologKey = func() any {
	var p keyProbe
	zerolog.Ctx(&p)
	return p.key
}()

type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	p.key = key
	return nil
}

// RequestID honours an incoming X-Request-Id (when it is short and plain)
// and otherwise makes one; either way it is echoed in the response.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestIDOf(r)
		w.Header().Set(RequestIDHeader, id)
		ctx := zerolog.Ctx(r.Context()).With().Str("request_id", id).Logger().WithContext(r.Context())
		ctx = activity.WithRequestID(ctx, id) // for the activity log
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requestIDOf is the request's own X-Request-Id if it is plain, else a
// new random one.
func requestIDOf(r *http.Request) string {
	if id := r.Header.Get(RequestIDHeader); PlainID(id) {
		return id
	}
	// Unique, not secret: the runtime's per-thread ChaCha8 generator,
	// without crypto/rand's system call.
	var b [16]byte
	hex.Encode(b[:], binary.BigEndian.AppendUint64(make([]byte, 0, 8), rand.Uint64()))
	return string(b[:])
}

// PlainID accepts ids of up to 128 characters from a safe alphabet, so a
// client cannot inject into log lines.
func PlainID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

// WithLogger puts the base logger into each request's context.
func WithLogger(log zerolog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The slot lets the access log and metrics learn the SCIM client.
			next.ServeHTTP(w, r.WithContext(auth.WithClientSlot(log.WithContext(r.Context()))))
		})
	}
}

// AccessLog writes one line per request. It logs the path but never the
// query (filters carry user names) or any header (tokens).
func AccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		logAccess(r, ww, time.Since(start))
	})
}

func logAccess(r *http.Request, ww middleware.WrapResponseWriter, d time.Duration) {
	logAccessWith(zerolog.Ctx(r.Context()), "", r, ww, d)
}

// logAccessWith writes the access line with log, adding the request id
// as the first field when it is given (where a logger made With() it
// would have it: the line is the same).
func logAccessWith(log *zerolog.Logger, id string, r *http.Request, ww middleware.WrapResponseWriter, d time.Duration) {
	ev := log.Info()
	if id != "" {
		ev = ev.Str("request_id", id)
	}
	ev.
		Str("method", r.Method).
		Str("path", r.URL.Path).
		Int("status", ww.Status()).
		Int("bytes", ww.BytesWritten()).
		Dur("duration", d).
		Str("remote", r.RemoteAddr).
		Str("client", auth.ClientFrom(r.Context())).
		Msg("request")
}

// Recoverer turns a handler panic into a SCIM 500 error and a log line
// with the stack, so no request can take the server down.
func Recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveRecovering(next, w, r) })
}

func serveRecovering(next http.Handler, w http.ResponseWriter, r *http.Request) {
	serveRecoveringWith(zerolog.Ctx(r.Context()), "", next, w, r)
}

func serveRecoveringWith(log *zerolog.Logger, id string, next http.Handler, w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			ev := log.Error()
			if id != "" {
				ev = ev.Str("request_id", id)
			}
			ev.Interface("panic", v).Bytes("stack", debug.Stack()).Msg("handler panic")
			WriteSCIMError(w, http.StatusInternalServerError, "", "internal error; see the server log for this request id")
		}
	}()
	next.ServeHTTP(w, r)
}

// WriteSCIMError writes an RFC 7644 §3.12 error body.
func WriteSCIMError(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"` + strconv.Itoa(status) + `"`
	if scimType != "" {
		body += `,"scimType":` + Quote(scimType)
	}
	body += `,"detail":` + Quote(detail) + "}"
	_, _ = w.Write([]byte(body))
}

// Quote is s as a JSON string.
func Quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// RequestMetrics counts requests and their latency by route pattern (not
// path: ids would make every user a new series) and status.
type RequestMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// series are the series met so far (as bounded as the labels), read
	// without a lock: a new one replaces the map with a copy (under mu).
	series atomic.Pointer[map[seriesKey]series]
	mu     sync.Mutex
}

// NewRequestMetrics registers the metrics with reg (unless nil).
func NewRequestMetrics(reg prometheus.Registerer) *RequestMetrics {
	m := &RequestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimbridge_http_requests_total",
			Help: "HTTP requests by method, route pattern, status and SCIM client (\"none\" when unauthenticated).",
		}, []string{"method", "route", "status", "client"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scimbridge_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"method", "route"}),
	}
	m.series.Store(&map[seriesKey]series{})
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

// Middleware counts each request once it is answered.
func (m *RequestMetrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		m.count(r, ww.Status(), time.Since(start))
	})
}

// seriesKey is what picks a request's series: its method, chi's route
// patterns (which make the route label), status and client.
type seriesKey struct {
	method, client string
	status, n      int
	patterns       [4]string
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (m *RequestMetrics) count(r *http.Request, status int, d time.Duration) {
	method := r.Method
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead:
	default:
		method = "other"
	}
	client := auth.ClientFrom(r.Context()) // a configured name: bounded
	if client == "" {
		client = "none"
	}
	status = max(status, http.StatusOK)
	rc := chi.RouteContext(r.Context())
	// The series of a request is looked up by its key, without building
	// the route string and hashing the label values each time.
	key := seriesKey{method: method, client: client, status: status}
	cacheable := rc != nil && len(rc.RoutePatterns) <= len(key.patterns)
	if cacheable {
		key.n = copy(key.patterns[:], rc.RoutePatterns)
		if s, ok := (*m.series.Load())[key]; ok {
			s.requests.Inc()
			s.duration.Observe(d.Seconds())
			return
		}
	}
	route := "other" // unknown paths: one series, whatever is probed
	if rc != nil {
		if p := rc.RoutePattern(); p != "" && p != "/*" {
			route = p
		}
	}
	s := series{m.requests.WithLabelValues(method, route, strconv.Itoa(status), client), m.duration.WithLabelValues(method, route)}
	if cacheable {
		m.mu.Lock()
		old := *m.series.Load()
		next := make(map[seriesKey]series, len(old)+1)
		maps.Copy(next, old)
		next[key] = s
		m.series.Store(&next)
		m.mu.Unlock()
	}
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
}
