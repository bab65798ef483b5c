package secureaccess

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// window is one rate limit: at most N requests in any interval of length Per.
type window struct {
	N   int
	Per time.Duration
}

// defaultWindows are the documented limits per API key.
var defaultWindows = []window{{5, time.Second}, {14, time.Minute}, {350, 30 * time.Minute}}

// tokenWindows limit the token endpoint.
var tokenWindows = []window{{20, time.Minute}}

func scaleWindows(ws []window, f float64) []window {
	out := make([]window, len(ws))
	for i, w := range ws {
		out[i] = window{N: w.N, Per: max(time.Duration(float64(w.Per)*f), 1)}
	}
	return out
}

// limiter keeps requests under several sliding windows at once.
//
// It keeps a log of recent requests rather than a token bucket: a bucket
// sized for 14/min lets 28 through in the first minute, and one sized for
// the 30-minute budget lets a burst spend all of it. A request may start
// when, for every window, fewer than N logged requests lie within the last
// Per. Each entry is stamped with the time its answer arrived, which is
// never before the server counted it, so skew between our clock and the
// server's arrival times cannot push a window over.
//
// Once more than a quarter of the longest window's budget is in use,
// requests are also spaced at that window's mean rate (Per/N): a long
// burst then keeps budget for later changes. Flat out at 14/min, 350
// requests would be spent in 25 minutes and followed by a 5-minute stall;
// paced, the longest stall is 1.5 minutes at the same sustained rate
// (TestLimiterSchedule), and the first 87 requests (21,750 users) still go
// at full speed.
//
// After a 429 the limiter holds every request for a backoff that doubles
// with each consecutive 429 (the target sends no Retry-After).
//
// With a state store (attach) the log outlives the process: every request
// is saved before it is sent (see persist and state.go).
type limiter struct {
	windows []window // shortest first
	now     func() time.Time

	mu      sync.Mutex
	log     []time.Time // sorted
	pending []time.Time // reservations in log whose answer has not arrived
	hold    time.Time   // no request before this (429 backoff or Retry-After)
	backoff time.Duration
	minBack time.Duration
	maxBack time.Duration
	seq     uint64 // changes worth saving so far (reservations, holds)

	// Durable copy of the log; save is nil without a state store.
	saveMu sync.Mutex // held from snapshot to Put, so saves land in order
	saved  uint64     // seq covered by the last save; saveMu is held
	save   func([]byte) error
	warn   func(err error, msg string)
}

func newLimiter(ws []window) *limiter {
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b window) int { return int(a.Per - b.Per) })
	return &limiter{
		windows: ws,
		now:     time.Now,
		minBack: ws[0].Per,
		maxBack: ws[len(ws)-1].Per / 10,
	}
}

// earliest is when the next request may start, at or after now. mu is held.
func (l *limiter) earliest(now time.Time) time.Time {
	t := now
	if l.hold.After(t) {
		t = l.hold
	}
	n := len(l.log)
	for _, w := range l.windows {
		if n >= w.N {
			if free := l.log[n-w.N].Add(w.Per); free.After(t) {
				t = free
			}
		}
	}
	if long := l.windows[len(l.windows)-1]; n > 0 && 4*countSince(l.log, t.Add(-long.Per)) > long.N {
		if paced := l.log[n-1].Add(long.Per / time.Duration(long.N)); paced.After(t) {
			t = paced
		}
	}
	return t
}

func countSince(log []time.Time, from time.Time) int {
	i, _ := slices.BinarySearchFunc(log, from, func(t, from time.Time) int {
		if t.After(from) {
			return 1
		}
		return -1
	})
	return len(log) - i
}

// errWait is a wait the caller's deadline cannot cover.
type errWait struct{ wait time.Duration }

func (e errWait) Error() string { return fmt.Sprintf("rate limit: next request slot in %v", e.wait) }

// wait blocks until a request may start and reserves it. Call the returned
// done when the answer (or an error) arrives. It fails at once with errWait
// when ctx's deadline comes before the slot.
func (l *limiter) wait(ctx context.Context) (done func(), err error) { return l.waitFor(ctx, 1) }

func (l *limiter) waitFor(ctx context.Context, share float64) (done func(), err error) {
	for {
		l.mu.Lock()
		now := l.now()
		d := l.earliestShare(now, share).Sub(now)
		if d <= 0 {
			at := now
			seq := l.reserve(at)
			l.mu.Unlock()
			if err := l.persist(seq); err != nil {
				l.release(at)
				return nil, err
			}
			return func() { l.stamp(at) }, nil
		}
		l.mu.Unlock()
		if dl, ok := ctx.Deadline(); ok && dl.Before(now.Add(d)) {
			return nil, errWait{d}
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// waitShare is wait for background requests (a periodic drift check):
// one may start only while every window holds fewer than share of its N
// requests (at least one), so live requests always find the rest of each
// window free.
func (l *limiter) waitShare(ctx context.Context, share float64) (done func(), err error) {
	return l.waitFor(ctx, share)
}

// earliestShare is earliest, and with share < 1 also when every window
// holds fewer than share of its N requests. mu is held.
func (l *limiter) earliestShare(now time.Time, share float64) time.Time {
	t := l.earliest(now)
	if share >= 1 {
		return t
	}
	n := len(l.log)
	for _, w := range l.windows {
		if k := max(1, int(share*float64(w.N))); n >= k {
			if free := l.log[n-k].Add(w.Per); free.After(t) {
				t = free
			}
		}
	}
	return t
}

// reserve logs a request starting at 'at'. mu is held.
func (l *limiter) reserve(at time.Time) (seq uint64) {
	l.log = append(l.log, at)
	l.pending = append(l.pending, at)
	l.seq++
	return l.seq
}

// release takes back a reservation that was never used.
func (l *limiter) release(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = deleteOne(l.pending, at)
	l.log = deleteOne(l.log, at)
}

func deleteOne(ts []time.Time, t time.Time) []time.Time {
	if i := slices.Index(ts, t); i >= 0 {
		return slices.Delete(ts, i, i+1)
	}
	return ts
}

// stamp moves a reservation made at 'at' to now, when its answer arrived,
// and drops entries older than the longest window. The new stamp is saved
// with the next request: until then a restart counts the request from the
// moment it restarts, which is later still.
func (l *limiter) stamp(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.pending = deleteOne(l.pending, at)
	if i := slices.Index(l.log, at); i >= 0 {
		l.log[i] = now
		slices.SortFunc(l.log, time.Time.Compare)
	}
	cut := countSince(l.log, now.Add(-l.windows[len(l.windows)-1].Per))
	l.log = slices.Delete(l.log, 0, len(l.log)-cut)
}

// throttled records a 429 and returns how long requests are held.
// retryAfter, when the target sent one, replaces the backoff.
func (l *limiter) throttled(retryAfter time.Duration) time.Duration {
	d, seq := l.throttle(retryAfter)
	// A hold is worth keeping over a restart, but failing to save it
	// costs at most another 429: warn and go on.
	if err := l.persist(seq); err != nil {
		l.warn(err, "rate limit: could not save the 429 hold")
	}
	return d
}

func (l *limiter) throttle(retryAfter time.Duration) (time.Duration, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := retryAfter
	if d <= 0 {
		l.backoff = min(max(2*l.backoff, l.minBack), l.maxBack)
		// ±20% jitter, so several bridges sharing a key do not retry in step.
		d = time.Duration(float64(l.backoff) * (0.8 + 0.4*rand.Float64()))
	}
	if h := l.now().Add(d); h.After(l.hold) {
		l.hold = h
		l.seq++
	}
	return d, l.seq
}

// ok resets the backoff after a request that was not throttled.
func (l *limiter) ok() {
	l.mu.Lock()
	l.backoff = 0
	l.mu.Unlock()
}
