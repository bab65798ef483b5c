package connectors

import (
	"context"
	"time"
)

// queueWarning is when a connector's queue deserves a warning in the log:
// a target that is down or too slow shows up before its queue is huge.
type queueWarning struct {
	depth int           // entries
	age   time.Duration // oldest entry
	every time.Duration // how often to look
}

// WithQueueWarning sets the thresholds of the queue warning (default
// 10,000 entries or an oldest entry of 15 minutes, checked every 30 s).
func WithQueueWarning(depth int, age, every time.Duration) Option {
	return func(o *options) { o.warn = queueWarning{depth: depth, age: age, every: every} }
}

// watchQueues logs one warning when a connector's queue crosses a
// threshold and one line when it is back under, so an operator who reads
// logs (not metrics) learns that a target is behind.
func (d *Dispatcher) watchQueues(ctx context.Context) {
	w := d.opts.warn
	if w.every <= 0 {
		return
	}
	behind := map[string]bool{}
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := d.Status()
		if err != nil {
			continue
		}
		for _, s := range st {
			over := s.QueueDepth >= w.depth || time.Duration(s.OldestAge*float64(time.Second)) >= w.age
			switch {
			case over && !behind[s.Name]:
				d.log.Warn().Str("connector", s.Name).Int("queue_depth", s.QueueDepth).Float64("oldest_age_seconds", s.OldestAge).
					Str("last_error", s.LastError).Msg("connector is falling behind: its queue is over the warning threshold")
			case !over && behind[s.Name]:
				d.log.Info().Str("connector", s.Name).Int("queue_depth", s.QueueDepth).Msg("connector caught up: queue back under the warning threshold")
			}
			behind[s.Name] = over
		}
	}
}
