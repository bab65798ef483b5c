package connectors

import "time"

// Pauses returns the pauses a connector took after 429s, oldest first.
func (d *Dispatcher) Pauses(connector string) []time.Duration {
	l := d.lane(connector)
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.throttle.pauses...)
}
