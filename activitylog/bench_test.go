package activitylog_test

// Benchmarks of the activity log, each reporting a ratio measured in the
// same run (figures in docs/notes/activity.md):
//
//	go test ./activitylog -run '^$' -bench . -benchtime 1x -timeout 30m
//
// BenchmarkImportLogOnOff      Okta's import (lookup + create) with the log on / off
// BenchmarkTimelineVsListPage  one timeline in a 1,000,000-event log / a 100-user list page
// BenchmarkPruneVsSCIMLatency  SCIM p99 while pruning 1,000,000 events / without

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/admin"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/store"
)

const benchToken = "bench-token"

// server is scimbridge's SCIM endpoint (and the admin API's activity
// reader) on a fresh data file, with the log on or off.
type server struct {
	db  *store.DB
	log *activitylog.Log
	url string
	hc  *http.Client
}

func newServer(b *testing.B, on bool, opts activitylog.Options) *server {
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	opts.Enabled = &on
	log := activitylog.New(db, opts)
	s, err := scim.New(scim.Options{ExternalURL: "https://scim.example.com"}, db, store.NopSink{}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	s.SetActivity(log, nil)
	runLog(b, log)
	r := chi.NewRouter()
	r.With(scim.BearerAuth([]string{benchToken})).Mount("/scim/v2", s.Handler())
	svc := &admin.Service{DB: db}
	if log != nil {
		svc.Activity = log
	}
	r.Mount("/admin", admin.Handler(nil, benchToken, admin.WithService(svc)))
	ts := httptest.NewServer(r)
	b.Cleanup(ts.Close)
	tr := &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128}
	b.Cleanup(tr.CloseIdleConnections)
	return &server{db: db, log: log, url: ts.URL, hc: &http.Client{Transport: tr}}
}

// runLog runs the log's background work (indexing, pruning) as the
// server does, until the benchmark ends.
func runLog(b *testing.B, log *activitylog.Log) {
	if log == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); log.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
}

func (s *server) call(b *testing.B, method, path, body string, want int) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := s.hc.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		b.Errorf("%s %s: %d, want %d: %.200s", method, path, res.StatusCode, want, out)
	}
}

func userJSON(name string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name +
		`","name":{"givenName":"Jane","familyName":"Doe"},"emails":[{"primary":true,"value":"` + name +
		`","type":"work"}],"displayName":"Jane Doe","locale":"en-US","externalId":"` + name + `","active":true}`
}

var seq atomic.Int64

// importRound imports n users over clients connections and returns the
// elapsed time.
func importRound(b *testing.B, s *server, n, clients int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				name := fmt.Sprintf("u%d@example.com", seq.Add(1))
				s.call(b, "GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`)+"&startIndex=1&count=100", "", http.StatusOK)
				s.call(b, "POST", "/scim/v2/Users", userJSON(name), http.StatusCreated)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkImportLogOnOff: Okta's import against two servers, the log on
// and off, in alternating rounds (so machine noise hits both alike); it
// reports the median of the per-round throughput ratio on/off (≥ 0.9 is
// the target).
func BenchmarkImportLogOnOff(b *testing.B) {
	const users, clients = 300, 16
	on, off := newServer(b, true, activitylog.Options{}), newServer(b, false, activitylog.Options{})
	importRound(b, on, 50, clients) // warm both
	importRound(b, off, 50, clients)
	var ratios []float64
	var tOn, tOff time.Duration
	b.ResetTimer()
	for i := range max(b.N, 7) {
		var don, doff time.Duration
		if i%2 == 0 {
			don, doff = importRound(b, on, users, clients), importRound(b, off, users, clients)
		} else {
			doff, don = importRound(b, off, users, clients), importRound(b, on, users, clients)
		}
		tOn, tOff = tOn+don, tOff+doff
		ratios = append(ratios, doff.Seconds()/don.Seconds())
	}
	b.StopTimer()
	n := float64(len(ratios) * users)
	b.ReportMetric(n/tOn.Seconds(), "on-imports/s")
	b.ReportMetric(n/tOff.Seconds(), "off-imports/s")
	b.ReportMetric(median(ratios), "on/off")
}

// fill writes events straight through the store, in large transactions:
// users resources with perUser events each, in bursts of 10 (a write and
// its deliveries come close together), the resources taking turns.
func fill(b *testing.B, s *server, users, perUser int) {
	s.db.SetNoSync(true)
	defer s.db.SetNoSync(false)
	names := make([]string, users)
	for u := range users {
		names[u] = fmt.Sprintf("user%d@example.com", u)
	}
	t0 := time.Now().Add(-24 * time.Hour)
	const chunk = 50_000
	total := users * perUser
	for start := 0; start < total; start += chunk {
		err := s.db.Update(func(tx *store.Tx) error {
			for i := start; i < min(start+chunk, total); i++ {
				u := (i / 10) % users
				ev := activity.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: activity.KindDelivered, Outcome: activity.OutcomeOK,
					Connector: "webex", Type: store.TypeUser, ID: fmt.Sprintf("id-%d", u), Op: "upsert", TargetID: "wx-123456", Duration: 120 * time.Millisecond}
				var names2 []string
				if i%10 == 0 && i/10 < users {
					ev.Kind, ev.Connector, ev.Method, ev.Status, ev.Name = activity.KindSCIM, "", "POST", 201, names[u]
					ev.Changes = map[string]any{"userName": names[u], "active": true}
					names2 = []string{names[u]}
				}
				if err := s.log.Append(tx, ev, names2...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.log.Index(context.Background()); err != nil { // as the server would have meanwhile
		b.Fatal(err)
	}
}

// BenchmarkTimelineVsListPage: one user's timeline by userName (the
// API's page of 50 events, and all its 100) in a log of 1,000,000 events,
// against a page of 100 users from the SCIM endpoint, alternating;
// reports the median time of each and their ratios (< 1 is the target).
func BenchmarkTimelineVsListPage(b *testing.B) {
	s := newServer(b, true, activitylog.Options{})
	fill(b, s, 10_000, 100)
	for i := range 150 {
		s.call(b, "POST", "/scim/v2/Users", userJSON(fmt.Sprintf("listed%d@example.com", i)), http.StatusCreated)
	}
	var count int
	_ = s.db.View(func(tx *store.Tx) error { count, _ = tx.ActivityStats(); return nil })
	if count < 1_000_000 {
		b.Fatalf("log holds %d events", count)
	}
	var tl, tl100, lp []float64
	b.ResetTimer()
	for i := range max(b.N, 200) {
		name := fmt.Sprintf("user%d@example.com", (i*7919)%10_000)
		start := time.Now() // the API's (and console's) page: 50 events
		s.call(b, "GET", "/admin/activity?resource="+url.QueryEscape(name), "", http.StatusOK)
		tl = append(tl, float64(time.Since(start).Microseconds()))
		start = time.Now() // all its 100 events at once
		s.call(b, "GET", "/admin/activity?limit=100&resource="+url.QueryEscape(name), "", http.StatusOK)
		tl100 = append(tl100, float64(time.Since(start).Microseconds()))
		start = time.Now()
		s.call(b, "GET", "/scim/v2/Users?startIndex=1&count=100", "", http.StatusOK)
		lp = append(lp, float64(time.Since(start).Microseconds()))
	}
	b.StopTimer()
	b.ReportMetric(median(tl), "timeline-µs")
	b.ReportMetric(median(tl100), "timeline100-µs")
	b.ReportMetric(median(lp), "listpage-µs")
	b.ReportMetric(median(tl)/median(lp), "timeline/listpage")
	b.ReportMetric(median(tl100)/median(lp), "timeline100/listpage")
}

// BenchmarkPruneVsSCIMLatency: SCIM PATCHes from 4 clients for a fixed
// time without pruning, then while 1,000,000 events are pruned (all past
// retention); reports each p99 and their ratio (< 1.2 is the target).
func BenchmarkPruneVsSCIMLatency(b *testing.B) {
	s := newServer(b, true, activitylog.Options{Retention: time.Hour})
	fill(b, s, 10_000, 100)
	var ids []string
	for i := range 200 {
		name := fmt.Sprintf("patched%d@example.com", i)
		s.call(b, "POST", "/scim/v2/Users", userJSON(name), http.StatusCreated)
		_ = s.db.View(func(tx *store.Tx) error { ids = append(ids, tx.LookupUserName(name)); return nil })
	}
	measure := func(stop <-chan struct{}) []float64 {
		var mu sync.Mutex
		var lat []float64
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					id := ids[(c*50+i)%len(ids)]
					start := time.Now()
					s.call(b, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
						"Operations":[{"op":"replace","path":"displayName","value":"v`+fmt.Sprint(i)+`"}]}`, http.StatusNoContent)
					mu.Lock()
					lat = append(lat, float64(time.Since(start).Microseconds()))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return lat
	}
	p99 := func(xs []float64) float64 {
		slices.Sort(xs)
		return xs[len(xs)*99/100]
	}
	b.ResetTimer()
	// Pruning first (its duration sets the window), then the same window without.
	stop := make(chan struct{})
	var pruned int
	var took time.Duration
	go func() {
		start := time.Now()
		var err error
		pruned, _, err = s.log.Prune(context.Background())
		took = time.Since(start)
		if err != nil {
			b.Error(err)
		}
		close(stop)
	}()
	during := measure(stop)
	stop2 := make(chan struct{})
	time.AfterFunc(took, func() { close(stop2) })
	before := measure(stop2)
	b.StopTimer()
	if pruned < 1_000_000 {
		b.Fatalf("pruned %d events", pruned)
	}
	b.ReportMetric(took.Seconds(), "prune-s")
	b.ReportMetric(p99(before), "p99-µs-idle")
	b.ReportMetric(p99(during), "p99-µs-pruning")
	b.ReportMetric(p99(during)/p99(before), "p99-ratio")
	b.ReportMetric(float64(len(during))/took.Seconds(), "patches/s-pruning")
	b.ReportMetric(float64(len(before))/took.Seconds(), "patches/s-idle")
}
