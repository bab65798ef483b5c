package connectors

import (
	"errors"
	"net/http"
	"time"
)

// throttle is a connector's "the target said slow down" state. A 429 is
// about the connector, not about the change that happened to get it: the
// whole connector pauses, for the target's Retry-After when it gives one,
// else for a backoff of its own that starts at min, doubles only while
// 429s keep coming (up to max) and starts over after the first success.
// No entry's retry schedule is involved, so one unlucky change's attempt
// count can never stretch the pause (it used to: up to 5 minutes).
type throttle struct {
	min, max time.Duration
	streak   int       // 429s since the last success
	until    time.Time // no call starts before this
	pauses   []time.Duration
}

// maxPauseLog bounds the pauses kept for tests and status.
const maxPauseLog = 64

// hit records a 429 answered at now and returns when the connector may
// call again. A 429 from a call that was already in flight when an
// earlier 429 paused the connector belongs to the same burst: it extends
// the pause to its Retry-After but does not grow the backoff.
func (t *throttle) hit(now time.Time, retryAfter time.Duration) time.Time {
	paused := now.Before(t.until)
	var d time.Duration
	switch {
	case retryAfter > 0:
		d = retryAfter
	case paused:
		return t.until
	default:
		d = t.min << min(t.streak, 30)
		if d <= 0 || d > t.max {
			d = t.max
		}
	}
	if !paused {
		t.streak++
	}
	if end := now.Add(d); end.After(t.until) {
		t.until = end
	}
	if len(t.pauses) == maxPauseLog {
		t.pauses = t.pauses[1:]
	}
	t.pauses = append(t.pauses, d)
	return t.until
}

// ok records a call the target accepted: the next 429 starts the backoff
// over. A pause already set stays (another worker's 429 may be newer).
func (t *throttle) ok() { t.streak = 0 }

// throttled reports whether err is the target's 429.
func throttled(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusTooManyRequests
}

// PaceMargin is the share of a declared rate that limiters pace at. A
// target counting requests in fixed windows sees each request after a
// varying delay: paced at exactly its limit, one request now and then
// lands in the window before its own and is answered 429 (measured: 3 in
// 100 SCC calls), which costs a pause. 3% under the limit leaves room for
// that jitter; RequestPacer spends it on the requests' transit and on
// late wake-ups of the waiters without letting either crowd a window.
const PaceMargin = 0.97

// RequestLimiter paces single requests at perSecond (less PaceMargin),
// one at a time, counted in windows of one second (WindowLimiter);
// perSecond <= 0 means unlimited. Connectors whose Apply makes several
// requests pace each with it: the dispatcher's limiter counts Apply calls.
func RequestLimiter(perSecond float64) *RequestPacer {
	if perSecond <= 0 {
		return &RequestPacer{}
	}
	return WindowLimiter(secondsWorth(perSecond), perSecond)
}
