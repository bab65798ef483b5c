package secureaccess

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
	"github.com/scimbridge/scimbridge/store"
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
	ideal := schedule(newLimiter(scaleWindows(defaultWindows, benchScale)), (users+MaxBatch-1)/MaxBatch)
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

// userMapper is the default mapping written out, for the dispatcher.
type userMapper struct{}

func (userMapper) Map(typ string, res map[string]any) (map[string]any, error) {
	return mapUser(typ, res)
}
func (userMapper) InScope(string, map[string]any) bool { return true }

// BenchmarkDispatcher10k is the same provisioning end to end: 10,000 user
// creates committed to the store's queue, delivered by the dispatcher
// (4 workers, its own token bucket from Limits) through this connector.
//
//	go test -run '^$' -bench Dispatcher10k -benchtime 1x ./connectors/secureaccess/
func BenchmarkDispatcher10k(b *testing.B) {
	const (
		users      = 10_000
		latency    = 20 * time.Millisecond
		benchScale = 0.05
	)
	ideal := schedule(newLimiter(scaleWindows(defaultWindows, benchScale)), (users+MaxBatch-1)/MaxBatch)
	idealTime := ideal[len(ideal)-1].Sub(ideal[0]) + latency
	var puts, limited int
	var took time.Duration
	for i := range b.N {
		e := newEnv(b, secureaccesssim.Options{RateScale: benchScale, Latency: latency}, nil, nil)
		db, err := store.Open(filepath.Join(b.TempDir(), fmt.Sprint(i)))
		if err != nil {
			b.Fatal(err)
		}
		d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: e.c,
			Settings: connectors.Settings{Name: "sa", Type: "secureaccess", Concurrency: 4}, Mapper: userMapper{}}},
			zerolog.Nop(), nil)
		if err != nil {
			b.Fatal(err)
		}
		err = db.Update(func(tx *store.Tx) error {
			for j := range users {
				id := fmt.Sprintf("u%06d", j)
				after := map[string]any{"id": id, "userName": id + "@example.com", "displayName": "User " + id, "active": true}
				if err := d.Enqueue(tx, store.Change{Type: store.TypeUser, ID: id, After: after}); err != nil {
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
		start := time.Now()
		go func() { _ = d.Run(ctx); close(done) }()
		for len(e.sim.Users()) < users {
			time.Sleep(5 * time.Millisecond)
		}
		took += time.Since(start)
		cancel()
		<-done
		db.Close()
		st := e.sim.Stats()
		puts += st.Puts
		limited += st.RateLimited
	}
	n := float64(b.N)
	b.ReportMetric(float64(puts)/n, "puts/op")
	b.ReportMetric(float64(limited)/n, "429s/op")
	b.ReportMetric(took.Seconds()/n/idealTime.Seconds(), "x-ideal-time")
}
