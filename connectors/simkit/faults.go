package simkit

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Faults are the fault-injection knobs every simulator takes (embedded in
// its Options), with one meaning everywhere. The zero value injects nothing.
type Faults struct {
	// ErrorRate is the share of resource requests answered with the
	// target's 5xx; ThrottleRate the share answered 429. Both are drawn
	// from a generator seeded with Seed, so a run repeats.
	ErrorRate    float64
	ThrottleRate float64
	Seed         uint64

	// RateLimit resource requests per fixed RateWindow are served; more
	// are answered 429. 0 means unlimited; RateWindow defaults to 1s.
	RateLimit  int
	RateWindow time.Duration

	// RetryAfter, when > 0, puts Retry-After on every rate-limit and
	// throttle 429: the larger of RetryAfter and the time left in the rate
	// window, in whole seconds rounded up. 0 sends none (as most real
	// targets do).
	RetryAfter time.Duration

	// RetryAfterShare, when in (0, 1) and RetryAfter > 0, is the share of
	// those 429s that carry Retry-After (drawn from the generator); the
	// others carry none, as a target that sends it only sometimes. 0 (or
	// >= 1) means every one.
	RetryAfterShare float64
}

// Injector decides which requests fail. It is not safe for concurrent use:
// the simulator's own mutex guards it, as it guards the rest of its state.
type Injector struct {
	opts   Faults
	queue  []Fault
	rng    *rand.Rand
	window RateWindow
}

// NewInjector returns an Injector for f.
func NewInjector(f Faults) *Injector {
	return &Injector{opts: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed)),
		window: RateWindow{Limit: f.RateLimit, Per: f.RateWindow}}
}

// FailNext queues n faults f behind any already queued. Queueing (rather
// than replacing) is the one semantics: two FailNext calls in a row fail
// the next requests with the first fault, then the second.
func (in *Injector) FailNext(f Fault, n int) {
	for range n {
		in.queue = append(in.queue, f)
	}
}

// Queued pops the next fault queued by FailNext (FaultNone when there is
// none). A queued Fault429RetryAfter carries Retry-After: 1.
func (in *Injector) Queued() (Fault, time.Duration) {
	if len(in.queue) == 0 {
		return FaultNone, 0
	}
	f := in.queue[0]
	in.queue = in.queue[1:]
	if f == Fault429RetryAfter {
		return f, time.Second
	}
	return f, 0
}

// Limited counts one request against the rate window at now and reports
// whether it is over the limit, with the Retry-After to send (0: none).
func (in *Injector) Limited(now time.Time) (bool, time.Duration) {
	if over, left := in.window.Take(now); over {
		return true, in.retryAfter(left)
	}
	return false, 0
}

// Random draws the random faults: Fault429 for ThrottleRate (with its
// Retry-After), Fault5xx for ErrorRate, else FaultNone. A rate of 0 draws
// nothing, so adding one knob does not shift another's sequence.
func (in *Injector) Random() (Fault, time.Duration) {
	if in.opts.ThrottleRate > 0 && in.rng.Float64() < in.opts.ThrottleRate {
		return Fault429, in.retryAfter(0)
	}
	if in.opts.ErrorRate > 0 && in.rng.Float64() < in.opts.ErrorRate {
		return Fault5xx, 0
	}
	return FaultNone, 0
}

// Next is the usual order: a queued fault, then the rate window, then the
// random draws. A rate-limit 429 comes back as Fault429.
func (in *Injector) Next(now time.Time) (Fault, time.Duration) {
	if f, ra := in.Queued(); f != FaultNone {
		return f, ra
	}
	if over, ra := in.Limited(now); over {
		return Fault429, ra
	}
	return in.Random()
}

func (in *Injector) retryAfter(left time.Duration) time.Duration {
	if in.opts.RetryAfter <= 0 {
		return 0
	}
	if sh := in.opts.RetryAfterShare; sh > 0 && sh < 1 && in.rng.Float64() >= sh {
		return 0
	}
	return max(in.opts.RetryAfter, left)
}

// SetRetryAfter sets the Retry-After header to d in whole seconds rounded
// up; d <= 0 sets nothing.
func SetRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
}
