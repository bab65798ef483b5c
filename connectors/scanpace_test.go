package connectors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// While commits keep coming, a deep queue with nothing to deliver yet
// (here one user's 3,000 changes: a partial batch, lingering) is not
// scanned back to back: the scheduler takes a small share of the time.
// Scanning after every commit's wake took most of the CPU during an
// onboarding (four lanes reading their queue's head after each IdP write)
// and slowed those writes fivefold.
func TestDeepQueueScansArePaced(t *testing.T) {
	c := &scriptedConn{answer: func(c connectors.Change) connectors.Result { return connectors.Result{TargetID: "t-" + c.ID} }}
	// A rate-paced lane holds a partial batch for the linger (an hour
	// here); no poll, so only commits wake the scheduler.
	e, reg := scriptedEnvWith(t, c, connectors.Settings{Name: "scripted", Concurrency: 1, RateLimit: 1000},
		connectors.WithLinger(time.Hour), connectors.WithPollInterval(time.Hour))
	change := func(i int) store.Change {
		return store.Change{Type: store.TypeUser, ID: "u1", After: user("u1", fmt.Sprintf("u1-%d@example.com", i), true, "A")}
	}
	backlog := make([]store.Change, 3000)
	for i := range backlog {
		backlog[i] = change(i)
	}
	e.write(backlog...)
	scans := func() (n uint64, seconds float64) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "scimbridge_queue_scan_duration_seconds" {
				for _, m := range mf.GetMetric() {
					n += m.GetHistogram().GetSampleCount()
					seconds += m.GetHistogram().GetSampleSum()
				}
			}
		}
		return n, seconds
	}
	e.start()
	waitFor(t, "the first scan", func() bool { n, _ := scans(); return n >= 1 })

	// Commits for half a second (each a few times quicker than a scan of
	// the queue, so every scan ends with a wake waiting): unpaced, the
	// scheduler scans ~100% of the time.
	_, before := scans()
	start := time.Now()
	for i := 0; i < 1000 && time.Since(start) < 500*time.Millisecond; i++ {
		e.write(change(len(backlog) + i))
	}
	_, after := scans()
	if share := (after - before) / time.Since(start).Seconds(); share > 0.5 {
		t.Errorf("the scheduler scanned %.0f%% of the time while commits came, want at most half", 100*share)
	}

	// The last wake is not dropped: a full batch (u1 and seven new
	// users, past the scan window) committed last still goes out.
	full := make([]store.Change, 0, 8)
	for i := range 8 {
		id := fmt.Sprintf("v%d", i)
		full = append(full, store.Change{Type: store.TypeUser, ID: id, After: user(id, id+"@example.com", true, "V")})
	}
	e.write(full...)
	// Eventually: the wake's scan waits 20 times the last scan's cost,
	// seconds under the race detector on a loaded machine.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		c.mu.Lock()
		calls := c.calls
		c.mu.Unlock()
		if calls > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the full batch committed last was not delivered")
		}
	}
}
