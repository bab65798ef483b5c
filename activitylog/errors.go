package activitylog

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// errorReporter logs what the background work (indexing, pruning) could
// not do: once per kind of work and minute, so a failure that repeats on
// every tick (a full disk, a corrupt page) is seen without flooding the
// log. The work itself retries on its next tick.
type errorReporter struct {
	log   zerolog.Logger
	every time.Duration

	mu   sync.Mutex
	last map[string]time.Time
}

func newErrorReporter() *errorReporter {
	return &errorReporter{log: zerolog.Nop(), every: time.Minute, last: map[string]time.Time{}}
}

// SetLogger sets where the background work's failures are logged
// (default: nowhere).
func (l *Log) SetLogger(log zerolog.Logger) {
	if l != nil {
		l.errs.log = log
	}
}

// report logs err for the work named what, unless the same work was
// reported less than r.every ago (by now).
func (r *errorReporter) report(what string, err error, now time.Time) {
	if err == nil {
		return
	}
	r.mu.Lock()
	if last, ok := r.last[what]; ok && now.Sub(last) < r.every {
		r.mu.Unlock()
		return
	}
	r.last[what] = now
	r.mu.Unlock()
	r.log.Error().Err(err).Str("work", what).Msg("activity log: background work failed; retrying")
}
