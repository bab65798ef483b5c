package connectors

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// fakeClock drives a RequestPacer without wall-clock time: each sleep advances
// the clock by what was asked plus a lateness the test chooses (a timer
// that fires late on a loaded machine).
type fakeClock struct {
	t     time.Time
	late  func(i int) time.Duration
	waits int
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.t = c.t.Add(d + c.late(c.waits))
	c.waits++
	return ctx.Err()
}

func requestPacerOn(c *fakeClock, limit int, perSecond float64) *RequestPacer {
	p := WindowLimiter(limit, perSecond)
	p.now, p.sleep = c.now, c.sleep
	return p
}

// grants calls Wait n times back to back (a queue of waiters, as the
// connectors' workers keep) and returns when each grant happened.
func grants(t *testing.T, p *RequestPacer, c *fakeClock, n int) []time.Time {
	t.Helper()
	out := make([]time.Time, n)
	for i := range out {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		out[i] = c.t
	}
	return out
}

// crowded reports the first j where limit+1 grants fall within window,
// or -1: a fixed-window target whose window opened at grant j would
// answer the last of them 429.
func crowded(g []time.Time, limit int, window time.Duration) int {
	for j := 0; j+limit < len(g); j++ {
		if g[j+limit].Sub(g[j]) < window {
			return j
		}
	}
	return -1
}

// TestPacerGuardsWindowsAgainstLateWakeups: SecureAuth's benchmark
// shape, 20 requests per 500 ms. On-time wake-ups are spaced at
// PaceMargin of the rate; with wake-ups late by random amounts (and now
// and then by a lot), the schedule alone would put 21 grants inside one
// window (the 429s measured before the guard), the RequestPacer never does, and
// its rate stays within a few percent of the paced rate.
func TestRequestPacerGuardsWindowsAgainstLateWakeups(t *testing.T) {
	const limit, perSecond, n = 20, 40.0, 4000
	window := time.Duration(float64(limit) / perSecond * float64(time.Second))
	rng := rand.New(rand.NewPCG(1, 2))
	lateness := make([]time.Duration, 2*n)
	for i := range lateness {
		lateness[i] = time.Duration(rng.IntN(3000)) * time.Microsecond // 0-3 ms, every wake-up
		if rng.IntN(50) == 0 {
			lateness[i] += time.Duration(10+rng.IntN(30)) * time.Millisecond // a stall now and then
		}
	}
	tests := []struct {
		name      string
		late      func(int) time.Duration
		guard     bool
		crowds    bool    // some window gets limit+1 grants
		minShare  float64 // of perSecond, over the run
		exactGaps bool
	}{
		{"on time", func(int) time.Duration { return 0 }, true, false, PaceMargin - 0.001, true},
		{"late wake-ups, schedule alone", func(i int) time.Duration { return lateness[i] }, false, true, PaceMargin - 0.01, false},
		{"late wake-ups, with the guard", func(i int) time.Duration { return lateness[i] }, true, false, 0.95, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeClock{t: time.Unix(1_800_000_000, 0), late: tc.late}
			p := requestPacerOn(c, limit, perSecond)
			if !tc.guard {
				p.span = 0
			}
			g := grants(t, p, c, n)
			if j := crowded(g, limit, window); (j >= 0) != tc.crowds {
				t.Errorf("first crowded window at grant %d; want crowded: %v", j, tc.crowds)
			}
			if j := crowded(g, limit, p.span); tc.guard && j >= 0 {
				t.Errorf("grants %d..%d span %s, less than the guard's %s", j, j+limit, g[j+limit].Sub(g[j]), p.span)
			}
			share := float64(n-1) / g[n-1].Sub(g[0]).Seconds() / perSecond
			t.Logf("rate %.4f of the limit", share)
			if share < tc.minShare || share > PaceMargin+0.001 {
				t.Errorf("rate = %.4f of the limit, want %.3f..%.3f", share, tc.minShare, PaceMargin)
			}
			if tc.exactGaps {
				for i := 1; i < n; i++ {
					if d := g[i].Sub(g[i-1]); d != p.gap {
						t.Fatalf("gap %d = %s, want %s", i, d, p.gap)
					}
				}
			}
		})
	}
}

// TestPacerIdle: after an idle spell the next request goes at once, and
// the one after it a gap later (burst 1: idle time is not saved up).
func TestRequestPacerIdle(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_800_000_000, 0), late: func(int) time.Duration { return 0 }}
	p := requestPacerOn(c, 10, 10)
	g := grants(t, p, c, 3)
	c.t = c.t.Add(time.Minute)
	idle := c.t
	g2 := grants(t, p, c, 2)
	if !g2[0].Equal(idle) || g2[1].Sub(g2[0]) != p.gap || g[1].Sub(g[0]) != p.gap {
		t.Errorf("after idle: first at +%s, then %s apart; want at once, then %s", g2[0].Sub(idle), g2[1].Sub(g2[0]), p.gap)
	}
}

// TestPacerCancel: a waiter whose context ends returns its error, takes
// no grant and lets the next waiter through.
func TestRequestPacerCancel(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_800_000_000, 0), late: func(int) time.Duration { return 0 }}
	p := requestPacerOn(c, 10, 10)
	grants(t, p, c, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx); err == nil {
		t.Fatal("Wait with an ended context succeeded")
	}
	if g := grants(t, p, c, 1); !p.sent[1].Equal(g[0]) || !p.sent[2].IsZero() {
		t.Errorf("grants recorded: %v", p.sent[:3])
	}
}

// TestPacerConcurrent: many goroutines share one RequestPacer (real clock, a
// fast rate); every one is granted (run with -race).
func TestRequestPacerConcurrent(t *testing.T) {
	p := WindowLimiter(20, 20000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if err := p.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != 160 {
		t.Errorf("granted %d, want 160", granted)
	}
	for _, u := range []*RequestPacer{RequestLimiter(0), WindowLimiter(0, 10), {}} {
		if err := u.Wait(context.Background()); err != nil {
			t.Errorf("unlimited pacer: %v", err)
		}
	}
}
