package secureaccess

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
)

// BenchmarkProvision10k provisions 10,000 users against the simulator with
// 20ms latency and the rate windows scaled by benchScale, fed the way the
// dispatcher feeds a connector: 4 workers, each calling Apply with the
// next batch of the given size. It reports the PUTs used and the time
// taken as a ratio to the ideal: ceil(10000/250) = 40 requests started as
// early as the three windows allow (122s unscaled), plus one latency.
//
//	go test -run '^$' -bench Provision10k -benchtime 3x ./connectors/secureaccess/
func BenchmarkProvision10k(b *testing.B) {
	const (
		users      = 10_000
		workers    = 4
		latency    = 20 * time.Millisecond
		benchScale = 0.05 // a minute is 3s, 30 minutes 90s
	)
	ideal := schedule(newLimiter(scaleWindows(DefaultWindows, benchScale)), (users+MaxBatch-1)/MaxBatch)
	idealTime := ideal[len(ideal)-1].Sub(ideal[0]) + latency
	for _, size := range []int{250, 50} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			var puts, limited, calls int
			var took time.Duration
			for range b.N {
				e := newEnv(b, secureaccesssim.Options{RateScale: benchScale, Latency: latency}, nil, nil)
				changes := make([]connectors.Change, users)
				for i := range changes {
					changes[i] = userChange(i, true)
				}
				batches := make(chan []connectors.Change, users/size+1)
				for i := 0; i < users; i += size {
					batches <- changes[i:min(i+size, users)]
				}
				close(batches)
				start := time.Now()
				var wg sync.WaitGroup
				for range workers {
					wg.Go(func() {
						for batch := range batches {
							for i, r := range e.c.Apply(context.Background(), batch) {
								if r.Err != nil {
									b.Errorf("change %d: %v", i, r.Err)
									return
								}
							}
						}
					})
				}
				wg.Wait()
				took += time.Since(start)
				st := e.sim.Stats()
				if n := len(e.sim.Users()); n != users {
					b.Fatalf("%d registrations, want %d", n, users)
				}
				puts += st.Puts
				limited += st.RateLimited
				calls += st.Calls
			}
			n := float64(b.N)
			b.ReportMetric(float64(puts)/n, "puts/op")
			b.ReportMetric(float64(calls)/n, "calls/op")
			b.ReportMetric(float64(limited)/n, "429s/op")
			b.ReportMetric(took.Seconds()/n/idealTime.Seconds(), "x-ideal-time")
			b.ReportMetric(idealTime.Seconds(), "ideal-s")
		})
	}
}
