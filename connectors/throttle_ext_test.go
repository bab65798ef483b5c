package connectors_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/testconn"
	"github.com/scimbridge/scimbridge/store"
)

// TestThrottleBurstResumesDelivery: a target answers a burst of 429s
// (with and without Retry-After). The connector pauses as a whole, for the
// Retry-After or a backoff that starts small and grows only during the
// burst; no change counts an attempt (two attempts would dead-letter it
// here), and once the burst ends delivery resumes after the last pause
// alone, with no retry of a change's own pending. A second burst after a
// success starts the backoff over. Pauses are what the dispatcher
// computed, not wall-clock readings.
func TestThrottleBurstResumesDelivery(t *testing.T) {
	const unit = 20 * time.Millisecond // the dispatcher's minimum backoff, scaled down from 1s
	tests := []struct {
		name       string
		fault      testconn.Fault
		retryAfter time.Duration
		want       []time.Duration // pauses of the first burst (4 429s), then of the second (2)
	}{
		{"without Retry-After", testconn.Fault429, 0,
			[]time.Duration{unit, 2 * unit, 4 * unit, 8 * unit, unit, 2 * unit}},
		{"with Retry-After", testconn.Fault429RetryAfter, 50 * time.Millisecond,
			[]time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, connectors.Limits{BatchSize: 5}, connectors.Settings{Concurrency: 1}, nil)
			// Entry backoff up to a minute and 2 attempts before a dead
			// letter: had a 429 counted against its change, or set the
			// pause from the change's own schedule, this would show.
			e.opts = []connectors.Option{connectors.WithBackoff(unit, time.Minute), connectors.WithMaxAttempts(2)}
			e.build()
			e.target.SetOptions(testconn.Options{RetryAfter: tc.retryAfter})
			for i := range 10 {
				e.write(createUser(fmt.Sprintf("u%d", i)))
			}
			e.target.FailNext(tc.fault, 4)
			e.start()
			e.drain()
			var more []store.Change
			for i := range 10 {
				more = append(more, createUser(fmt.Sprintf("v%d", i)))
			}
			e.target.FailNext(tc.fault, 2)
			e.write(more...)
			e.drain()
			if got := e.d.Pauses("test"); !slices.Equal(got, tc.want) {
				t.Errorf("pauses = %v, want %v", got, tc.want)
			}
			if dl := e.deadLetters(); len(dl) != 0 {
				t.Errorf("dead letters: %+v", dl)
			}
			st := e.target.Stats()
			if n := len(e.target.Users()); n != 20 {
				t.Errorf("target has %d users, want 20", n)
			}
			// 20 users in batches of 5: 4 accepted calls plus the 6 rejected.
			if st.Calls != 10 || st.MaxBatchSeen != 5 || st.Rejected429 != 6 {
				t.Errorf("target saw %d calls (%d 429, batches up to %d), want 10 (6, 5)", st.Calls, st.Rejected429, st.MaxBatchSeen)
			}
		})
	}
}
