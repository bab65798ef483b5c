package connectors_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/testconn"
	"github.com/scimbridge/scimbridge/store"
)

// BenchmarkDeliveryThroughput measures how close delivery comes to its
// physical limit, the target's rate limit times its batch size, against a
// target that takes 20 ms per call. Each iteration delivers 100 full
// batches queued beforehand; "of-limit" is achieved / (rate × batch).
func BenchmarkDeliveryThroughput(b *testing.B) {
	for _, tc := range []struct {
		name  string
		rate  float64
		batch int
		http  bool
	}{
		{"rate=20/s,batch=50", 20, 50, false},
		{"rate=50/s,batch=10", 50, 10, false},
		{"rate=100/s,batch=1", 100, 1, false},
		{"http,rate=20/s,batch=50", 20, 50, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const calls = 100
			n := calls * tc.batch
			var total time.Duration
			for i := range b.N {
				b.StopTimer()
				target := testconn.NewTarget(testconn.Options{Latency: 20 * time.Millisecond})
				limits := connectors.Limits{BatchSize: tc.batch, Rate: tc.rate, Burst: 1, Timeout: 10 * time.Second}
				var conn connectors.Connector = testconn.New("bench", target, limits)
				if tc.http {
					srv := httptest.NewServer(testconn.NewSim(target))
					defer srv.Close()
					conn = testconn.NewHTTP("bench", srv.URL, testconn.SimToken, srv.Client(), limits)
				}
				db, err := store.Open(filepath.Join(b.TempDir(), fmt.Sprint(i)))
				if err != nil {
					b.Fatal(err)
				}
				d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: conn, Settings: connectors.Settings{Name: "bench", Concurrency: 4}}}, zerolog.Nop(), nil)
				if err != nil {
					b.Fatal(err)
				}
				err = db.Update(func(tx *store.Tx) error {
					for j := range n {
						id := fmt.Sprintf("u%06d", j)
						if err := d.Enqueue(tx, store.Change{Type: store.TypeUser, ID: id, After: map[string]any{"id": id, "userName": id + "@example.com", "active": true}}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				b.StartTimer()
				start := time.Now()
				go func() { _ = d.Run(ctx); close(done) }()
				for target.Stats().Ops < n {
					time.Sleep(time.Millisecond)
				}
				total += time.Since(start)
				b.StopTimer()
				cancel()
				<-done
				db.Close()
			}
			perSec := float64(n*b.N) / total.Seconds()
			b.ReportMetric(perSec, "changes/s")
			b.ReportMetric(perSec/(tc.rate*float64(tc.batch)), "of-limit")
		})
	}
}
