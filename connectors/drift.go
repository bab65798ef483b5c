package connectors

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/store"
)

// FieldLister is implemented by connectors whose target's list API
// returns each object's fields, so a drift check also finds values
// changed behind the bridge's back (an administrator renaming or
// deactivating a user in the target), not only objects deleted there.
type FieldLister interface {
	// ListFields calls fn with the target id of every object of typ and
	// the fields the target holds for it, under the connector's mapped
	// field names. Fields the connector cannot read back are left out.
	ListFields(ctx context.Context, typ string, fn func(targetID string, fields map[string]any) error) error
}

// FieldDrift is one mapped field whose value in the target differs from
// what SCIM says.
type FieldDrift struct {
	ID     string `json:"id"` // SCIM id
	Field  string `json:"field"`
	Target string `json:"target"`
	SCIM   string `json:"scim"`
}

// maxDriftReported bounds the drifts a result lists (all are counted
// and repaired).
const maxDriftReported = 100

// fieldValue renders a mapped value for comparison: strings trimmed, a
// list's first value, "" for absent.
func fieldValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case []any:
		if len(v) == 0 {
			return ""
		}
		return fieldValue(v[0])
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

// sameField compares a target value with SCIM's: the letter case of an
// identifier (userName, email, authName) is the target's to keep.
func sameField(field string, target, scim any) bool {
	t, s := fieldValue(target), fieldValue(scim)
	if t == s {
		return true
	}
	switch strings.ToLower(field) {
	case "username", "email", "authname", "userid":
		return strings.EqualFold(t, s)
	case "active":
		return isTrue(t) == isTrue(s)
	}
	return false
}

func isTrue(s string) bool { return !strings.EqualFold(s, "false") }

// driftOf lists the fields of one delivered object whose target value
// differs from the fields the bridge delivered (a field the target does
// not report, or SCIM does not map, is not compared).
func driftOf(id string, target, scim map[string]any) []FieldDrift {
	var out []FieldDrift
	for f, tv := range target {
		sv, ok := scim[f]
		if !ok || sameField(f, tv, sv) {
			continue
		}
		out = append(out, FieldDrift{ID: id, Field: f, Target: fieldValue(tv), SCIM: fieldValue(sv)})
	}
	return out
}

// checkFields compares the fields the listing read (target id ->
// fields) with those the bridge delivered (mapped: SCIM id -> target id);
// with repair it queues SCIM's values back through the outbox. The
// mapping's fields are set to what the target holds, so the queued
// upsert's diff sends exactly the fields that drifted.
func (l *lane) checkFields(typ string, mapped map[string]string, listed map[string]map[string]any, repair bool, res *TargetCheckResult) error {
	type seen struct {
		id     string
		target map[string]any
	}
	var found []seen
	for id, tid := range mapped {
		if f, ok := listed[tid]; ok {
			found = append(found, seen{id, f})
		}
	}
	slices.SortFunc(found, func(a, b seen) int { return strings.Compare(a.id, b.id) })
	now := time.Now().UTC()
	return l.d.db.Batch(func(tx *store.Tx) error {
		res.Drifted, res.Fields, res.Repaired = 0, nil, 0 // Batch may run fn again
		for _, s := range found {
			m, err := store.Optional(tx.GetMapping(l.name, typ, s.id))
			if err != nil {
				return err
			}
			// Changed since, on its way, or never acknowledged: its own
			// delivery decides.
			if m == nil || m.Fields == nil || tx.HasPending(l.name, typ, s.id) {
				continue
			}
			d := driftOf(s.id, s.target, m.Fields)
			if len(d) == 0 {
				continue
			}
			res.Drifted++
			for _, x := range d {
				if len(res.Fields) < maxDriftReported {
					res.Fields = append(res.Fields, x)
				}
			}
			if !repair {
				continue
			}
			sh, err := store.Optional(tx.GetShadow(l.name, typ, s.id))
			if err != nil {
				return err
			}
			if sh == nil || !sh.InScope {
				continue
			}
			held := make(map[string]any, len(m.Fields))
			for k, v := range m.Fields {
				held[k] = v
			}
			for _, x := range d {
				held[x.Field] = s.target[x.Field]
			}
			if err := tx.PutMapping(l.name, typ, s.id, store.Mapping{TargetID: m.TargetID, Fields: held}); err != nil {
				return err
			}
			if err := l.append(tx, &store.Entry{Type: typ, ID: s.id, Op: string(OpUpsert), Fields: sh.Fields, EnqueuedAt: now}); err != nil {
				return err
			}
			res.Repaired++
		}
		return nil
	})
}

// OptDriftCheckInterval is the connector option (drift_check_interval,
// a Go duration; unset or 0: off) that runs the drift check of that
// connector periodically. Each connector's Options struct declares it.
const OptDriftCheckInterval = "drift_check_interval"

// driftInterval is the lane's drift_check_interval (0: off).
func (l *lane) driftInterval() time.Duration {
	v := strings.TrimSpace(l.set.Options[OptDriftCheckInterval])
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0 // CheckSettings refuses it at start-up
	}
	return d
}

// checkPeriodically runs the lane's drift check (report only; repair
// stays an administrator's decision) every interval, skipped while
// another check runs. Live traffic comes first: the check's requests are
// background work (background.go), which waits while the connector has
// deliveries in flight or is paused by a 429, and uses at most
// BackgroundShare of its rate limit otherwise.
func (l *lane) checkPeriodically(ctx context.Context, every time.Duration) {
	if _, ok := l.conn.(Lister); !ok {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.d.check.mu.Lock()
		busy := l.d.check.state.Running
		if !busy {
			// The last results stay shown until this check has its own.
			l.d.check.state.Running, l.d.check.state.Repair, l.d.check.state.StartedAt = true, false, time.Now().UTC()
		}
		l.d.check.mu.Unlock()
		if busy {
			continue
		}
		p := NewPacer(l.rate, BackgroundShare, l.liveWork)
		results := l.checkTarget(WithPacer(ctx, p), false)
		l.d.log.Debug().Str("connector", l.name).Int64("requests", p.Granted()).Int64("yielded", p.Yielded()).
			Msg("periodic drift check done")
		l.d.check.mu.Lock()
		l.d.check.state.Running, l.d.check.state.FinishedAt, l.d.check.state.Results = false, time.Now().UTC(), results
		l.d.check.mu.Unlock()
	}
}

// liveWork reports whether the connector has deliveries in flight (a
// worker holds a batch, waiting for the rate limit or for the target)
// or is paused by a 429: background requests wait then.
func (l *lane) liveWork() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.busy > 0 || time.Now().Before(l.throttle.until)
}
