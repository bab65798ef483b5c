package connectors

import (
	"testing"
	"time"
)

// TestThrottleState: the connector's pause after a 429 is the target's
// Retry-After, else a backoff of its own that starts at a second, grows
// only while 429s keep coming and starts over after a success; a 429 of a
// call that was in flight during a pause does not grow it.
func TestThrottleState(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at         time.Duration // since t0
		retryAfter time.Duration // -1: a success
		wantUntil  time.Duration // since t0 (unchecked for a success)
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"no Retry-After: 1s, 2s, 4s while 429s keep coming", []step{
			{0, 0, time.Second},
			{time.Second, 0, 3 * time.Second},
			{3 * time.Second, 0, 7 * time.Second},
		}},
		{"a success starts the backoff over", []step{
			{0, 0, time.Second},
			{time.Second, 0, 3 * time.Second},
			{3 * time.Second, -1, 0},
			{4 * time.Second, 0, 5 * time.Second},
		}},
		{"Retry-After wins, and is honoured even when short", []step{
			{0, 30 * time.Second, 30 * time.Second},
			{30 * time.Second, time.Second, 31 * time.Second},
		}},
		{"after Retry-After 429s the own backoff has grown", []step{
			{0, 2 * time.Second, 2 * time.Second},
			{2 * time.Second, 0, 4 * time.Second},
		}},
		{"in-flight 429s during a pause do not grow it", []step{
			{0, 0, time.Second},
			{100 * time.Millisecond, 0, time.Second},
			{200 * time.Millisecond, 0, time.Second},
			{time.Second, 0, 3 * time.Second},
		}},
		{"an in-flight 429 with a longer Retry-After extends the pause", []step{
			{0, 0, time.Second},
			{500 * time.Millisecond, 3 * time.Second, 3500 * time.Millisecond},
		}},
		{"capped", []step{
			{0, 0, time.Second}, {1 * time.Second, 0, 3 * time.Second}, {3 * time.Second, 0, 7 * time.Second},
			{7 * time.Second, 0, 15 * time.Second}, {15 * time.Second, 0, 31 * time.Second},
			{31 * time.Second, 0, 63 * time.Second}, {63 * time.Second, 0, 123 * time.Second},
			{123 * time.Second, 0, 183 * time.Second},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th := throttle{min: time.Second, max: maxThrottle}
			for i, s := range tc.steps {
				if s.retryAfter < 0 {
					th.ok()
					continue
				}
				if got := th.hit(t0.Add(s.at), s.retryAfter).Sub(t0); got != s.wantUntil {
					t.Fatalf("step %d: paused until +%s, want +%s", i, got, s.wantUntil)
				}
			}
		})
	}
}
