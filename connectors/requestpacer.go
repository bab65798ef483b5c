package connectors

import (
	"context"
	"math"
	"time"
)

// RequestPacer paces single requests for a target that counts them in fixed
// windows ("limit requests per window"). Two rules:
//
//   - the schedule: grants are spaced evenly at PaceMargin of the rate
//     (a token bucket with burst 1), from the times they were due, so a
//     waiter that wakes late is caught up by the next one;
//   - the guard: no limit+1 grants within the window plus
//     TransitAllowance, counted on the times the grants actually
//     happened.
//
// Why the guard: the schedule alone is not what the target sees. On a
// loaded machine a waiter's timer fires late while the next one's fires
// on time, so the two bunch; a target window that opens on the late
// request then meets its limit+1st request early and answers 429. That
// was the measured cause of SecureAuth's 429s in the limit benchmark
// (connectors/limitbench): 21 sends within 493 ms of a 500 ms window,
// while the requests' transit to the target varied by well under a
// millisecond. With the guard, of PaceMargin's 3% the target sees
// TransitAllowance (1%) as room for transit jitter, and the other 2% of a
// window absorb late wake-ups at no cost; a wake-up later than that
// delays the request limit grants later by the excess. Safe for
// concurrent use; the zero value does not wait.
type RequestPacer struct {
	limit int           // requests per window; 0: unlimited
	gap   time.Duration // the schedule's spacing
	span  time.Duration // any limit+1 consecutive grants span more than this
	turn  chan struct{} // held by the one waiter whose grant is next (FIFO)
	next  time.Time     // the schedule: the earliest next grant
	sent  []time.Time   // the last limit grants, when they happened (ring)
	at    int           // sent's oldest
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// TransitAllowance is the share of a window the guard adds for the
// requests' transit: from the grant to the target's clock reading, two
// requests' delays may differ by this much (measured on loopback under
// load: p99 2–7 ms, about 1% of a 500 ms window).
const TransitAllowance = 0.01

// WindowLimiter paces requests for a target that allows limit requests
// per limit/perSecond seconds (a rate of perSecond counted in windows of
// limit requests). A window shorter than the target's is safe too (limit
// per window everywhere means at most the rate over any longer window),
// only its margin against transit jitter is smaller in absolute terms.
// limit <= 0 or perSecond <= 0 means unlimited.
func WindowLimiter(limit int, perSecond float64) *RequestPacer {
	if limit <= 0 || perSecond <= 0 {
		return &RequestPacer{}
	}
	gap := time.Duration(float64(time.Second) / (perSecond * PaceMargin))
	window := float64(limit) / perSecond * float64(time.Second)
	span := time.Duration(window * (1 + TransitAllowance))
	return &RequestPacer{limit: limit, gap: gap, span: span, turn: make(chan struct{}, 1),
		sent: make([]time.Time, limit), now: time.Now, sleep: sleepCtx}
}

// Wait blocks until the next request may go, or ctx ends.
func (p *RequestPacer) Wait(ctx context.Context) error {
	if p.limit == 0 {
		return ctx.Err()
	}
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.turn }()
	now := p.now()
	due := p.next
	if oldest := p.sent[p.at]; !oldest.IsZero() {
		due = later(due, oldest.Add(p.span))
	}
	if due.After(now) {
		if err := p.sleep(ctx, due.Sub(now)); err != nil {
			return err
		}
	} else {
		due = now // idle: the schedule starts again from now (burst 1)
	}
	p.sent[p.at] = p.now() // when this request actually goes
	p.at = (p.at + 1) % p.limit
	p.next = due.Add(p.gap) // from the schedule: a late wake-up is caught up
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// secondsWorth is the requests a rate allows in one second, at least 1.
func secondsWorth(perSecond float64) int {
	return max(1, int(math.Ceil(perSecond)))
}
