package httpmw

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/auth"
)

// TestChainMatchesSteps: the fused chain (Chain inside the router, and
// Handler around it) answers, logs and counts as the separate middlewares
// do, one after the other, with the client registry's
// authentication further in (the fused chain lets it add the client to the
// request's logger in place): every line names the client at most once.
func TestChainMatchesSteps(t *testing.T) {
	clients, err := auth.NewRegistry(func() (auth.Config, error) {
		return auth.Config{Clients: []auth.Client{{Name: "entra", Bearer: []string{"tea-token"}}, {Name: "audit", Bearer: []string{"ro-token"}, ReadOnly: true}}}, nil
	}, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	handler := func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/boom/1") {
			panic("boom")
		}
		if activity.RequestIDFrom(r.Context()) == "" || w.Header().Get(RequestIDHeader) == "" {
			t.Errorf("no request id for the handler")
		}
		zerolog.Ctx(r.Context()).Info().Msg("inside")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("tea"))
	}
	// mode: "steps" (the separate middlewares), "chain" (Chain, as the
	// router's middleware) or "handler" (Handler, around the router).
	build := func(mode string, log zerolog.Logger, reg prometheus.Registerer) http.Handler {
		r := chi.NewRouter()
		switch mode {
		case "chain":
			r.Use(Chain(log, reg)...)
		case "steps":
			r.Use(WithLogger(log), RequestID, AccessLog, NewRequestMetrics(reg).Middleware, Recoverer)
		}
		r.Get("/tea/{id}", handler)
		r.Get("/boom/{id}", handler)
		r.With(clients.Middleware).Route("/scim", func(r chi.Router) {
			r.Get("/tea/{id}", handler)
			r.Post("/tea/{id}", handler)
			r.Get("/boom/{id}", handler)
		})
		if mode == "handler" {
			return Handler(log, reg, r)
		}
		return r
	}
	type result struct {
		codes []int
		log   []map[string]any
		count map[string]float64
	}
	run := func(mode string) result {
		var logged bytes.Buffer
		reg := prometheus.NewRegistry()
		h := build(mode, zerolog.New(&logged), reg)
		var res result
		for _, req := range []struct{ method, path, id, token string }{
			{"GET", "/tea/1", "given-1", ""}, {"GET", "/tea/2", "", ""}, {"GET", "/tea/3", "given-3", ""}, {"GET", "/boom/1", "b", ""}, {"GET", "/nowhere", "n", ""},
			{"GET", "/scim/tea/1", "s1", "tea-token"}, {"GET", "/scim/tea/2", "", "tea-token"}, {"GET", "/scim/boom/1", "s3", "tea-token"},
			{"GET", "/scim/tea/4", "s4", "wrong"}, {"GET", "/scim/tea/5", "s5", ""}, {"GET", "/scim/tea/6", "s6", "ro-token"},
			{"POST", "/scim/tea/7", "s7", "ro-token"}, {"POST", "/scim/tea/8", "s8", "tea-token"}, {"GET", "/scim/nowhere", "s9", "tea-token"},
		} {
			rq := httptest.NewRequest(req.method, req.path+"?filter=secret", nil)
			if req.id != "" {
				rq.Header.Set(RequestIDHeader, req.id)
			}
			if req.token != "" {
				rq.Header.Set("Authorization", "Bearer "+req.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, rq)
			res.codes = append(res.codes, rec.Code)
			got := rec.Header().Get(RequestIDHeader)
			if req.id != "" && got != req.id || got == "" {
				t.Errorf("%s: request id %q, want %q", mode, got, req.id)
			}
		}
		for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
			if n := strings.Count(line, `"client":`); n > 1 {
				t.Errorf("%s: %d clients in %s", mode, n, line)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			delete(m, "duration")
			if id, _ := m["request_id"].(string); len(id) == 16 { // generated: random
				m["request_id"] = "generated"
			}
			delete(m, "stack")
			res.log = append(res.log, m)
		}
		res.count = gatherSeries(t, reg)
		return res
	}
	steps := run("steps")
	for _, mode := range []string{"chain", "handler"} {
		fused := run(mode)
		if fused.count["scimbridge_http_requests_total none GET /tea/{id} 418"] != 3 || fused.count["scimbridge_http_request_duration_seconds GET /boom/{id}"] != 1 ||
			!equalJSON(steps.count, fused.count) {
			t.Errorf("series: %s %v, steps %v", mode, fused.count, steps.count)
		}
		if !equalJSON(steps.codes, fused.codes) || !equalJSON(steps.log, fused.log) {
			t.Errorf("%s differs:\ncodes %v vs %v\nlog %v\nvs  %v", mode, fused.codes, steps.codes, fused.log, steps.log)
		}
	}
	if steps.codes[3] != http.StatusInternalServerError || len(steps.log) != 9+16 {
		t.Errorf("steps: codes %v, %d log lines", steps.codes, len(steps.log))
	}
	// Inside, and on the access line, the authenticated client is named.
	var inside, access int
	for _, m := range steps.log {
		if m["client"] == "entra" && m["message"] == "inside" {
			inside++
		}
		if m["client"] == "entra" && m["message"] == "request" {
			access++
		}
	}
	if inside != 3 || access != 5 || steps.count["scimbridge_http_requests_total entra POST /scim/tea/{id} 418"] != 1 {
		t.Errorf("entra: %d lines inside, %d access lines, series %v\nlog %v", inside, access, steps.count, steps.log)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// gatherSeries is every series of reg: a counter's value, a histogram's count.
func gatherSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				out[key] = c.GetValue()
			} else {
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestChainLoggerBeforeAuth: a request whose logger is asked for before
// auth names the client (a middleware logging in between) still logs the
// client once inside, and not before.
func TestChainLoggerBeforeAuth(t *testing.T) {
	clients, err := auth.NewRegistry(func() (auth.Config, error) {
		return auth.Config{Clients: []auth.Client{{Name: "entra", Bearer: []string{"tea-token"}}}}, nil
	}, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	r := chi.NewRouter()
	r.Use(Chain(zerolog.New(&logged), nil)...)
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			zerolog.Ctx(r.Context()).Info().Msg("before")
			next.ServeHTTP(w, r)
		})
	}, clients.Middleware)
	r.Get("/tea", func(w http.ResponseWriter, r *http.Request) { zerolog.Ctx(r.Context()).Info().Msg("inside") })
	req := httptest.NewRequest("GET", "/tea", nil)
	req.Header.Set("Authorization", "Bearer tea-token")
	req.Header.Set(RequestIDHeader, "r1")
	r.ServeHTTP(httptest.NewRecorder(), req)
	want := []string{
		`{"level":"info","request_id":"r1","message":"before"}`,
		`{"level":"info","request_id":"r1","client":"entra","message":"inside"}`,
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if len(lines) != 3 || lines[0] != want[0] || lines[1] != want[1] || strings.Count(lines[2], `"client":"entra"`) != 1 || !strings.HasPrefix(lines[2], `{"level":"info","request_id":"r1","method":"GET"`) {
		t.Errorf("lines:\n%s", strings.Join(lines, "\n"))
	}
}
