package scc

import (
	"slices"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
)

// TestAdoptedGroupConverges: a pre-existing "All Staff" admin group with
// a member the IdP does not have is adopted by name and ends with exactly
// SCIM's members (by email, any letter case); SCIM's removal made before
// the first delivery is not dropped; an admin group the IdP never
// mentions is untouched.
func TestAdoptedGroupConverges(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	alice := e.sim.AddUser("Alice@Example.com", "Alice", "A", "")
	bob := e.sim.AddUser("bob@example.com", "Bob", "B", "")
	carol := e.sim.AddUser("carol@example.com", "Carol", "C", "")
	stale := e.sim.AddUser("stale@example.com", "Stale", "S", "")
	staff := e.sim.AddGroup("All Staff")
	other := e.sim.AddGroup("Book Club")
	for _, u := range []string{alice, carol, stale} {
		e.sim.AddGroupMember(staff, u)
	}
	e.sim.AddGroupMember(other, stale)
	mem := func(id, tid, mail string) connectors.Member {
		return connectors.Member{ID: id, TargetID: tid, Fields: map[string]any{fieldEmail: mail}}
	}
	ma, mb, mc := mem("a", alice, "alice@example.com"), mem("b", bob, "bob@example.com"), mem("c", carol, "carol@example.com")
	r := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g-staff", Op: connectors.OpUpsert,
		Fields:         map[string]any{fieldName: "All Staff"},
		MembersAdded:   []connectors.Member{ma, mb},
		MembersRemoved: []connectors.Member{mc},
		Members:        []connectors.Member{ma, mb}})
	if r.TargetID != staff {
		t.Fatalf("target id %q, want the existing group %q", r.TargetID, staff)
	}
	for _, g := range e.sim.Groups() {
		got := slices.Sorted(slices.Values(g.MemberTargetIDs))
		switch g.TargetID {
		case staff:
			// The simulator names members by (lower-cased) email.
			if want := []string{"alice@example.com", "bob@example.com"}; !slices.Equal(got, want) {
				t.Errorf("All Staff members %v, want exactly SCIM's %v", got, want)
			}
		case other:
			if !slices.Equal(got, []string{"stale@example.com"}) {
				t.Errorf("unmanaged group touched: %+v", g)
			}
		}
	}
	if n := len(e.sim.Groups()); n != 2 {
		t.Errorf("%d groups, want 2", n)
	}
}

// TestAdoptedGroupWithoutWholeMembership: without SCIM's whole
// membership (a change built before Members existed), adoption still
// applies the change's removals.
func TestAdoptedGroupWithoutWholeMembership(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	carol := e.sim.AddUser("carol@example.com", "Carol", "C", "")
	staff := e.sim.AddGroup("All Staff")
	e.sim.AddGroupMember(staff, carol)
	mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{fieldName: "All Staff"},
		MembersRemoved: []connectors.Member{{ID: "c", TargetID: carol, Fields: map[string]any{fieldEmail: "carol@example.com"}}}})
	if g := e.sim.Groups(); len(g) != 1 || len(g[0].MemberTargetIDs) != 0 {
		t.Errorf("groups %+v: the SCIM removal was dropped", g)
	}
}
