package connectors

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/store"
)

// Status is one connector's delivery state, as the admin API shows it.
type Status struct {
	Name          string    `json:"name"`
	Type          string    `json:"type,omitempty"`
	Sync          bool      `json:"sync"`
	QueueDepth    int       `json:"queueDepth"`
	OldestAge     float64   `json:"oldestAgeSeconds"`
	InFlight      int       `json:"inFlight"`
	DeadLetters   int       `json:"deadLetters"`
	Unsupported   int       `json:"unsupported"` // changes recorded as unsupported since start
	LastSuccess   time.Time `json:"lastSuccess,omitzero"`
	LastError     string    `json:"lastError,omitempty"`
	LastErrorAt   time.Time `json:"lastErrorAt,omitzero"`
	PausedUntil   time.Time `json:"pausedUntil,omitzero"`
	BatchSize     int       `json:"batchSize"`
	RateLimit     float64   `json:"rateLimit"` // calls per second, 0 = unlimited
	Concurrency   int       `json:"concurrency"`
	OldestEntryAt time.Time `json:"oldestEntryAt,omitzero"`
	Warnings      []string  `json:"warnings,omitempty"` // from the connector (Warner)
}

// Status returns every connector's status.
func (d *Dispatcher) Status() ([]Status, error) {
	now := time.Now()
	out := make([]Status, 0, len(d.lanes))
	err := d.db.View(func(tx *store.Tx) error {
		for _, l := range d.lanes {
			depth, oldest, err := tx.QueueStats(l.name)
			if err != nil {
				return err
			}
			s := Status{Name: l.name, Type: l.typ, Sync: l.set.Sync, QueueDepth: depth, OldestEntryAt: oldest,
				DeadLetters: tx.DeadLetterCount(l.name), BatchSize: l.batch, Concurrency: l.workers}
			if !oldest.IsZero() {
				s.OldestAge = now.Sub(oldest).Seconds()
			}
			s.RateLimit = l.rate
			l.mu.Lock()
			s.InFlight, s.Unsupported = len(l.inflight), l.unsupported
			s.LastSuccess, s.LastError, s.LastErrorAt = l.lastSuccess, l.lastError, l.lastErrorAt
			if l.throttle.until.After(now) {
				s.PausedUntil = l.throttle.until
			}
			l.mu.Unlock()
			out = append(out, s)
		}
		return nil
	})
	// Outside the transaction: a connector answers from its own locks,
	// which must never be held while a store transaction waits on them.
	for i, l := range d.lanes {
		if w, ok := l.conn.(Warner); ok && i < len(out) {
			out[i].Warnings = w.Warnings()
		}
	}
	return out, err
}

// DeadLetters lists a connector's dead letters, oldest first.
func (d *Dispatcher) DeadLetters(connector string) ([]store.DeadLetter, error) {
	if d.lane(connector) == nil {
		return nil, fmt.Errorf("connector %q: %w", connector, ErrNotFound)
	}
	out := []store.DeadLetter{}
	err := d.db.View(func(tx *store.Tx) error {
		return tx.DeadLetters(connector, func(dl *store.DeadLetter) error {
			out = append(out, *dl)
			return nil
		})
	})
	return out, err
}

// DiscardDeadLetter deletes a dead letter: the target stays as it is.
func (d *Dispatcher) DiscardDeadLetter(connector string, id uint64) error {
	if d.lane(connector) == nil {
		return fmt.Errorf("connector %q: %w", connector, ErrNotFound)
	}
	return d.db.Update(func(tx *store.Tx) error {
		dl, err := store.Optional(tx.GetDeadLetter(connector, id))
		if err != nil {
			return err
		}
		if dl == nil {
			return fmt.Errorf("dead letter %d: %w", id, ErrNotFound)
		}
		if err := d.lane(connector).logOperator(tx, activity.KindDiscarded, dl, "dead letter "+strconv.FormatUint(id, 10)+" discarded: "+dl.Reason); err != nil {
			return err
		}
		return tx.DeleteDeadLetter(connector, id)
	})
}

// RetryDeadLetter queues a dead letter again. It sends the resource's
// current state (from the shadow), not the stale one it failed with, so a
// retry never undoes a later write; a member failure re-sends that member.
func (d *Dispatcher) RetryDeadLetter(connector string, id uint64) error {
	l := d.lane(connector)
	if l == nil {
		return fmt.Errorf("connector %q: %w", connector, ErrNotFound)
	}
	return d.db.Update(func(tx *store.Tx) error {
		dl, err := store.Optional(tx.GetDeadLetter(connector, id))
		if err != nil {
			return err
		}
		if dl == nil {
			return fmt.Errorf("dead letter %d: %w", id, ErrNotFound)
		}
		if err := tx.DeleteDeadLetter(connector, id); err != nil {
			return err
		}
		if err := l.logOperator(tx, activity.KindRetried, dl, "dead letter "+strconv.FormatUint(id, 10)+" retried"); err != nil {
			return err
		}
		sh, err := store.Optional(tx.GetShadow(connector, dl.Type, dl.SCIMID))
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		if sh == nil || !sh.InScope {
			if dl.Op != string(OpDelete) {
				return nil // deleted or out of scope since: its delete is queued or done
			}
			var prev map[string]any
			for _, e := range dl.Entries {
				if e.Prev != nil {
					prev = e.Prev
				}
			}
			return l.append(tx, &store.Entry{Type: dl.Type, ID: dl.SCIMID, Op: string(OpDelete), Prev: prev, EnqueuedAt: now})
		}
		e := &store.Entry{Type: dl.Type, ID: dl.SCIMID, Op: string(OpUpsert), Fields: sh.Fields, Prev: sh.Fields, EnqueuedAt: now}
		// The members the failed change named are sent as they are now,
		// not as they were: a member added then, and removed since, is
		// removed (re-sending the old add would leave the target wrong).
		seen := map[string]bool{}
		for _, q := range dl.Entries {
			for _, m := range append(slices.Clone(q.MembersAdded), q.MembersRemoved...) {
				if seen[m] || (dl.Member != "" && dl.Member != m) {
					continue
				}
				seen[m] = true
				if dl.Type == store.TypeGroup && tx.IsMember(dl.SCIMID, m) {
					e.MembersAdded = append(e.MembersAdded, m)
				} else {
					e.MembersRemoved = append(e.MembersRemoved, m)
				}
			}
		}
		return l.append(tx, e)
	})
}

// TargetIDs returns the resource's target id in every connector that has one.
func (d *Dispatcher) TargetIDs(typ, id string) (map[string]string, error) {
	out := map[string]string{}
	err := d.db.View(func(tx *store.Tx) error {
		for _, l := range d.lanes {
			m, err := store.Optional(tx.GetMapping(l.name, typ, id))
			if err != nil {
				return err
			}
			if m != nil {
				out[l.name] = m.TargetID
			}
		}
		return nil
	})
	return out, err
}
