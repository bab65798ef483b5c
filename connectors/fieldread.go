package connectors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/store"
)

// Field check of one resource (the console's lookup page, POST
// /admin/resources/{type}/{id}/check-fields): what check-targets does for
// every object, done for one, by reading that object alone from each
// target whose connector can (a FieldReader).

// FieldReader is implemented by connectors whose target can read one
// object by its id.
type FieldReader interface {
	// ReadFields answers the fields the target holds for the object of
	// typ with targetID, under the connector's mapped field names (as
	// FieldLister.ListFields reads them back), in one request through the
	// connector's own calls (auth, rate limit, classification). An object
	// the target does not hold is an error wrapping ErrTargetGone.
	ReadFields(ctx context.Context, typ, targetID string) (map[string]any, error)
}

// ErrTargetGone is what ReadFields answers for an object the target no
// longer holds.
var ErrTargetGone = errors.New("the target no longer holds it")

// States of a FieldCheck.
const (
	FieldsInSync       = "in sync"
	FieldsDrifted      = "drifted"
	FieldsMissing      = "missing"       // delivered, but gone from the target
	FieldsQueued       = "queued"        // a change is on its way: its delivery decides
	FieldsNotDelivered = "not delivered" // the target has never acknowledged it
	FieldsOutOfScope   = "out of scope"
	FieldsUnavailable  = "not available" // the connector cannot read one object
	FieldsError        = "error"
)

// FieldCheck is what a field check found for one resource in one connector.
type FieldCheck struct {
	Connector string       `json:"connector"`
	State     string       `json:"state"`
	TargetID  string       `json:"targetId,omitempty"`
	Fields    []FieldDrift `json:"fields,omitempty"` // drifted: field, target value, SCIM value
	// Repaired says SCIM's values (or, for a missing object, the whole
	// resource) were queued again through the outbox.
	Repaired bool   `json:"repaired"`
	Message  string `json:"message,omitempty"` // why not available, or the error
}

// fieldReads holds the lanes reading a field now: one read per connector
// at a time, so an operator clicking "Check fields" again and again
// spends at most one request of the target's budget at once.
var fieldReads sync.Map // *lane -> struct{}

// maxFieldRead bounds one field read, the wait for its rate slot
// included (less when the connector's own timeout is shorter): the
// operator waits for it, well inside server.write_timeout's default 60 s.
const maxFieldRead = 20 * time.Second

// CheckFields reads the resource typ/id from every connector's target
// that can read one object and compares its mapped fields with what the
// bridge delivered, with the rules of check-targets (identifiers in any
// letter case, active as a boolean). With repair, a drifted object gets
// SCIM's values queued again exactly as `check-targets --repair` queues
// them (the same transaction), and a missing one is queued again to be
// re-created. The check and what it found are recorded in the activity
// log under the resource, as an operator's action.
func (d *Dispatcher) CheckFields(ctx context.Context, typ, id string, repair bool) ([]FieldCheck, error) {
	if typ != User && typ != Group {
		return nil, fmt.Errorf("type %q: %w", typ, ErrNotFound)
	}
	out := make([]FieldCheck, len(d.lanes))
	var wg sync.WaitGroup
	for i, l := range d.lanes {
		wg.Go(func() { out[i] = l.checkOne(ctx, typ, id, repair) })
	}
	wg.Wait()
	if d.opts.activity == nil {
		return out, nil
	}
	err := d.db.Update(func(tx *store.Tx) error { return d.logFieldCheck(tx, typ, id, repair, out) })
	return out, err
}

// checkOne is one connector's part of CheckFields.
func (l *lane) checkOne(ctx context.Context, typ, id string, repair bool) FieldCheck {
	fc := FieldCheck{Connector: l.name}
	var m *store.Mapping
	var sh *store.Shadow
	var pending bool
	if err := l.d.db.View(func(tx *store.Tx) error {
		var err error
		if m, err = store.Optional(tx.GetMapping(l.name, typ, id)); err != nil {
			return err
		}
		sh, err = store.Optional(tx.GetShadow(l.name, typ, id))
		pending = tx.HasPending(l.name, typ, id)
		return err
	}); err != nil {
		fc.State, fc.Message = FieldsError, err.Error()
		return fc
	}
	if m != nil {
		fc.TargetID = m.TargetID
	}
	reader, canRead := l.conn.(FieldReader)
	switch {
	case pending:
		fc.State, fc.Message = FieldsQueued, "a change is on its way to the target: its delivery decides"
		return fc
	case sh != nil && !sh.InScope:
		fc.State = FieldsOutOfScope
		return fc
	case m == nil || m.TargetID == "" || m.Fields == nil:
		fc.State = FieldsNotDelivered
		return fc
	case !canRead:
		fc.State, fc.Message = FieldsUnavailable, "field check not available for "+l.name+": its target cannot read one object"
		if _, ok := l.conn.(FieldLister); ok {
			fc.Message += " (check-targets compares every object's fields)"
		}
		return fc
	}
	target, err := l.readFields(ctx, reader, typ, m.TargetID)
	switch {
	case errors.Is(err, ErrTargetGone):
		fc.State = FieldsMissing
		fc.Message = "delivered, but gone from the target"
		fc.Repaired, err = l.repairMissing(typ, id, m.TargetID, repair)
		if err != nil {
			fc.State, fc.Message = FieldsError, err.Error()
		}
		return fc
	case err != nil:
		fc.State, fc.Message = FieldsError, err.Error()
		return fc
	}
	// The comparison and the repair are check-targets' own, for one object.
	res := TargetCheckResult{Connector: l.name, Type: typ}
	if err := l.checkFields(typ, map[string]string{id: m.TargetID}, map[string]map[string]any{m.TargetID: target}, repair, &res); err != nil {
		fc.State, fc.Message = FieldsError, err.Error()
		return fc
	}
	switch {
	case res.Drifted > 0:
		// SCIM's value is the one delivered: SCIM's own while nothing is queued.
		fc.State, fc.Fields, fc.Repaired = FieldsDrifted, res.Fields, res.Repaired > 0
		slices.SortFunc(fc.Fields, func(a, b FieldDrift) int { return strings.Compare(a.Field, b.Field) })
	case len(driftOf(id, target, m.Fields)) > 0:
		// Drifted when read, but a change was queued meanwhile.
		fc.State, fc.Message = FieldsQueued, "a change is on its way to the target: its delivery decides"
	default:
		fc.State = FieldsInSync
	}
	return fc
}

// readFields makes the one read, within the connector's budget: not
// while a 429 pauses the connector, one at a time per connector, after a
// slot of the lane's rate limiter (the one deliveries wait for) and
// through the connector's own calls. A 429 pauses the lane as a
// delivery's would.
func (l *lane) readFields(ctx context.Context, r FieldReader, typ, targetID string) (map[string]any, error) {
	l.mu.Lock()
	until := l.throttle.until
	l.mu.Unlock()
	if time.Now().Before(until) {
		return nil, fmt.Errorf("the target asked the bridge to slow down (429): try again after %s", until.UTC().Format(time.TimeOnly+"Z"))
	}
	if _, busy := fieldReads.LoadOrStore(l, struct{}{}); busy {
		return nil, errors.New("another field check of this connector is reading from its target: try again in a moment")
	}
	defer fieldReads.Delete(l)
	wait := min(l.timeout, maxFieldRead)
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := l.limiter.Wait(ctx); err != nil {
		return nil, fmt.Errorf("no request left in the connector's rate budget within %s: try again later", wait)
	}
	f, err := r.ReadFields(ctx, typ, targetID)
	if throttled(err) {
		var e *Error
		errors.As(err, &e)
		l.mu.Lock()
		l.throttle.hit(time.Now(), e.RetryAfter)
		l.mu.Unlock()
	}
	if err != nil && !errors.Is(err, ErrTargetGone) {
		return nil, fmt.Errorf("reading %s %s: %w", strings.ToLower(typ), targetID, err)
	}
	return f, err
}

// repairMissing records a delivered object gone from the target and, with
// repair, queues it again to be re-created, as check-targets does (the
// same guards: changed since, queued, or out of scope is not a finding).
func (l *lane) repairMissing(typ, id, targetID string, repair bool) (bool, error) {
	repaired := false
	err := l.d.db.Batch(func(tx *store.Tx) error {
		repaired = false // Batch may run fn again
		sh, err := l.stillMissing(tx, typ, id, targetID)
		if err != nil || sh == nil {
			return err
		}
		if err := l.logDrift(tx, typ, id, targetID, repair); err != nil {
			return err
		}
		if !repair {
			return nil
		}
		repaired = true
		return l.requeue(tx, typ, id, sh, time.Now().UTC())
	})
	return repaired, err
}

// logFieldCheck records the check in the resource's timeline: one
// operator event summing every connector up, and per drifted connector a
// drift event (and a repaired one) naming the fields. Values stay out of
// the log (the activity log's redaction and erasure rules cover
// attributes, not free text).
func (d *Dispatcher) logFieldCheck(tx *store.Tx, typ, id string, repair bool, checks []FieldCheck) error {
	log := d.opts.activity
	op, what := "check-fields", "field check: "
	if repair {
		op, what = "repair-fields", "field check with repair: "
	}
	var parts []string
	for _, c := range checks {
		s := c.Connector + ": " + c.State
		if len(c.Fields) > 0 {
			s += " (" + fieldNames(c.Fields) + ")"
		}
		if c.Repaired {
			s += ", repair queued"
		}
		parts = append(parts, s)
		if c.State != FieldsDrifted {
			continue // missing: repairMissing recorded it with the repair
		}
		ev := activity.Event{Kind: activity.KindDrift, Outcome: activity.OutcomeFailed, Client: Operator, Connector: c.Connector,
			Type: typ, ID: id, TargetID: c.TargetID, Detail: "changed in the target behind the bridge's back: " + fieldNames(c.Fields)}
		if err := log.Append(tx, ev); err != nil {
			return err
		}
		if c.Repaired {
			ev := activity.Event{Kind: activity.KindRepaired, Outcome: activity.OutcomeOK, Client: Operator, Connector: c.Connector,
				Type: typ, ID: id, Detail: "SCIM's values queued again: " + fieldNames(c.Fields)}
			if err := log.Append(tx, ev); err != nil {
				return err
			}
		}
	}
	return log.Append(tx, activity.Event{Kind: activity.KindOperator, Outcome: activity.OutcomeOK, Client: Operator, Type: typ, ID: id,
		Op: op, Detail: what + strings.Join(parts, "; ")})
}

func fieldNames(fs []FieldDrift) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Field
	}
	return strings.Join(names, ", ")
}
