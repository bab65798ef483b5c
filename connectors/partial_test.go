package connectors_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// slowConn takes a while per call and records how many calls with a
// partial batch (fewer than its batch size) ran at once.
type slowConn struct {
	batch   int
	mu      sync.Mutex
	partial int // in flight now
	most    int // most in flight at once
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
	partial := len(b) < s.batch
	if partial {
		s.partial++
		s.most = max(s.most, s.partial)
	}
	s.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	s.mu.Lock()
	if partial {
		s.partial--
	}
	s.mu.Unlock()
	out := make([]connectors.Result, len(b))
	for i, c := range b {
		out[i] = connectors.Result{TargetID: "t-" + c.ID}
	}
	return out
}

// On a rate-paced lane, changes that trickle in are not sent as one
// partial batch per idle worker: at most one partial batch is in flight,
// and what arrives meanwhile joins the next one. A sync lane (its IdP
// waits) and a lane without a rate keep sending at once.
func TestAtMostOnePartialBatchInFlight(t *testing.T) {
	tests := []struct {
		name     string
		set      connectors.Settings
		wantMost func(int) bool
	}{
		{"paced", connectors.Settings{Concurrency: 4}, func(n int) bool { return n == 1 }},
		{"sync", connectors.Settings{Concurrency: 4, Sync: true}, func(n int) bool { return n > 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &slowConn{batch: 50}
			db, err := store.Open(filepath.Join(t.TempDir(), "db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			set := tc.set
			set.Name = "slow"
			d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: c, Settings: set}}, zerolog.Nop(), nil, fast...)
			if err != nil {
				t.Fatal(err)
			}
			e := &env{t: t, db: db, d: d, set: set}
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
			if !tc.wantMost(c.most) {
				t.Errorf("at most %d partial batches in flight at once (%d calls)", c.most, c.calls)
			}
			t.Logf("%d calls for 200 changes; at most %d partial batches at once", c.calls, c.most)
		})
	}
}
