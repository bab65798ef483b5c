package hrimport

import (
	"fmt"
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/scimpath"
)

// The second step: memberships and managers, once every row's user exists
// (so a manager further down the file resolves). It diffs like the first:
// a membership or manager already right sends nothing. The groups column
// touches only groups the import owns (it created them, or import.groups
// lists them): it adds to them and removes from them, and never removes a
// membership in a group an IdP manages.

type member struct {
	id  string
	row int
}

type groupPlan struct {
	g           *serverGroup
	add, remove []member
}

const membersPerPatch = 500

func (im *importer) applyLinks() error {
	if len(im.links) == 0 {
		return nil
	}
	keys := make([]string, 0, len(im.links))
	for k := range im.links {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return im.links[keys[i]].row < im.links[keys[j]].row })

	groupByID := map[string]*serverGroup{}
	for _, g := range im.st.groups {
		groupByID[g.id] = g
	}
	plans := map[*serverGroup]*groupPlan{}
	var planOrder, newGroups []*serverGroup
	planFor := func(g *serverGroup) *groupPlan {
		if plans[g] == nil {
			plans[g] = &groupPlan{g: g}
			planOrder = append(planOrder, g)
		}
		return plans[g]
	}
	type rowLinks struct {
		num     int
		display string
		changes []Change
	}
	var rows []*rowLinks
	failed := map[int]string{} // row -> first failure
	var managerOps []pending

	for _, key := range keys {
		l := im.links[key]
		uid, ok := im.idOf(key)
		if !ok || im.rejected[l.row] != nil {
			continue
		}
		u := im.st.byKey[key]
		if _, created := im.created[key]; created {
			u = nil
		}
		rl := &rowLinks{num: l.row, display: l.display}
		var notOwned []string
		if l.groups != nil {
			current := map[string]bool{}
			if u != nil {
				for _, id := range u.groups {
					current[id] = true
				}
			}
			want := map[string]bool{}
			for _, name := range l.groups {
				lname := strings.ToLower(name)
				want[lname] = true
				g := im.st.groups[lname]
				if g == nil {
					g = &serverGroup{name: name, owned: true}
					im.st.groups[lname] = g
					newGroups = append(newGroups, g)
				}
				if g.id != "" && current[g.id] {
					continue
				}
				if !g.owned {
					notOwned = append(notOwned, g.name)
					continue
				}
				p := planFor(g)
				p.add = append(p.add, member{uid, l.row})
				rl.changes = append(rl.changes, Change{Path: "groups", New: g.name})
			}
			ids := make([]string, 0, len(current))
			for id := range current {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				if g := groupByID[id]; g != nil && g.owned && !want[strings.ToLower(g.name)] {
					p := planFor(g)
					p.remove = append(p.remove, member{uid, l.row})
					rl.changes = append(rl.changes, Change{Path: "groups", Old: g.name})
				}
			}
		}
		if im.m.manager != nil {
			cur := ""
			if u != nil {
				cur = u.manager
			}
			want := ""
			if l.manager != "" {
				want, _ = im.idOf(l.manager)
			}
			if cur != want {
				var old, now any
				if cur != "" {
					old = im.displayOfID(cur)
				}
				var op scimpath.Operation
				if want == "" {
					op = scimpath.Operation{Op: "remove", Path: scimpath.URNEnterpriseUser + ":manager"}
				} else {
					now = l.manager
					op = scimpath.Operation{Op: "replace", Path: scimpath.URNEnterpriseUser + ":manager", Value: map[string]any{"value": want}}
				}
				rl.changes = append(rl.changes, Change{Path: "manager", Old: old, New: now})
				num := l.row
				managerOps = append(managerOps, pending{
					op:   bulkOp{Method: "PATCH", Path: "/Users/" + uid, Data: patchBody([]scimpath.Operation{op})},
					done: func(res bulkResult) { noteFailure(failed, num, res, "manager") },
				})
			}
		}
		if len(notOwned) > 0 {
			im.sum.Rejected++
			im.emit(Outcome{Row: l.row, Key: l.display, Action: "rejected", Column: im.m.groups.label(),
				Reason: fmt.Sprintf("not a group the import manages (an IdP's; list it in import.groups to let the import manage it): %s", strings.Join(notOwned, ", "))})
		}
		if len(rl.changes) > 0 {
			rows = append(rows, rl)
		}
	}
	if im.opts.Progress != nil {
		n := len(managerOps) + len(newGroups)
		for _, p := range plans {
			n += (len(p.add) + len(p.remove) + membersPerPatch - 1) / membersPerPatch
		}
		im.opts.Progress.Start(im.writes + len(im.deactivate) + n)
	}

	// Groups first, so their ids exist for the membership PATCHes.
	b := newBatcher(im)
	for _, g := range newGroups {
		g := g
		body := map[string]any{
			"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:Group", provenanceGroupURN},
			"displayName":      g.name,
			provenanceGroupURN: map[string]any{provenanceAttr: im.managedBy},
		}
		if err := b.add(bulkOp{Method: "POST", BulkID: "group-" + g.name, Path: "/Groups", Data: body}, func(res bulkResult) {
			if !res.ok() {
				for _, m := range plans[g].add {
					noteFailure(failed, m.row, res, "create group "+g.name)
				}
				return
			}
			im.sum.GroupsCreated++
			g.id = res.id()
			if im.opts.DryRun {
				g.id = "(new group " + g.name + ")"
			}
		}); err != nil {
			return err
		}
	}
	if err := b.wait(); err != nil {
		return err
	}
	for _, g := range planOrder {
		p := plans[g]
		if g.id == "" {
			continue // its creation failed: already noted
		}
		for len(p.add) > 0 || len(p.remove) > 0 {
			var ops []scimpath.Operation
			var involved []int
			n := 0
			if len(p.add) > 0 {
				var values []map[string]any
				for ; n < membersPerPatch && len(p.add) > 0; n++ {
					values = append(values, map[string]any{"value": p.add[0].id})
					involved = append(involved, p.add[0].row)
					p.add = p.add[1:]
				}
				ops = append(ops, scimpath.Operation{Op: "add", Path: "members", Value: values})
			}
			for ; n < membersPerPatch && len(p.remove) > 0; n++ {
				ops = append(ops, scimpath.Operation{Op: "remove", Path: fmt.Sprintf("members[value eq %q]", p.remove[0].id)})
				involved = append(involved, p.remove[0].row)
				p.remove = p.remove[1:]
			}
			name := g.name
			if err := b.add(bulkOp{Method: "PATCH", Path: "/Groups/" + g.id, Data: patchBody(ops)}, func(res bulkResult) {
				for _, row := range involved {
					noteFailure(failed, row, res, "group "+name)
				}
			}); err != nil {
				return err
			}
		}
	}
	for _, p := range managerOps {
		if err := b.add(p.op, p.done); err != nil {
			return err
		}
	}
	if err := b.wait(); err != nil {
		return err
	}
	for _, rl := range rows {
		if reason, bad := failed[rl.num]; bad {
			im.sum.Failed++
			im.emit(Outcome{Row: rl.num, Key: rl.display, Action: "failed", Reason: reason, Changes: rl.changes})
			continue
		}
		im.sum.LinkRows++
		im.emit(Outcome{Row: rl.num, Key: rl.display, Action: "links", Changes: rl.changes})
	}
	return nil
}

func noteFailure(failed map[int]string, row int, res bulkResult, what string) {
	if !res.ok() && failed[row] == "" {
		failed[row] = what + ": " + failure(res)
	}
}

// idOf is the SCIM id of the user with key: on the server, or created by
// this run (in a dry run, a placeholder for a user it would create).
func (im *importer) idOf(key string) (string, bool) {
	if im.failedKeys[key] {
		return "", false
	}
	if id := im.created[key]; id != "" {
		return id, true
	}
	if u := im.st.byKey[key]; u != nil && im.st.ambiguous[key] == 0 {
		return u.id, true
	}
	if row, ok := im.seen[key]; ok && im.opts.DryRun && im.rejected[row] == nil {
		return "(new user " + key + ")", true
	}
	return "", false
}

// displayOfID names a user by its matching key (its userName, or its id).
func (im *importer) displayOfID(id string) string {
	if u := im.st.byID[id]; u != nil {
		if u.key != "" {
			return u.key
		}
		return u.display
	}
	for k, v := range im.created {
		if v == id {
			return k
		}
	}
	return id
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
