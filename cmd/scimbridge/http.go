package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/auth"
)

const requestIDHeader = "X-Request-Id"

// requestID honours an incoming X-Request-Id (when it is short and plain)
// and otherwise makes one; either way it is echoed in the response.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !plainID(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set(requestIDHeader, id)
		ctx := zerolog.Ctx(r.Context()).With().Str("request_id", id).Logger().WithContext(r.Context())
		ctx = activity.WithRequestID(ctx, id) // for the activity log
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// plainID accepts ids of up to 128 characters from a safe alphabet, so a
// client cannot inject into log lines.
func plainID(id string) bool {
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

// withLogger puts the base logger into each request's context.
func withLogger(log zerolog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The slot lets the access log and metrics learn the SCIM client.
			next.ServeHTTP(w, r.WithContext(auth.WithClientSlot(log.WithContext(r.Context()))))
		})
	}
}

// accessLog writes one line per request. It logs the path but never the
// query (filters carry user names) or any header (tokens).
func accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		zerolog.Ctx(r.Context()).Info().
			Str("method", r.Method).
			Str("path", r.URL.Path).
			Int("status", ww.Status()).
			Int("bytes", ww.BytesWritten()).
			Dur("duration", time.Since(start)).
			Str("remote", r.RemoteAddr).
			Str("client", auth.ClientFrom(r.Context())).
			Msg("request")
	})
}

// recoverer turns a handler panic into a SCIM 500 error and a log line
// with the stack, so no request can take the server down.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				zerolog.Ctx(r.Context()).Error().Interface("panic", v).Bytes("stack", debug.Stack()).Msg("handler panic")
				writeSCIMError(w, http.StatusInternalServerError, "", "internal error; see the server log for this request id")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// writeSCIMError writes an RFC 7644 §3.12 error body.
func writeSCIMError(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"` + itoa(status) + `"`
	if scimType != "" {
		body += `,"scimType":` + quote(scimType)
	}
	body += `,"detail":` + quote(detail) + "}"
	_, _ = w.Write([]byte(body))
}

func itoa(n int) string { return strconv.Itoa(n) }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// requestMetrics counts requests and their latency by route pattern (not
// path: ids would make every user a new series) and status.
type requestMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newRequestMetrics(reg prometheus.Registerer) *requestMetrics {
	m := &requestMetrics{
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
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

func (m *requestMetrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "other" // unknown paths: one series, whatever is probed
		if rc := chi.RouteContext(r.Context()); rc != nil {
			if p := rc.RoutePattern(); p != "" && p != "/*" {
				route = p
			}
		}
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
		m.requests.WithLabelValues(method, route, strconv.Itoa(max(ww.Status(), http.StatusOK)), client).Inc()
		m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	})
}
