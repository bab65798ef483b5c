package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/admin"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

func TestHealth(t *testing.T) {
	now := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name string
		s    connectors.Status
		want string
	}{
		{"idle, never used", connectors.Status{}, admin.HealthDelivering},
		{"delivered since the last error", connectors.Status{LastSuccess: ago(time.Second), LastErrorAt: ago(time.Minute)}, admin.HealthDelivering},
		{"dead letters left, delivering again", connectors.Status{DeadLetters: 2, LastSuccess: ago(time.Second), LastErrorAt: ago(time.Minute)}, admin.HealthDead},
		{"latest change dead-lettered", connectors.Status{DeadLetters: 1, LastSuccess: ago(time.Minute), LastErrorAt: ago(time.Second)}, admin.HealthFailing},
		{"error, retry queued", connectors.Status{QueueDepth: 3, OldestEntryAt: ago(time.Minute), LastErrorAt: ago(time.Second)}, admin.HealthRetrying},
		{"error, nothing delivered for 10 minutes", connectors.Status{QueueDepth: 3, OldestEntryAt: ago(10 * time.Minute), LastSuccess: ago(20 * time.Minute), LastErrorAt: ago(time.Second)}, admin.HealthFailing},
		{"paused by a 429", connectors.Status{QueueDepth: 1, PausedUntil: now.Add(time.Second), LastSuccess: ago(time.Second)}, admin.HealthRetrying},
	}
	for _, tt := range tests {
		if got := admin.Health(tt.s, now); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRatesPerMinute(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scimbridge_deliveries_total"}, []string{"connector", "outcome"})
	reg.MustRegister(c)
	r := admin.NewRates(reg)
	t0 := time.Date(2026, 1, 2, 10, 0, 30, 0, time.UTC)
	r.Sample(t0)
	c.WithLabelValues("webex", "delivered").Add(3)
	c.WithLabelValues("webex", "noop").Add(1)
	c.WithLabelValues("webex", "retry").Add(2)
	r.Sample(t0.Add(10 * time.Second))
	c.WithLabelValues("webex", "dead").Add(1)
	c.WithLabelValues("scc", "delivered").Add(5)
	r.Sample(t0.Add(2 * time.Minute))

	d, f := r.LastHour("webex", t0.Add(2*time.Minute))
	if len(d) != 60 || d[57] != 4 || f[57] != 2 || f[59] != 1 || d[59] != 0 {
		t.Errorf("webex: delivered %v failed %v", d, f)
	}
	d, _ = r.LastHour("scc", t0.Add(2*time.Minute))
	if d[59] != 5 {
		t.Errorf("scc delivered %v", d)
	}
	// An hour later the old minutes have fallen out.
	d, f = r.LastHour("webex", t0.Add(61*time.Minute))
	if slices.Max(d) != 0 || slices.Max(f) != 1 {
		t.Errorf("an hour on: delivered %v failed %v", d, f)
	}
	d, f = r.LastHour("webex", t0.Add(3*time.Hour))
	if slices.Max(d) != 0 || slices.Max(f) != 0 {
		t.Errorf("hours on: delivered %v failed %v", d, f)
	}
}

type fakeSource struct{ resource string }

func (s *fakeSource) Timeline(_ context.Context, resource, cursor string, limit int) (activity.Page, error) {
	s.resource = resource
	if cursor == "bad" {
		return activity.Page{}, activity.ErrBadCursor
	}
	return activity.Page{Events: []activity.Event{{Kind: activity.KindDelivered, Connector: "webex", Type: "User", ID: resource}}, Next: "n"}, nil
}

func (s *fakeSource) Recent(_ context.Context, f activity.Filter) (activity.Page, error) {
	if !f.Failed || f.Connector != "scc" || f.Since.IsZero() {
		return activity.Page{}, nil
	}
	return activity.Page{Events: []activity.Event{{Kind: activity.KindDead, Outcome: activity.OutcomeFailed, Connector: "scc"}}}, nil
}

func TestActivityEndpoint(t *testing.T) {
	f := newFixture(t)
	get := func(h http.Handler, path string) (int, map[string]any) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	without := admin.Handler(f.d, token, admin.WithService(&admin.Service{Dispatcher: f.d}))
	if code, out := get(without, "/admin/activity?resource=u1"); code != http.StatusServiceUnavailable || out["error"] != "activity log not available" {
		t.Errorf("without a source: %d %v", code, out)
	}
	src := &fakeSource{}
	h := admin.Handler(f.d, token, admin.WithService(&admin.Service{Dispatcher: f.d, Activity: src}))
	if code, out := get(h, "/admin/activity?resource=ann%40example.com"); code != 200 || src.resource != "ann@example.com" || out["next"] != "n" {
		t.Errorf("timeline: %d %v", code, out)
	}
	if code, _ := get(h, "/admin/activity?resource=x&cursor=bad"); code != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", code)
	}
	if code, out := get(h, "/admin/activity?connector=scc&outcome=failed&since=1h"); code != 200 || len(out["events"].([]any)) != 1 {
		t.Errorf("recent: %d %v", code, out)
	}
	for _, q := range []string{"outcome=nope", "since=yesterday", "limit=0"} {
		if code, _ := get(h, "/admin/activity?"+q); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}

// GET /admin/lookup finds a user by userName, email or id, and says what
// each connector holds for it: the same Service.Lookup the console shows.
func TestLookupEndpoint(t *testing.T) {
	f := newFixture(t)
	err := f.db.Update(func(tx *store.Tx) error {
		_, err := tx.CreateResource(store.TypeUser, "u1", []byte(`{"id":"u1","userName":"ann@example.com","password":"hunter2",
			"emails":[{"value":"ann.work@example.com"}]}`))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.write(t, "u1")
	f.run(t)
	h := admin.Handler(f.d, token, admin.WithService(&admin.Service{Dispatcher: f.d, DB: f.db}))
	for q, by := range map[string]string{"u1": "id", "Ann@Example.com": "userName", "ann.work@example.com": "email"} {
		req := httptest.NewRequest("GET", "/admin/lookup?q="+q, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out struct{ Resources []admin.Resource }
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 200 || len(out.Resources) != 1 {
			t.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
		}
		r := out.Resources[0]
		if r.ID != "u1" || r.MatchedBy != by || len(r.Targets) != 1 || r.Targets[0].State != admin.TargetDelivered || r.Targets[0].TargetID == "" {
			t.Errorf("%s: %+v", q, r)
		}
		if strings.Contains(rec.Body.String(), "hunter2") {
			t.Errorf("%s: the answer shows a password", q)
		}
	}
	req := httptest.NewRequest("GET", "/admin/lookup?q=nobody", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"resources": []`) {
		t.Errorf("nobody: %d %s", rec.Code, rec.Body)
	}
}
