package simkit

import "time"

// RateWindow is a fixed-window rate limit: Limit requests per Per, the
// window starting at the first request after the last one ended. Limit 0
// means unlimited; Per defaults to one second. Not safe for concurrent use.
type RateWindow struct {
	Limit int
	Per   time.Duration

	start time.Time
	count int
}

// Take counts one request at now. It reports whether the request is over
// the limit and, if so, how long is left in the window.
func (w *RateWindow) Take(now time.Time) (over bool, left time.Duration) {
	if w.Limit <= 0 {
		return false, 0
	}
	per := w.Per
	if per <= 0 {
		per = time.Second
	}
	if now.Sub(w.start) >= per {
		w.start, w.count = now, 0
	}
	w.count++
	if w.count <= w.Limit {
		return false, 0
	}
	return true, per - now.Sub(w.start)
}
