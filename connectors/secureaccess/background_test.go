package secureaccess

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
)

// TestBackgroundListingYieldsToDeliveries: a periodic drift check's
// listing (background work, connectors.Pacer) runs while live deliveries
// keep coming. Counted at the simulator, by arrival: in no window (5/s,
// 14/min, 350/30 min, scaled) do the listing's GETs exceed
// BackgroundShare of the window's requests, so live PUTs always have the
// rest; no request is answered 429; the listing waited for live work
// (pausing between pages) and still read every registration.
func TestBackgroundListingYieldsToDeliveries(t *testing.T) {
	const scale = 0.005 // a minute lasts 300 ms
	type arrival struct {
		at  time.Time
		get bool
	}
	var mu sync.Mutex
	var arrivals []arrival
	e := newEnv(t, secureaccesssim.Options{RateScale: scale, Hold: func(at secureaccesssim.Stage, r *http.Request) bool {
		if at == secureaccesssim.Arrived {
			mu.Lock()
			arrivals = append(arrivals, arrival{time.Now(), r.Method == http.MethodGet})
			mu.Unlock()
		}
		return true
	}}, nil, nil)
	var pre []secureaccesssim.Registration
	for i := range 6 * MaxBatch { // six pages
		pre = append(pre, secureaccesssim.Registration{Key: fmt.Sprintf("pre-%04d", i), AuthName: fmt.Sprintf("pre%04d@example.com", i)})
	}
	e.sim.Preload(secureaccesssim.Device, pre...)

	var applying atomic.Int32
	p := connectors.NewPacer(e.c.Limits().Rate, connectors.BackgroundShare, func() bool { return applying.Load() > 0 })
	listed := map[string]bool{}
	done := make(chan error, 1)
	applying.Add(1) // live work is waiting as the listing starts: its first page waits
	go func() {
		done <- e.c.ListFields(connectors.WithPacer(t.Context(), p), connectors.User, func(id string, _ map[string]any) error {
			listed[id] = true
			return nil
		})
	}()
	// Live deliveries meanwhile: one user at a time, a little apart.
	for deadline := time.Now().Add(10 * time.Second); p.Yielded() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the listing did not wait for live work")
		}
	}
	for i := range 12 {
		if i > 0 {
			applying.Add(1)
		}
		mustOK(t, apply(t, e.c, userChange(i, true)))
		applying.Add(-1)
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(listed) < len(pre) {
		t.Errorf("listed %d registrations, want at least the %d preloaded", len(listed), len(pre))
	}
	if st := e.sim.Stats(); st.RateLimited != 0 {
		t.Errorf("%d requests answered 429", st.RateLimited)
	}
	mu.Lock()
	defer mu.Unlock()
	gets, puts := 0, 0
	for i, a := range arrivals {
		if !a.get {
			puts++
			continue
		}
		gets++
		for _, w := range scaleWindows(defaultWindows, scale) {
			inWindow := 0
			for _, b := range arrivals[:i+1] {
				if b.get && a.at.Sub(b.at) < w.Per {
					inWindow++
				}
			}
			if k := max(1, int(connectors.BackgroundShare*float64(w.N))); inWindow > k {
				t.Errorf("GET %d: %d listing requests within %v, want at most %d (%.0f%% of %d)", gets, inWindow, w.Per, k, 100*connectors.BackgroundShare, w.N)
			}
		}
	}
	t.Logf("%d GETs, %d PUTs; the listing yielded to deliveries %d times (%d pages granted)", gets, puts, p.Yielded(), p.Granted())
}
