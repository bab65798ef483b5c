package connectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/store"
)

// Enqueue implements store.Sink: inside the write's transaction it appends
// one queue entry per connector that owes the target something. It
// compares the write with the connector's shadow (what the queue last
// promised the target), so a write that changes none of a connector's
// mapped fields, scope or members costs that connector nothing, and a
// resource leaving scope becomes a delete.
func (d *Dispatcher) Enqueue(tx *store.Tx, c store.Change) error {
	for _, l := range d.lanes {
		if err := l.enqueue(tx, c.Type, c.ID, c.After, c.MembersAdded, c.MembersRemoved); err != nil {
			return fmt.Errorf("connector %s: %w", l.name, err)
		}
	}
	return nil
}

func (l *lane) enqueue(tx *store.Tx, typ, id string, after map[string]any, added, removed []string) error {
	sh, err := store.Optional(tx.GetShadow(l.name, typ, id))
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if after == nil { // deleted
		if sh == nil || !sh.InScope {
			return tx.DeleteShadow(l.name, typ, id)
		}
		if err := l.append(tx, &store.Entry{Type: typ, ID: id, Op: string(OpDelete), Prev: sh.Fields, EnqueuedAt: now}); err != nil {
			return err
		}
		return tx.DeleteShadow(l.name, typ, id)
	}
	if l.mapper != nil && !l.mapper.InScope(typ, after) {
		if sh == nil || !sh.InScope {
			return nil
		}
		if err := l.append(tx, &store.Entry{Type: typ, ID: id, Op: string(OpDelete), Prev: sh.Fields, LeftScope: true, EnqueuedAt: now}); err != nil {
			return err
		}
		return tx.PutShadow(l.name, typ, id, store.Shadow{InScope: false})
	}
	fields, err := l.mapFields(typ, after)
	if err != nil {
		// A resource this connector cannot map must not block the IdP's
		// write: it becomes a dead letter naming the mapping error.
		if err := l.event(tx, activity.Event{Kind: activity.KindDead, Outcome: activity.OutcomeFailed, Type: typ, ID: id,
			Op: string(OpUpsert), Detail: "mapping: " + err.Error()}); err != nil {
			return err
		}
		return tx.PutDeadLetter(l.name, &store.DeadLetter{Type: typ, SCIMID: id, Op: string(OpUpsert),
			Class: Permanent.String(), Reason: "mapping: " + err.Error(), At: now})
	}
	entering := sh == nil || !sh.InScope
	if !entering && len(added) == 0 && len(removed) == 0 && sameJSON(sh.Fields, fields) {
		return nil // nothing this connector sees changed
	}
	if entering && typ == store.TypeGroup {
		// A group entering scope takes all its current members with it,
		// not only this write's delta.
		ids, err := tx.MemberIDs(id)
		if err != nil {
			return err
		}
		added = union(added, ids)
	}
	e := &store.Entry{Type: typ, ID: id, Op: string(OpUpsert), Fields: fields, MembersAdded: added, MembersRemoved: removed, EnqueuedAt: now}
	if sh != nil {
		e.Prev = sh.Fields
	}
	if err := l.append(tx, e); err != nil {
		return err
	}
	if err := tx.PutShadow(l.name, typ, id, store.Shadow{InScope: true, Fields: fields}); err != nil {
		return err
	}
	if entering && typ == store.TypeUser {
		return l.joinGroups(tx, id, now)
	}
	return nil
}

// joinGroups gives a user entering scope its memberships in the groups the
// target already has (their member adds skipped it while it was out of
// scope). The group entries follow the user's, so they wait for its create.
func (l *lane) joinGroups(tx *store.Tx, userID string, now time.Time) error {
	groups, err := tx.GroupsOf(userID)
	if err != nil {
		return err
	}
	for _, g := range groups {
		gs, err := store.Optional(tx.GetShadow(l.name, store.TypeGroup, g))
		if err != nil {
			return err
		}
		if gs == nil || !gs.InScope {
			continue
		}
		e := &store.Entry{Type: store.TypeGroup, ID: g, Op: string(OpUpsert), Fields: gs.Fields, Prev: gs.Fields,
			MembersAdded: []string{userID}, EnqueuedAt: now}
		if err := l.append(tx, e); err != nil {
			return err
		}
	}
	return nil
}

func union(a, b []string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	out := make([]string, 0, len(a)+len(b))
	for _, s := range append(slices.Clip(a), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (l *lane) mapFields(typ string, res map[string]any) (map[string]any, error) {
	if l.mapper == nil {
		return res, nil
	}
	return l.mapper.Map(typ, res)
}

// append adds e to the queue; once the transaction commits it wakes the
// scheduler and, for a sync connector, counts the entry for Await.
func (l *lane) append(tx *store.Tx, e *store.Entry) error {
	if err := tx.Append(l.name, e); err != nil {
		return err
	}
	if err := l.logQueued(tx, e); err != nil {
		return err
	}
	key := e.Key()
	tx.OnCommit(func() {
		if l.set.Sync {
			l.mu.Lock()
			l.pending[key]++
			l.mu.Unlock()
		}
		l.notify()
	})
	return nil
}

// sameJSON compares two field maps as the queue stores them (numbers and
// nested values survive a JSON round trip identically).
func sameJSON(a, b map[string]any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// Reconcile re-evaluates scope and mapping for every stored resource, for
// every connector, and enqueues exactly what changed since the shadow was
// written (a connector added, a mapping or scope changed in config.yaml).
// list runs inside one write transaction and must call fn for every stored
// user and group, reading them from tx; a Group's res may carry "members"
// ([{"value": id}, ...]): they are sent when the group enters a scope.
// Resources the shadow knows but list did not report are deleted.
func (d *Dispatcher) Reconcile(list func(tx *store.Tx, fn func(typ, id string, res map[string]any) error) error) error {
	return d.db.Update(func(tx *store.Tx) error {
		seen := map[string]bool{}
		err := list(tx, func(typ, id string, res map[string]any) error {
			seen[typ+"/"+id] = true
			for _, l := range d.lanes {
				var added []string
				if typ == store.TypeGroup {
					if sh, err := store.Optional(tx.GetShadow(l.name, typ, id)); err != nil {
						return err
					} else if sh == nil || !sh.InScope {
						added = memberIDs(res)
					}
				}
				if err := l.enqueue(tx, typ, id, withoutMembers(res), added, nil); err != nil {
					return fmt.Errorf("connector %s: %w", l.name, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, l := range d.lanes {
			var gone [][2]string
			if err := tx.Shadows(l.name, func(typ, id string, _ store.Shadow) error {
				if !seen[typ+"/"+id] {
					gone = append(gone, [2]string{typ, id})
				}
				return nil
			}); err != nil {
				return err
			}
			for _, g := range gone {
				if err := l.enqueue(tx, g[0], g[1], nil, nil, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func memberIDs(res map[string]any) []string {
	ms, _ := res["members"].([]any)
	var out []string
	for _, m := range ms {
		if mm, ok := m.(map[string]any); ok {
			if v, ok := mm["value"].(string); ok && v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func withoutMembers(res map[string]any) map[string]any {
	if _, ok := res["members"]; !ok {
		return res
	}
	out := make(map[string]any, len(res))
	for k, v := range res {
		if k != "members" {
			out[k] = v
		}
	}
	return out
}
