package secureaccess

import (
	"context"
	"errors"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

// schedule runs n back-to-back requests through l on a fake clock (answers
// take no time) and returns when each started.
func schedule(l *limiter, n int) []time.Time {
	now := t0
	l.now = func() time.Time { return now }
	out := make([]time.Time, 0, n)
	for range n {
		l.mu.Lock()
		now = l.earliest(now)
		l.log = append(l.log, now)
		l.mu.Unlock()
		l.stamp(now)
		out = append(out, now)
	}
	return out
}

// overLimit returns the first request of times that finds a window full.
func overLimit(times []time.Time, ws []window) (int, bool) {
	for i, t := range times {
		for _, w := range ws {
			n := 0
			for j := i; j >= 0 && times[j].After(t.Add(-w.Per)); j-- {
				n++
			}
			if n > w.N {
				return i, true
			}
		}
	}
	return 0, false
}

func TestLimiterSchedule(t *testing.T) {
	t.Run("forty requests", func(t *testing.T) {
		// 14 in each minute, 5 in each second: the 40th goes at 2m2s.
		times := schedule(newLimiter(defaultWindows), 40)
		if got := times[39].Sub(t0); got != 122*time.Second {
			t.Errorf("40th request at %v, want 2m2s", got)
		}
		if got := times[13].Sub(t0); got != 2*time.Second {
			t.Errorf("14th request at %v, want 2s", got)
		}
		if i, over := overLimit(times, defaultWindows); over {
			t.Errorf("request %d over a window", i)
		}
	})
	t.Run("two hours flat out", func(t *testing.T) {
		times := schedule(newLimiter(defaultWindows), 800)
		if i, over := overLimit(times, defaultWindows); over {
			t.Fatalf("request %d at %v over a window", i, times[i].Sub(t0))
		}
		// A burst must not spend the 30-minute budget at once: without
		// pacing, 350 requests in 25 minutes are followed by a 5-minute
		// stall.
		var gap time.Duration
		for i := 1; i < len(times); i++ {
			gap = max(gap, times[i].Sub(times[i-1]))
		}
		if gap > 2*time.Minute {
			t.Errorf("longest stall %v, want under 2m", gap)
		}
		// ... while the sustained rate stays close to 350 per 30 minutes.
		if rate := float64(len(times)) / times[len(times)-1].Sub(t0).Minutes() * 30; rate < 330 {
			t.Errorf("%.0f requests per 30 minutes, want close to 350", rate)
		}
		t.Logf("longest stall %v, 800 requests in %v", gap, times[len(times)-1].Sub(t0))
	})
	t.Run("scaled", func(t *testing.T) {
		ws := scaleWindows(defaultWindows, 0.01)
		times := schedule(newLimiter(ws), 400)
		if i, over := overLimit(times, ws); over {
			t.Fatalf("request %d over a scaled window", i)
		}
	})
}

func TestLimiterBackoff(t *testing.T) {
	l := newLimiter(defaultWindows)
	now := t0
	l.now = func() time.Time { return now }
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		d := l.throttled(0)
		if d < w*8/10 || d > w*12/10 {
			t.Errorf("429 #%d: held %v, want %v ±20%%", i+1, d, w)
		}
	}
	for range 20 {
		l.throttled(0)
	}
	if l.backoff != 3*time.Minute {
		t.Errorf("backoff grew to %v, want capped at 3m (a tenth of the longest window)", l.backoff)
	}
	l.ok()
	now = now.Add(time.Hour) // past the holds above
	if d := l.throttled(5 * time.Second); d != 5*time.Second {
		t.Errorf("Retry-After 5s: held %v", d)
	}
	l.mu.Lock()
	if got := l.earliest(now); got != now.Add(5*time.Second) {
		t.Errorf("next slot at %v, want after Retry-After", got.Sub(now))
	}
	l.mu.Unlock()
}

func TestLimiterWait(t *testing.T) {
	l := newLimiter([]window{{1, time.Hour}})
	done, err := l.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = l.wait(ctx)
	var w errWait
	if !errors.As(err, &w) || w.wait < 59*time.Minute {
		t.Errorf("wait past the deadline: %v, want errWait of about an hour", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := l.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// TestLimiterShare (fake clock): background requests (waitShare at 20%)
// flat out for an hour never hold more than 20% of any window (1 a
// second, 2 a minute, 70 in 30 minutes), and live requests arriving at any
// moment of that hour find the rest free: at least 12 of the 14 in their
// first minute and 4 of the 5 in their first second, where they would get
// 14 and 5 with no background at all.
func TestLimiterShare(t *testing.T) {
	const share = 0.2
	var shareWindows []window
	for _, w := range defaultWindows {
		shareWindows = append(shareWindows, window{N: max(1, int(share*float64(w.N))), Per: w.Per})
	}
	times := scheduleUntil(newLimiter(defaultWindows), t0, t0.Add(time.Hour), share)
	if i, over := overLimit(times, shareWindows); over {
		t.Fatalf("background request %d at %v holds more than its share of a window", i, times[i].Sub(t0))
	}
	if len(times) < 110 { // 2 a minute
		t.Errorf("%d background requests in an hour, want about 120", len(times))
	}
	for i, at := range times {
		if i%7 != 0 { // a sample of moments, each right after a background request
			continue
		}
		live := newLimiter(defaultWindows)
		for _, b := range times[:i+1] {
			if b.After(at.Add(-30 * time.Minute)) {
				live.log = append(live.log, b)
			}
		}
		starts := scheduleUntil(live, at, at.Add(time.Minute), 1)
		inFirst := func(d time.Duration) int {
			n := 0
			for _, s := range starts {
				if s.Before(at.Add(d)) {
					n++
				}
			}
			return n
		}
		if n := inFirst(time.Minute); n < 12 {
			t.Errorf("live traffic arriving at %v: %d requests in its first minute, want at least 12 of 14", at.Sub(t0), n)
		}
		if n := inFirst(time.Second); n < 4 {
			t.Errorf("live traffic arriving at %v: %d requests in its first second, want at least 4 of 5", at.Sub(t0), n)
		}
	}
	t.Logf("%d background requests in an hour", len(times))
}

// scheduleUntil runs back-to-back requests through l on a fake clock from
// start until end (answers take no time), each admitted as a request of
// that share of the windows (1: live), and returns when each started.
func scheduleUntil(l *limiter, start, end time.Time, share float64) []time.Time {
	now := start
	l.now = func() time.Time { return now }
	var out []time.Time
	for now.Before(end) {
		l.mu.Lock()
		now = l.earliestShare(now, share)
		l.log = append(l.log, now)
		l.mu.Unlock()
		l.stamp(now)
		out = append(out, now)
	}
	return out
}
