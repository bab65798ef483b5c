package scc

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

// maxMembersPerPatch is the most users one admin-group PATCH carries [decided].
const maxMembersPerPatch = 100

// groupBody is POST and PUT /adminGroups: only the fields being set.
type groupBody struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

type memberItem struct {
	Operation string `json:"operation"` // add or remove
	ID        string `json:"id"`        // the user's email
}

type memberPatch struct {
	Users []memberItem `json:"users"`
}

func (c *Connector) applyGroup(ctx context.Context, ch connectors.Change) connectors.Result {
	if ch.Op == connectors.OpDelete {
		if err := c.intents.clear(ch.ID); err != nil {
			c.log.Warn().Err(err).Str("op", "group.intent").Msg("could not clear a group's recorded names")
		}
		if ch.TargetID == "" {
			return connectors.Result{}
		}
		_, _, err := c.call(ctx, "delete group", http.MethodDelete, "/adminGroups/"+url.PathEscape(ch.TargetID), nil, nil, connectors.CallDelete)
		if err == nil {
			if err := c.intents.claim(ch.TargetID, ""); err != nil {
				c.log.Warn().Err(err).Str("op", "group.intent").Msg("could not forget a deleted group's owner")
			}
		}
		return connectors.Result{Err: err}
	}
	want := groupBody{Name: str(ch.Fields, fieldName), Description: str(ch.Fields, fieldDescription)}
	if want.Name == "" {
		return connectors.Result{TargetID: ch.TargetID, Err: connectors.NewPermanent("group has no name (the mapped field name is empty)", nil)}
	}
	if ch.TargetID != "" && ch.Prev != nil && !ch.MayExist {
		// Built from an acknowledged delivery with nothing unsure: the
		// names recorded before an earlier create have served.
		if err := c.intents.clear(ch.ID); err != nil {
			c.log.Warn().Err(err).Str("op", "group.intent").Msg("could not clear a group's recorded names")
		}
	}
	id := ch.TargetID
	var err error
	// Adopted (matched by name), or a retry of a first delivery: the group
	// may hold members SCIM does not have.
	converge := ch.TargetID != "" && ch.Prev == nil && ch.Members != nil
	added, removed := ch.MembersAdded, ch.MembersRemoved
	if id == "" {
		var adopted bool
		id, adopted, err = c.findOrCreateGroup(ctx, ch, want)
		if adopted {
			converge = true
			// An adopted group's name may differ in case only, and its
			// description is not ours yet: write both.
			if err == nil {
				_, _, err = c.call(ctx, "update group", http.MethodPut, "/adminGroups/"+url.PathEscape(id), nil, groupChanges(nil, want), connectors.CallOther)
			}
		}
	} else if upd := groupChanges(ch.Prev, want); upd != (groupBody{}) {
		_, _, err = c.call(ctx, "update group", http.MethodPut, "/adminGroups/"+url.PathEscape(id), nil, upd, connectors.CallOther)
		if statusOf(err) == http.StatusNotFound {
			// Deleted in SCC behind our back: create it again.
			id, err = c.createGroup(ctx, ch, want)
		}
	}
	if err != nil {
		return connectors.Result{TargetID: cmp.Or(id, ch.TargetID), Err: err}
	}
	if converge {
		if added, removed, err = c.convergeMembers(ctx, id, ch); err != nil {
			return connectors.Result{TargetID: id, Err: err}
		}
	}
	memberErrs, err := c.patchMembers(ctx, id, added, removed)
	if statusOf(err) == http.StatusNotFound {
		if id, err = c.createGroup(ctx, ch, want); err == nil {
			memberErrs, err = c.patchMembers(ctx, id, ch.MembersAdded, ch.MembersRemoved)
		}
	}
	return connectors.Result{TargetID: id, Err: err, MemberErrors: memberErrs}
}

// groupChanges is what a PUT must send: the fields that differ from prev
// (everything when prev is unknown).
func groupChanges(prev map[string]any, want groupBody) groupBody {
	var upd groupBody
	if prev == nil || str(prev, fieldName) != want.Name {
		upd.Name = want.Name
	}
	if want.Description != "" && (prev == nil || str(prev, fieldDescription) != want.Description) {
		upd.Description = want.Description
	}
	return upd
}

// createGroup creates the admin group again (it was deleted behind the
// bridge's back), adopting one of the same name; an adopted group found
// under an earlier name is renamed.
func (c *Connector) createGroup(ctx context.Context, ch connectors.Change, g groupBody) (string, error) {
	id, adopted, err := c.findOrCreateGroup(ctx, ch, g)
	if err == nil && adopted {
		_, _, err = c.call(ctx, "update group", http.MethodPut, "/adminGroups/"+url.PathEscape(id), nil, groupChanges(nil, g), connectors.CallOther)
	}
	return id, err
}

// findOrCreateGroup creates the admin group for SCIM group ch.ID unless a
// create of it may already have landed under another name: the names
// recorded before earlier creates (groupIntents) and, on a retry, the
// names of the run's earlier entries (Change.Earlier). Those are looked up
// first, in one walk of the admin groups, and a group found is adopted
// (adopted true: the caller writes SCIM's name, so one found under an
// earlier name is renamed, and converges its members) unless another SCIM
// group has created or adopted it since. The name about to be written is
// recorded before any call, and the group's owner after.
func (c *Connector) findOrCreateGroup(ctx context.Context, ch connectors.Change, g groupBody) (string, bool, error) {
	id, adopted, err := c.findOrCreate(ctx, ch, g)
	if id != "" {
		// Best effort: the owner only keeps another group's lookup under
		// an earlier name from taking this one.
		if err := c.intents.claim(id, ch.ID); err != nil {
			c.log.Warn().Err(err).Str("op", "group.intent").Msg("could not record a group's owner")
		}
	}
	return id, adopted, err
}

func (c *Connector) findOrCreate(ctx context.Context, ch connectors.Change, g groupBody) (string, bool, error) {
	earlier, err := c.intents.names(ch.ID)
	if err != nil {
		return "", false, connectors.NewTransient("create group: read the names recorded for it", err)
	}
	if ch.MayExist {
		for _, f := range ch.Earlier {
			earlier = append(earlier, str(f, fieldName))
		}
	}
	earlier = slices.DeleteFunc(earlier, func(n string) bool { return n == "" || n == g.Name })
	if err := c.intents.add(ch.ID, g.Name); err != nil {
		return "", false, connectors.NewTransient("create group: record its name before creating it", err)
	}
	if len(earlier) > 0 {
		names := append(slices.Clone(earlier), g.Name)
		slices.Reverse(names) // SCIM's name first, then the newest earlier one
		found, err := c.findGroups(ctx, names)
		if err != nil {
			return "", false, err
		}
		for _, n := range earlier {
			// A group another SCIM group created or adopted under this
			// name since is not this one's lost create.
			if id := found[n]; id != "" {
				owner, err := c.intents.owner(id)
				if err != nil {
					return "", false, connectors.NewTransient("create group: read the owner of "+id, err)
				}
				if owner != "" && owner != ch.ID {
					delete(found, n)
				}
			}
		}
		for _, n := range names {
			if id := found[n]; id != "" {
				c.log.Info().Str("op", "group.adopt").Str("target_id", id).Bool("earlier_name", n != g.Name).
					Msg("adopted an admin group a lost create may have made")
				for _, other := range names {
					if o := found[other]; o != "" && o != id {
						c.log.Warn().Str("op", "group.adopt").Str("target_id", o).
							Msg("another admin group holds a name this group had earlier; left as it is")
					}
				}
				return id, true, nil
			}
		}
	}
	return c.createOrAdoptGroup(ctx, g)
}

// createOrAdoptGroup creates the admin group, or adopts the one of the
// same name (adopted true) after a conflict.
func (c *Connector) createOrAdoptGroup(ctx context.Context, g groupBody) (string, bool, error) {
	out, a, err := c.call(ctx, "create group", http.MethodPost, "/adminGroups", nil, g, connectors.CallCreate)
	if err != nil {
		return "", false, err
	}
	if out == connectors.OK {
		if id := parseObject(a.body).str("id", "groupId"); id != "" {
			return id, false, nil
		}
	}
	id, err := c.findGroup(ctx, g.Name)
	if err == nil && id == "" {
		err = connectors.NewTransient("create group: "+g.Name+" exists but is not listed", nil)
	}
	if id != "" {
		c.log.Info().Str("connector", c.name).Str("op", "group.adopt").Str("target_id", id).Msg("adopted existing admin group")
	}
	return id, id != "", err
}

// convergeMembers is the member delta that brings an adopted (or not yet
// acknowledged) admin group to exactly SCIM's membership: it reads the
// group's users once, by email, removes those SCIM does not have and
// skips adds it already has. Without SCIM's whole membership (Members
// nil) the change's own delta stands: a SCIM removal is never dropped.
func (c *Connector) convergeMembers(ctx context.Context, id string, ch connectors.Change) (added, removed []connectors.Member, err error) {
	if ch.Members == nil {
		return ch.MembersAdded, ch.MembersRemoved, nil
	}
	has := map[string]bool{}
	err = c.walk(ctx, "list group users", "/adminGroups/"+url.PathEscape(id)+"/users", "users", nil, func(raw json.RawMessage) bool {
		if mail := strings.ToLower(parseObject(raw).str("email")); mail != "" {
			has[mail] = true
		}
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	byMail := map[string]string{}
	for _, set := range [][]connectors.Member{ch.Members, ch.MembersAdded} {
		for _, m := range set {
			if mail := strings.ToLower(email(m.Fields)); mail != "" {
				want[mail] = true
			}
		}
	}
	for _, m := range ch.MembersRemoved {
		byMail[strings.ToLower(email(m.Fields))] = m.ID
	}
	for _, m := range ch.MembersAdded {
		if !has[strings.ToLower(email(m.Fields))] {
			added = append(added, m)
		}
	}
	for _, mail := range slices.Sorted(maps.Keys(has)) {
		if want[mail] {
			continue
		}
		who := cmp.Or(byMail[mail], "scc:"+mail) // "scc:": a member SCIM never had
		removed = append(removed, connectors.Member{ID: who, Fields: map[string]any{fieldEmail: mail}})
	}
	return added, removed, nil
}

// findGroup walks the admin groups for name: an exact match, else one that
// differs only in case.
func (c *Connector) findGroup(ctx context.Context, name string) (string, error) {
	found, err := c.findGroups(ctx, []string{name})
	return found[name], err
}

// findGroups walks the admin groups once for several names: for each, the
// id of the group of exactly that name, else of one that differs only in
// case ("" when none). It stops early once every name has an exact match.
func (c *Connector) findGroups(ctx context.Context, names []string) (map[string]string, error) {
	exact, folded := map[string]string{}, map[string]string{}
	for _, n := range names {
		exact[n] = ""
	}
	left := len(exact)
	err := c.walk(ctx, "list groups", "/adminGroups", "groups", nil, func(raw json.RawMessage) bool {
		o := parseObject(raw)
		n, id := o.str("name"), o.str("id", "groupId")
		if id == "" {
			return true
		}
		if cur, ok := exact[n]; ok && cur == "" {
			exact[n] = id
			left--
			return left > 0
		}
		for want := range exact {
			if folded[want] == "" && strings.EqualFold(n, want) {
				folded[want] = id
			}
		}
		return true
	})
	out := make(map[string]string, len(exact))
	for n, id := range exact {
		out[n] = cmp.Or(id, folded[n])
	}
	return out, err
}

// patchMembers sends the member delta by email, at most 100 per PATCH, and
// turns per-item failures into per-member errors. A failed call fails the
// whole change; a retry is harmless (add and remove are idempotent).
func (c *Connector) patchMembers(ctx context.Context, groupID string, added, removed []connectors.Member) (map[string]error, error) {
	memberErrs := map[string]error{}
	type pending struct {
		item   memberItem
		scimID string
	}
	var items []pending
	for _, set := range []struct {
		op      string
		members []connectors.Member
	}{{"remove", removed}, {"add", added}} {
		for _, m := range set.members {
			mail, err := c.memberEmail(ctx, m)
			if err != nil {
				return nil, err
			}
			if mail == "" {
				if set.op == "add" {
					memberErrs[m.ID] = connectors.NewPermanent("add member: the user has no email", nil)
				}
				continue // a removal of a user SCC never had
			}
			items = append(items, pending{memberItem{Operation: set.op, ID: mail}, m.ID})
		}
	}
	for start := 0; start < len(items); start += maxMembersPerPatch {
		chunk := items[start:min(start+maxMembersPerPatch, len(items))]
		body := memberPatch{Users: make([]memberItem, len(chunk))}
		for i, p := range chunk {
			body.Users[i] = p.item
		}
		_, a, err := c.call(ctx, "patch group members", http.MethodPatch, "/adminGroups/"+url.PathEscape(groupID), nil, body, connectors.CallOther)
		if err != nil {
			return nil, err
		}
		outcomes := itemResults(a.body)
		for _, p := range chunk {
			id := strings.ToLower(p.item.ID)
			r, ok := outcomes[p.item.Operation+"\x00"+id]
			if !ok {
				r, ok = outcomes["\x00"+id] // a result without its operation
			}
			if ok && !itemOK(r.status, p.item.Operation) && !(p.item.Operation == "remove" && saysGone(r.message)) {
				memberErrs[p.scimID] = connectors.Errorf(connectors.Permanent, 0, "%s member %s: %s", p.item.Operation, p.item.ID, cmp.Or(r.message, r.status))
			}
		}
	}
	if len(memberErrs) == 0 {
		return nil, nil
	}
	return memberErrs, nil
}

// memberEmail is the member's mapped email, else the email SCC has for
// its target id ("" when SCC does not have it).
func (c *Connector) memberEmail(ctx context.Context, m connectors.Member) (string, error) {
	if mail := email(m.Fields); mail != "" {
		return mail, nil
	}
	if isEmailID(m.TargetID) {
		return strings.ToLower(m.TargetID), nil // the user's mapping is its email
	}
	if m.TargetID == "" {
		return "", nil
	}
	out, a, err := c.call(ctx, "get user", http.MethodGet, "/users/"+url.PathEscape(m.TargetID), nil, nil, connectors.CallDelete)
	if err != nil || out != connectors.OK || a.status != http.StatusOK {
		return "", err
	}
	return strings.ToLower(parseUser(a.body).Email), nil
}

type itemResult struct{ status, message string }

// saysGone recognises a failed removal whose message says the user is not
// there: like a 404 on a member removal, that is done.
func saysGone(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "not found") || strings.Contains(m, "not a member") || strings.Contains(m, "does not exist")
}

// itemResults reads the per-item results {"results":[{id, operation,
// status}…]} keyed by operation and lower-cased id.
func itemResults(body []byte) map[string]itemResult {
	out := map[string]itemResult{}
	var rs []json.RawMessage
	if json.Unmarshal(parseObject(body)["results"], &rs) != nil {
		return out
	}
	for _, raw := range rs {
		o := parseObject(raw)
		op := strings.ToLower(o.str("operation"))
		id := strings.ToLower(o.str("id", "email"))
		out[op+"\x00"+id] = itemResult{status: o.str("status", "statusCode"), message: o.str("message", "error", "detail")}
	}
	return out
}

// itemOK says whether one item's status is a success. A removal of a user
// who is not a member counts as done, like a 404 on a delete.
func itemOK(status, op string) bool {
	s := strings.ToUpper(strings.TrimSpace(status))
	switch s {
	case "", "SUCCESS", "SUCCEEDED", "SUCCESSFUL", "OK", "DONE", "COMPLETED", "ADDED", "REMOVED", "NO_CHANGE", "UNCHANGED":
		return true
	case "NOT_FOUND", "NOTFOUND", "NOT_A_MEMBER", "404":
		return op == "remove"
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && len(s) == 3 {
		return n >= 200 && n < 300
	}
	return false
}
