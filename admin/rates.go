package admin

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Rates counts each connector's deliveries and failures per minute over
// the last hour, for the overview's sparklines. It samples the
// dispatcher's own counter (scimbridge_deliveries_total{connector,outcome})
// from the metrics registry rather than hooking into deliveries, so it
// costs nothing on the delivery path: a sample is one Gather.
type Rates struct {
	g prometheus.Gatherer

	mu   sync.Mutex
	last map[[2]string]float64 // {connector, outcome} -> total at the last sample
	ring map[string]*[60]minute
}

type minute struct {
	at                int64 // unix minute the slot holds
	delivered, failed int
}

// deliveriesMetric is the counter Rates reads; a label pair first seen
// counts from zero, which is right as long as Rates lives as long as the
// process (the counter's series appear on their first increment).
const deliveriesMetric = "scimbridge_deliveries_total"

// NewRates samples g.
func NewRates(g prometheus.Gatherer) *Rates {
	return &Rates{g: g, last: map[[2]string]float64{}, ring: map[string]*[60]minute{}}
}

// Run samples every interval until ctx ends, so a minute with no page
// open is still counted in its own minute.
func (r *Rates) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.Sample(now)
		}
	}
}

// Sample adds what the counters gained since the last sample to now's minute.
func (r *Rates) Sample(now time.Time) {
	fams, err := r.g.Gather()
	if err != nil && len(fams) == 0 {
		return
	}
	at := now.Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range fams {
		if f.GetName() != deliveriesMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			var conn, outcome string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "connector":
					conn = l.GetValue()
				case "outcome":
					outcome = l.GetValue()
				}
			}
			total := m.GetCounter().GetValue()
			k := [2]string{conn, outcome}
			delta := total - r.last[k]
			if delta < 0 { // a reset: count from zero
				delta = total
			}
			r.last[k] = total
			if delta == 0 {
				continue
			}
			s := r.slot(conn, at)
			switch outcome {
			case "delivered", "noop":
				s.delivered += int(delta)
			case "retry", "dead":
				s.failed += int(delta)
			}
		}
	}
}

// slot is the connector's slot for minute at, emptied if it held an older
// minute; r.mu held.
func (r *Rates) slot(conn string, at int64) *minute {
	ring := r.ring[conn]
	if ring == nil {
		ring = new([60]minute)
		r.ring[conn] = ring
	}
	s := &ring[at%60]
	if s.at != at {
		*s = minute{at: at}
	}
	return s
}

// LastHour returns the connector's deliveries and failures in each of the
// 60 minutes up to now's, oldest first.
func (r *Rates) LastHour(conn string, now time.Time) (delivered, failed []int) {
	delivered, failed = make([]int, 60), make([]int, 60)
	at := now.Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	ring := r.ring[conn]
	if ring == nil {
		return delivered, failed
	}
	for i := range 60 {
		m := at - 59 + int64(i)
		if m < 0 {
			continue
		}
		if s := ring[m%60]; s.at == m {
			delivered[i], failed[i] = s.delivered, s.failed
		}
	}
	return delivered, failed
}
