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
)

// TestChainMatchesSteps: the fused chain answers, logs and counts as the
// separate middlewares do, one after the other.
func TestChainMatchesSteps(t *testing.T) {
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom/1" {
			panic("boom")
		}
		if activity.RequestIDFrom(r.Context()) == "" || w.Header().Get(RequestIDHeader) == "" {
			t.Errorf("no request id for the handler")
		}
		zerolog.Ctx(r.Context()).Info().Msg("inside")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("tea"))
	}
	build := func(fused bool, log zerolog.Logger, reg prometheus.Registerer) http.Handler {
		r := chi.NewRouter()
		if fused {
			r.Use(Chain(log, reg)...)
		} else {
			r.Use(WithLogger(log), RequestID, AccessLog, NewRequestMetrics(reg).Middleware, Recoverer)
		}
		r.Get("/tea/{id}", handler)
		r.Get("/boom/{id}", handler)
		return r
	}
	type result struct {
		codes []int
		log   []map[string]any
		count map[string]float64
	}
	run := func(fused bool) result {
		var logged bytes.Buffer
		reg := prometheus.NewRegistry()
		h := build(fused, zerolog.New(&logged), reg)
		var res result
		for _, req := range []struct{ path, id string }{{"/tea/1", "given-1"}, {"/tea/2", ""}, {"/tea/3", "given-3"}, {"/boom/1", "b"}, {"/nowhere", "n"}} {
			rq := httptest.NewRequest("GET", req.path+"?filter=secret", nil)
			if req.id != "" {
				rq.Header.Set(RequestIDHeader, req.id)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, rq)
			res.codes = append(res.codes, rec.Code)
			got := rec.Header().Get(RequestIDHeader)
			if req.id != "" && got != req.id || got == "" {
				t.Errorf("fused %v: request id %q, want %q", fused, got, req.id)
			}
		}
		for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
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
	steps, fused := run(false), run(true)
	if fused.count["scimbridge_http_requests_total none GET /tea/{id} 418"] != 3 || fused.count["scimbridge_http_request_duration_seconds GET /boom/{id}"] != 1 ||
		!equalJSON(steps.count, fused.count) {
		t.Errorf("series: fused %v, steps %v", fused.count, steps.count)
	}
	if !equalJSON(steps.codes, fused.codes) || !equalJSON(steps.log, fused.log) {
		t.Errorf("fused chain differs:\ncodes %v vs %v\nlog %v\nvs  %v", fused.codes, steps.codes, fused.log, steps.log)
	}
	if steps.codes[3] != http.StatusInternalServerError || len(steps.log) != 2*3+2+1 {
		t.Errorf("steps: codes %v, %d log lines", steps.codes, len(steps.log))
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
