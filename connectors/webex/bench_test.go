package webex

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// BenchmarkProvision measures users created per second against webexsim
// with 20 ms of latency per request, through /Bulk and one POST per user.
// Each iteration provisions 100 users (one batch of Limits().BatchSize),
// split across workers as the dispatcher's concurrent workers would.
//
//	go test -run XXX -bench Provision -benchtime 5x -count 3 ./connectors/webex/
func BenchmarkProvision(b *testing.B) {
	for _, bc := range []struct {
		name    string
		bulk    bool
		workers int
	}{
		{"bulk", true, 1},
		{"single", false, 1},
		{"single-4workers", false, 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sim := webexsim.New(webexsim.Options{Latency: 20 * time.Millisecond})
			ts := httptest.NewServer(sim)
			defer ts.Close()
			c, err := New(connectors.Settings{
				Name:        "bench",
				BaseURL:     ts.URL + sim.BasePath(),
				Credentials: sim.Credentials(),
				Options:     map[string]string{"bulk": fmt.Sprint(bc.bulk)},
			}, connectors.Deps{HTTPClient: ts.Client(), Log: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			const perIter = 100
			users := 0
			for b.Loop() {
				var wg sync.WaitGroup
				for w := range bc.workers {
					var batch []connectors.Change
					for i := w; i < perIter; i += bc.workers {
						n := users + i
						batch = append(batch, createUser(fmt.Sprint(n), fmt.Sprintf("bench%07d@example.com", n), "firstName", "Bench"))
					}
					wg.Go(func() {
						for _, r := range c.Apply(context.Background(), batch) {
							if r.Err != nil || r.TargetID == "" {
								b.Error(r.Err)
								return
							}
						}
					})
				}
				wg.Wait()
				users += perIter
			}
			b.ReportMetric(float64(users)/b.Elapsed().Seconds(), "users/s")
		})
	}
}
