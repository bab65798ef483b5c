package connectors_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
)

// slowConn takes a while per call and counts its calls and the changes
// they carried.
type slowConn struct {
	batch   int
	mu      sync.Mutex
	calls   int
	changes int
}

func (s *slowConn) Name() string { return "slow" }
func (s *slowConn) Limits() connectors.Limits {
	return connectors.Limits{BatchSize: s.batch, Rate: 1000, Burst: 1000}
}
func (s *slowConn) Apply(_ context.Context, b []connectors.Change) []connectors.Result {
	s.mu.Lock()
	s.calls++
	s.changes += len(b)
	s.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	out := make([]connectors.Result, len(b))
	for i, c := range b {
		out[i] = connectors.Result{TargetID: "t-" + c.ID}
	}
	return out
}

// On a rate-paced lane, changes that trickle in wait (the linger, here
// 10 s, counted from the oldest) to share a call instead of going as a
// few per call: 200 changes over ~0.1-1 s are one full batch of 50 and
// the rest after the linger, at most 4 calls whatever the machine's
// speed. A sync lane (its IdP waits) keeps sending at once.
func TestPartialBatchLingers(t *testing.T) {
	tests := []struct {
		name      string
		set       connectors.Settings
		wantCalls func(int) bool
	}{
		{"paced", connectors.Settings{Concurrency: 4}, func(n int) bool { return n <= 4 }},
		{"sync", connectors.Settings{Concurrency: 4, Sync: true}, func(n int) bool { return n > 4 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &slowConn{batch: 50}
			set := tc.set
			set.Name = "slow"
			e := connEnv(t, c, set, connectors.WithLinger(10*time.Second))
			e.start()
			// 200 users, one write each, as an IdP sends them, from 4 writers.
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := range 50 {
						e.write(createUser(fmt.Sprintf("u%d-%02d", w, i)))
						time.Sleep(time.Millisecond)
					}
				})
			}
			wg.Wait()
			e.drain()
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.changes != 200 {
				t.Errorf("%d changes delivered, want 200", c.changes)
			}
			if !tc.wantCalls(c.calls) {
				t.Errorf("%d calls for 200 changes", c.calls)
			}
			t.Logf("%d calls for 200 changes", c.calls)
		})
	}
}

// A partial batch does go once its oldest change has waited the linger:
// three changes written together are one call.
func TestPartialBatchGoesAfterTheLinger(t *testing.T) {
	c := &slowConn{batch: 50}
	e := connEnv(t, c, connectors.Settings{Name: "slow", Concurrency: 4}, connectors.WithLinger(50*time.Millisecond))
	e.start()
	e.write(createUser("a"), createUser("b"), createUser("c"))
	e.drain()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls != 1 || c.changes != 3 {
		t.Errorf("%d calls carried %d changes, want 1 call with 3", c.calls, c.changes)
	}
}
