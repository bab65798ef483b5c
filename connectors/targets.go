package connectors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/scimbridge/scimbridge/store"
)

// Drift check: compare what a target holds (Lister) with what the bridge
// delivered there (the id mappings). A resource delivered but gone from
// the target (deleted by an administrator behind the bridge's back) is
// "missing"; with repair, its mapping is dropped and its current state
// queued again, so the connector creates it anew (a group with all its
// members, a user rejoining its groups). Target objects no mapping names
// are only counted: other tools may own them.
//
// Listing can take minutes against a target with a strict rate limit
// (Secure Access: 14 requests a minute), so a check runs in the
// background; TargetCheck reports its progress and result.

// TargetCheckResult is what a check found for one connector and type.
type TargetCheckResult struct {
	Connector     string   `json:"connector"`
	Type          string   `json:"type"`
	Listed        int      `json:"listed"`                  // objects the target holds
	Mapped        int      `json:"mapped"`                  // resources the bridge delivered there
	Missing       []string `json:"missing,omitempty"`       // SCIM ids delivered but gone from the target
	Requeued      int      `json:"requeued"`                // missing resources queued again (repair)
	Unknown       int      `json:"unknown"`                 // target objects no mapping names
	UnknownSample []string `json:"unknownSample,omitempty"` // up to 20 of their target ids
	// Field drift (connectors that are FieldListers): objects whose
	// mapped fields differ in the target, up to 100 of the differences,
	// and the objects queued again with SCIM's values (repair).
	Drifted  int          `json:"drifted"`
	Fields   []FieldDrift `json:"fields,omitempty"`
	Repaired int          `json:"repaired"`
	Error    string       `json:"error,omitempty"`
}

// TargetCheck is the state of the latest drift check.
type TargetCheck struct {
	Running    bool                `json:"running"`
	Repair     bool                `json:"repair"`
	StartedAt  time.Time           `json:"startedAt,omitzero"`
	FinishedAt time.Time           `json:"finishedAt,omitzero"`
	Results    []TargetCheckResult `json:"results"`
}

// ErrCheckRunning is returned when a drift check is already running.
var ErrCheckRunning = errors.New("a target check is already running")

// ErrCannotList is returned for a connector whose target cannot list.
var ErrCannotList = errors.New("this connector's target cannot list what it holds")

// StartTargetCheck starts a drift check of the named connectors (all that
// can list, when names is empty) in the background.
func (d *Dispatcher) StartTargetCheck(names []string, repair bool) error {
	var lanes []*lane
	if len(names) == 0 {
		for _, l := range d.lanes {
			if _, ok := l.conn.(Lister); ok {
				lanes = append(lanes, l)
			}
		}
	}
	for _, n := range names {
		l := d.lane(n)
		if l == nil {
			return fmt.Errorf("connector %q: %w", n, ErrNotFound)
		}
		if _, ok := l.conn.(Lister); !ok {
			return fmt.Errorf("connector %q: %w", n, ErrCannotList)
		}
		lanes = append(lanes, l)
	}
	d.check.mu.Lock()
	defer d.check.mu.Unlock()
	if d.check.state.Running {
		return ErrCheckRunning
	}
	d.check.state = TargetCheck{Running: true, Repair: repair, StartedAt: time.Now().UTC(), Results: []TargetCheckResult{}}
	go func() {
		var results []TargetCheckResult
		for _, l := range lanes {
			results = append(results, l.checkTarget(context.Background(), repair)...)
		}
		d.check.mu.Lock()
		d.check.state.Running = false
		d.check.state.FinishedAt = time.Now().UTC()
		d.check.state.Results = results
		d.check.mu.Unlock()
	}()
	return nil
}

// TargetCheck returns the state of the latest drift check.
func (d *Dispatcher) TargetCheck() TargetCheck {
	d.check.mu.Lock()
	defer d.check.mu.Unlock()
	return d.check.state
}

// checkTarget compares the connector's mappings with its target's
// listings, groups then users, and repairs in one transaction: a
// re-created group then waits for its re-created members, whose new ids
// it must carry.
func (l *lane) checkTarget(ctx context.Context, repair bool) []TargetCheckResult {
	types := []string{Group, User}
	results := make([]TargetCheckResult, len(types))
	failed := func(err error) []TargetCheckResult {
		for i := range results {
			results[i].Error = err.Error()
		}
		l.d.log.Warn().Str("connector", l.name).Err(err).Msg("target check failed")
		return results
	}
	// Mappings taken before listing: a resource delivered while the
	// listing runs may be missing from it without being gone.
	before := make([]map[string]string, len(types)) // SCIM id -> target id
	held := make([]map[string]bool, len(types))
	for i, typ := range types {
		results[i] = TargetCheckResult{Connector: l.name, Type: typ}
		before[i], held[i] = map[string]string{}, map[string]bool{}
		err := l.d.db.View(func(tx *store.Tx) error {
			return tx.EachMapping(l.name, typ, func(id string, m store.Mapping) bool {
				if m.TargetID != "" {
					before[i][id] = m.TargetID
				}
				return true
			})
		})
		if err != nil {
			return failed(err)
		}
	}
	mappedIDs := make([]map[string]bool, len(types))
	for i := range types {
		mappedIDs[i] = make(map[string]bool, len(before[i]))
		for _, tid := range before[i] {
			mappedIDs[i][tid] = true
		}
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout(ctx))
	defer cancel()
	// A FieldLister's listing carries each object's fields: one listing
	// serves both checks (Secure Access lists 14 pages a minute).
	fl, withFields := l.conn.(FieldLister)
	fields := make([]map[string]map[string]any, len(types)) // target id -> fields
	list := func(i int, seen map[string]bool) error {
		if withFields {
			if fields[i] == nil {
				fields[i] = map[string]map[string]any{}
			}
			return fl.ListFields(ctx, types[i], func(targetID string, f map[string]any) error {
				seen[targetID] = true
				if _, mapped := mappedIDs[i][targetID]; mapped {
					fields[i][targetID] = f
				}
				return nil
			})
		}
		return l.conn.(Lister).List(ctx, types[i], func(targetID string) error {
			seen[targetID] = true
			return nil
		})
	}
	for i, typ := range types {
		if err := list(i, held[i]); err != nil {
			return failed(fmt.Errorf("list %ss: %w", typ, err))
		}
		results[i].Listed, results[i].Mapped = len(held[i]), len(before[i])
		// Targets page by position without a snapshot: an object created or
		// deleted meanwhile can hide another one from a listing. When some
		// delivered object seems gone, list again; only what both listings
		// lack is missing.
		for _, tid := range before[i] {
			if !held[i][tid] {
				if err := list(i, held[i]); err != nil {
					return failed(fmt.Errorf("list %ss again: %w", typ, err))
				}
				break
			}
		}
	}
	now := time.Now().UTC()
	err := l.d.db.Batch(func(tx *store.Tx) error {
		for i, typ := range types {
			res := &results[i]
			res.Missing, res.Requeued, res.Unknown, res.UnknownSample = nil, 0, 0, nil // Batch may run fn again
			for id, tid := range before[i] {
				if held[i][tid] {
					continue
				}
				sh, err := l.stillMissing(tx, typ, id, tid)
				if err != nil {
					return err
				}
				if sh == nil {
					continue
				}
				res.Missing = append(res.Missing, id)
				if err := l.logDrift(tx, typ, id, tid, repair); err != nil {
					return err
				}
				if !repair {
					continue
				}
				if err := l.requeue(tx, typ, id, sh, now); err != nil {
					return err
				}
				res.Requeued++
			}
			slices.Sort(res.Missing)
			for tid := range held[i] {
				if tx.SCIMID(l.name, typ, tid) == "" {
					res.Unknown++
					if len(res.UnknownSample) < 20 {
						res.UnknownSample = append(res.UnknownSample, tid)
					}
				}
			}
			slices.Sort(res.UnknownSample)
		}
		return nil
	})
	if err != nil {
		return failed(err)
	}
	if withFields {
		for i, typ := range types {
			if err := l.checkFields(typ, before[i], fields[i], repair, &results[i]); err != nil {
				results[i].Error = err.Error()
			}
		}
	}
	for _, res := range results {
		if res.Drifted > 0 {
			l.d.log.Warn().Str("connector", l.name).Str("type", res.Type).Int("drifted", res.Drifted).Bool("repair", repair).
				Msg("fields changed in the target behind the bridge's back")
		}
		if len(res.Missing) > 0 {
			l.d.log.Warn().Str("connector", l.name).Str("type", res.Type).Int("missing", len(res.Missing)).Bool("repair", repair).
				Msg("resources delivered to the target are gone from it")
		}
	}
	return results
}

// checkTimeout bounds a check: an hour, or a day for a periodic check,
// whose listing yields to deliveries and takes at most BackgroundShare of
// the rate (Secure Access: 2 pages a minute, 30,000 registrations an hour).
func checkTimeout(ctx context.Context) time.Duration {
	if Background(ctx) != nil {
		return 24 * time.Hour
	}
	return time.Hour
}

// requeue drops a missing resource's mapping and queues its current
// state, so the connector creates it again: a group with every member it
// has, a user followed by its memberships.
func (l *lane) requeue(tx *store.Tx, typ, id string, sh *store.Shadow, now time.Time) error {
	if err := tx.DeleteMapping(l.name, typ, id); err != nil {
		return err
	}
	e := &store.Entry{Type: typ, ID: id, Op: string(OpUpsert), Fields: sh.Fields, EnqueuedAt: now}
	if typ == Group {
		ids, err := tx.MemberIDs(id)
		if err != nil {
			return err
		}
		e.MembersAdded = ids
	}
	if err := l.append(tx, e); err != nil {
		return err
	}
	if typ == User {
		return l.joinGroups(tx, id, now)
	}
	return nil
}

// stillMissing returns the shadow of an object found missing from the
// target (delivered to it as targetID) if it is still a finding in tx,
// and nil if it is not: its mapping changed since, a change of it is on
// its way, or it is out of scope (its own delivery decides then).
func (l *lane) stillMissing(tx *store.Tx, typ, id, targetID string) (*store.Shadow, error) {
	m, err := store.Optional(tx.GetMapping(l.name, typ, id))
	if err != nil {
		return nil, err
	}
	sh, err := store.Optional(tx.GetShadow(l.name, typ, id))
	if err != nil {
		return nil, err
	}
	if m == nil || m.TargetID != targetID || tx.HasPending(l.name, typ, id) || sh == nil || !sh.InScope {
		return nil, nil
	}
	return sh, nil
}
