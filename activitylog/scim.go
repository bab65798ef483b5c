package activitylog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/store"
)

// Write is one SCIM write as its event records it.
type Write struct {
	RequestID, Client, Method string
	Status                    int
	Type, ID                  string
	// Before and After are the stored documents (nil: created, deleted).
	Before, After map[string]any
	// Added and Removed are a group's member delta (SCIM ids).
	Added, Removed []string
}

// sampleIDs is how many member ids a group's event names per direction.
const sampleIDs = 5

// SCIMWrite appends the event of a SCIM write inside the write's own
// transaction: the attributes it changed with their new values (password
// never, redacted attributes by name only), a group's member delta as
// counts and the first few ids. A deleted user is scheduled for erasure.
func (l *Log) SCIMWrite(tx *store.Tx, w Write) error {
	pw, err := l.PrepareSCIMWrite(w)
	if err != nil {
		return err
	}
	return pw.Append(tx)
}

// PreparedWrite is a SCIM write's event built and encoded ahead of its
// transaction (PrepareSCIMWrite), so the serialised commit only appends
// its bytes: diffing the documents and encoding the event cost nothing
// there. Its time is taken when it is appended.
type PreparedWrite struct {
	l        *Log
	typ, id  string
	names    []string
	data     []byte
	schedule bool // a deleted user: schedule the erasure of its values
}

// PrepareSCIMWrite builds the event of w as SCIMWrite would, without a
// transaction. A nil *Log prepares nil, whose Append does nothing.
func (l *Log) PrepareSCIMWrite(w Write) (*PreparedWrite, error) {
	if l == nil {
		return nil, nil
	}
	ev, names := l.scimEvent(w)
	data, err := encode(ev)
	if err != nil {
		return nil, err
	}
	return &PreparedWrite{l: l, typ: w.Type, id: w.ID, names: names, data: data,
		schedule: w.After == nil && w.Type == store.TypeUser}, nil
}

// Append adds the prepared event to the log inside tx, the write's own
// transaction.
func (p *PreparedWrite) Append(tx *store.Tx) error {
	if p == nil {
		return nil
	}
	now := p.l.now()
	if p.schedule {
		if err := tx.ScheduleActivityErase(p.typ, p.id, now); err != nil {
			return err
		}
	}
	if err := tx.AppendActivity(&store.ActivityRecord{Time: now.UTC(), Type: p.typ, ID: p.id, Names: p.names, Data: p.data}); err != nil {
		return err
	}
	p.l.idx.appended()
	return nil
}

// scimEvent is the event of w and the names it leaves behind.
func (l *Log) scimEvent(w Write) (activity.Event, []string) {
	ev := activity.Event{Kind: activity.KindSCIM, Outcome: activity.OutcomeOK, Client: w.Client, RequestID: w.RequestID,
		Method: w.Method, Status: w.Status, Type: w.Type, ID: w.ID}
	doc := w.After
	if doc == nil {
		doc = w.Before
	}
	nameAttr := "userName"
	if w.Type == store.TypeGroup {
		nameAttr = "displayName"
	}
	// The store's own indexes find a resource by its current names; the
	// log keeps only the names it no longer has (renamed away, deleted),
	// so a create costs no name index entries.
	var before, after []string
	if !l.redacted(nameAttr, "") {
		ev.Name, _ = doc[nameAttr].(string)
		before, after = append(before, nameOf(w.Before, nameAttr)), append(after, nameOf(w.After, nameAttr))
	}
	if w.Type == store.TypeUser && !l.redacted("emails", "") && !l.redacted("emails", "value") {
		before, after = append(before, emailsOf(w.Before)...), append(after, emailsOf(w.After)...)
	}
	var names []string
	for _, n := range before {
		if n != "" && !slices.ContainsFunc(after, func(a string) bool { return store.Fold(a) == store.Fold(n) }) {
			names = append(names, n)
		}
	}
	ev.Changes = l.changes(w.Before, w.After)
	if len(w.Added) > 0 || len(w.Removed) > 0 {
		if ev.Changes == nil {
			ev.Changes = map[string]any{}
		}
		ev.Changes["members"] = memberDelta(w.Added, w.Removed)
		ev.Detail = fmt.Sprintf("members +%d −%d", len(w.Added), len(w.Removed))
	}
	switch {
	case w.After == nil:
		ev.Detail = "deleted"
	case len(ev.Changes) == 0 && w.Before != nil:
		ev.Detail = "no change"
	}
	return ev, names
}

func nameOf(doc map[string]any, attr string) string {
	s, _ := doc[attr].(string)
	return s
}

func emailsOf(doc map[string]any) []string {
	list, _ := doc["emails"].([]any)
	var out []string
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if v, ok := m["value"].(string); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// memberDelta is a group's member change as its event keeps it.
func memberDelta(added, removed []string) map[string]any {
	m := map[string]any{}
	if len(added) > 0 {
		m["added"] = len(added)
		m["addedIds"] = added[:min(len(added), sampleIDs)]
	}
	if len(removed) > 0 {
		m["removed"] = len(removed)
		m["removedIds"] = removed[:min(len(removed), sampleIDs)]
	}
	return m
}

// skipped are attributes an event never lists: derived, or kept elsewhere.
var skipped = map[string]bool{"id": true, "meta": true, "schemas": true, "groups": true, "members": true, "password": true}

// changes lists the attributes that differ between before and after
// (sub-attributes of a complex attribute or an extension one by one, as
// "name.givenName"), each with its new value (nil: removed).
func (l *Log) changes(before, after map[string]any) map[string]any {
	var out map[string]any
	set := func(top, sub string, v any) {
		if strings.EqualFold(top, "password") || strings.EqualFold(sub, "password") {
			return
		}
		if out == nil {
			out = map[string]any{}
		}
		path := top
		if sub != "" {
			path += "." + sub
		}
		if v != nil && l.redacted(top, sub) {
			v = Redacted
		} else if m, ok := v.(map[string]any); ok && sub == "" {
			v = l.redactSubs(top, m)
		}
		out[path] = v
	}
	for k, a := range after {
		if skipped[strings.ToLower(k)] {
			continue
		}
		b, had := before[k]
		if had && same(a, b) {
			continue
		}
		am, aok := a.(map[string]any)
		bm, bok := b.(map[string]any)
		if !had || !aok || !bok {
			set(k, "", a)
			continue
		}
		for sk, sv := range am {
			if bv, ok := bm[sk]; !ok || !same(sv, bv) {
				set(k, sk, sv)
			}
		}
		for sk := range bm {
			if _, ok := am[sk]; !ok {
				set(k, sk, nil)
			}
		}
	}
	if after == nil {
		return out // a delete lists nothing: the event says "deleted"
	}
	for k := range before {
		if _, ok := after[k]; !ok && !skipped[strings.ToLower(k)] {
			set(k, "", nil)
		}
	}
	return out
}

// same compares two decoded JSON values (numbers may differ in Go type).
func same(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// redactSubs is a complex attribute's value with its redacted
// sub-attributes' values replaced and any password left out.
func (l *Log) redactSubs(top string, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case strings.EqualFold(k, "password"):
		case v != nil && l.redacted(top, k):
			out[k] = Redacted
		default:
			out[k] = v
		}
	}
	return out
}
