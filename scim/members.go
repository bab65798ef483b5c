package scim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/store"
)

// Group memberships are kept one key per member (store/members.go), and
// every membership write is applied as a delta: adding 100 members to a
// group of 10,000 writes 100 member keys and the group's small document,
// and reports exactly those 100 to the outbox.

// member is one member as sent: its id and what we keep of the rest.
type member struct {
	id  string
	doc []byte // JSON: display, type
}

// memberDelta is what a write did to a group's membership.
type memberDelta struct {
	added, removed []string
}

func (d memberDelta) empty() bool { return len(d.added) == 0 && len(d.removed) == 0 }

// membersFromValue reads a members value: a list of member objects, one
// object, or a bare id string (Microsoft's suite sends "value":"id").
// "$ref": null is accepted; Okta's "displayName" is kept as display.
func membersFromValue(v any) ([]member, *Error) {
	var elems []any
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		elems = v
	case []map[string]any:
		for _, m := range v {
			elems = append(elems, m)
		}
	default:
		elems = []any{v}
	}
	out := make([]member, 0, len(elems))
	for _, e := range elems {
		var m member
		keep := map[string]any{}
		switch e := e.(type) {
		case string:
			m.id = e
		case map[string]any:
			for k, val := range e {
				switch strings.ToLower(k) {
				case "value":
					m.id, _ = val.(string)
					if n, ok := val.(json.Number); ok {
						m.id = n.String()
					}
				case "display", "displayname":
					if sv, ok := val.(string); ok {
						keep["display"] = sv
					}
				case "type":
					if sv, ok := val.(string); ok && (strings.EqualFold(sv, "User") || strings.EqualFold(sv, "Group")) {
						keep["type"] = strings.ToUpper(sv[:1]) + strings.ToLower(sv[1:])
					}
				}
			}
		}
		if m.id == "" {
			return nil, errorf(http.StatusBadRequest, "invalidValue", "a member needs a non-empty \"value\" (the member's id)")
		}
		if e := checkIndexedValue("members.value", m.id); e != nil {
			return nil, e
		}
		if len(keep) > 0 {
			m.doc, _ = json.Marshal(keep)
		} else {
			m.doc = []byte("{}")
		}
		out = append(out, m)
	}
	return out, nil
}

// addMembers adds members to gid and returns the ids that were not members.
func (s *Server) addMembers(tx *store.Tx, gid string, members []member) ([]string, error) {
	var added []string
	for _, m := range members {
		// AddMember reports a repeated id in one list as not new.
		isNew, err := tx.AddMember(gid, m.id, m.doc)
		if err != nil {
			return nil, err
		}
		if isNew {
			added = append(added, m.id)
		}
	}
	return added, nil
}

// removeMembers removes ids from gid and returns those that were members.
func (s *Server) removeMembers(tx *store.Tx, gid string, ids []string) ([]string, error) {
	var removed []string
	for _, id := range ids {
		was, err := tx.RemoveMember(gid, id)
		if err != nil {
			return nil, err
		}
		if was {
			removed = append(removed, id)
		}
	}
	return removed, nil
}

// setMembers makes members the whole membership of gid.
func (s *Server) setMembers(tx *store.Tx, gid string, members []member) (memberDelta, error) {
	want := make(map[string]bool, len(members))
	for _, m := range members {
		want[m.id] = true
	}
	cur, err := tx.MemberIDs(gid)
	if err != nil {
		return memberDelta{}, err
	}
	var drop []string
	for _, id := range cur {
		if !want[id] {
			drop = append(drop, id)
		}
	}
	var d memberDelta
	if d.removed, err = s.removeMembers(tx, gid, drop); err != nil {
		return d, err
	}
	d.added, err = s.addMembers(tx, gid, members)
	return d, err
}

// merge folds a later delta into d: an add then a remove of one id cancel.
func (d *memberDelta) merge(next memberDelta) {
	for _, id := range next.added {
		if i := slices.Index(d.removed, id); i >= 0 {
			d.removed = slices.Delete(d.removed, i, i+1)
		} else if !slices.Contains(d.added, id) {
			d.added = append(d.added, id)
		}
	}
	for _, id := range next.removed {
		if i := slices.Index(d.added, id); i >= 0 {
			d.added = slices.Delete(d.added, i, i+1)
		} else if !slices.Contains(d.removed, id) {
			d.removed = append(d.removed, id)
		}
	}
}

// touchGroup records a membership change made outside a group write (a
// user's deletion): new version for the group, and its change.
func (s *Server) touchGroup(tx *store.Tx, base, gid string, delta memberDelta) error {
	prev, e := loadDoc(tx, store.TypeGroup, gid)
	if e != nil {
		return nil // a membership of a group that is gone: nothing to report
	}
	doc := make(map[string]any, len(prev))
	for k, v := range prev {
		doc[k] = v
	}
	stamp(doc, prev, store.TypeGroup)
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if err := tx.UpdateResource(store.TypeGroup, gid, raw); err != nil {
		return err
	}
	return s.sink.Enqueue(tx, store.Change{Type: store.TypeGroup, ID: gid,
		Before: s.groupView(prev, base), After: s.groupView(doc, base),
		MembersAdded: delta.added, MembersRemoved: delta.removed})
}

// enqueueGroup reports a group write and the derived change of each user
// whose groups it changed.
func (s *Server) enqueueGroup(tx *store.Tx, base, gid string, before, after map[string]any, delta memberDelta) error {
	if err := s.sink.Enqueue(tx, store.Change{Type: store.TypeGroup, ID: gid, Before: before, After: after,
		MembersAdded: delta.added, MembersRemoved: delta.removed}); err != nil {
		return err
	}
	if err := s.enqueueUsers(tx, base, delta.added, gid, true); err != nil {
		return err
	}
	return s.enqueueUsers(tx, base, delta.removed, gid, false)
}

// enqueueUsers reports users whose groups changed because they joined
// (added) or left gid. Before is derived from after, so no earlier read
// of the user is needed. Member ids that name no user are skipped.
func (s *Server) enqueueUsers(tx *store.Tx, base string, uids []string, gid string, added bool) error {
	for _, uid := range uids {
		doc, err := loadIfExists(tx, store.TypeUser, uid)
		if err != nil {
			return err
		}
		if doc == nil {
			continue
		}
		after, err := s.userView(tx, doc, base)
		if err != nil {
			return err
		}
		before := make(map[string]any, len(after))
		for k, v := range after {
			before[k] = v
		}
		groups, _ := after["groups"].([]any)
		var bg []any
		for _, g := range groups {
			if gm, ok := g.(map[string]any); ok && gm["value"] == gid {
				continue
			}
			bg = append(bg, g)
		}
		if !added {
			g := map[string]any{"value": gid, "$ref": base + "/Groups/" + gid, "type": "direct"}
			gd, err := loadIfExists(tx, store.TypeGroup, gid)
			if err != nil {
				return err
			}
			if gd != nil {
				if dn, ok := gd["displayName"]; ok {
					g["display"] = dn
				}
			}
			bg = append(bg, g)
		}
		if len(bg) > 0 {
			before["groups"] = bg
		} else {
			delete(before, "groups")
		}
		if err := s.sink.Enqueue(tx, store.Change{Type: store.TypeUser, ID: uid, Before: before, After: after}); err != nil {
			return err
		}
	}
	return nil
}
