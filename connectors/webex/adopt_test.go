package webex

import (
	"slices"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// TestGroupCreateLandedThenRenamed is the "Sales EMEA"/"Sales Europe"
// bug: the create lands, the bridge dies before recording it, the group
// is renamed in SCIM, and the retry (MayExist) finds the group by the
// externalId the bridge wrote instead of creating a second one.
func TestGroupCreateLandedThenRenamed(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	u1, u2 := e.sim.AddUser("s1@example.com"), e.sim.AddUser("s2@example.com")
	m1, m2 := connectors.Member{ID: "1", TargetID: u1}, connectors.Member{ID: "2", TargetID: u2}
	first := e.apply(connectors.Change{Type: connectors.Group, ID: "g-sales", Op: connectors.OpUpsert,
		Fields:       map[string]any{"displayName": "Sales EMEA", "externalId": "g-sales"},
		MembersAdded: []connectors.Member{m1, m2}, Members: []connectors.Member{m1, m2}})[0]
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	// The answer is lost with the process. SCIM renames the group and
	// removes s2; the retry carries the whole pending run.
	res := e.apply(connectors.Change{Type: connectors.Group, ID: "g-sales", Op: connectors.OpUpsert, MayExist: true,
		Fields:         map[string]any{"displayName": "Sales Europe", "externalId": "g-sales"},
		MembersAdded:   []connectors.Member{m1},
		MembersRemoved: []connectors.Member{m2},
		Members:        []connectors.Member{m1}})[0]
	if res.Err != nil || res.TargetID != first.TargetID {
		t.Fatalf("retry: %+v, want the first create's id %s", res, first.TargetID)
	}
	g := e.sim.Groups()
	if len(g) != 1 || g[0].Name != "Sales Europe" || !slices.Equal(g[0].MemberTargetIDs, []string{u1}) {
		t.Errorf("groups = %+v, want one, renamed, with s1 only", g)
	}
}

// TestUserCreateLandedThenRenamed: the same for a user whose userName
// changed before the retry.
func TestUserCreateLandedThenRenamed(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	first := e.apply(createUser("u1", "old@example.com", "externalId", "u1", "displayName", "Old"))[0]
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	ch := createUser("u1", "new@example.com", "externalId", "u1", "displayName", "New")
	ch.MayExist = true
	res := e.apply(ch)[0]
	if res.Err != nil || res.TargetID != first.TargetID {
		t.Fatalf("retry: %+v, want %s", res, first.TargetID)
	}
	if u := e.sim.Users(); len(u) != 1 || u[0].UserName != "new@example.com" {
		t.Errorf("users = %+v, want one, renamed", u)
	}
}

// TestAdoptedGroupConverges: a pre-existing "All Staff" with a member the
// IdP does not have is adopted after the 409 and ends with exactly SCIM's
// members; a removal SCIM made before the first delivery is not dropped;
// a group and a user the IdP never mentions are untouched.
func TestAdoptedGroupConverges(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	alice, bob, stale := e.sim.AddUser("alice@example.com"), e.sim.AddUser("bob@example.com"), e.sim.AddUser("stale@example.com")
	carol := e.sim.AddUser("carol@example.com")
	staff := e.sim.AddGroup("All Staff", alice, stale, carol)
	other := e.sim.AddGroup("Book Club", stale)
	ma, mb, mc := connectors.Member{ID: "a", TargetID: alice}, connectors.Member{ID: "b", TargetID: bob}, connectors.Member{ID: "c", TargetID: carol}
	res := e.apply(connectors.Change{Type: connectors.Group, ID: "g-staff", Op: connectors.OpUpsert,
		Fields:         map[string]any{"displayName": "All Staff", "externalId": "g-staff"},
		MembersAdded:   []connectors.Member{ma, mb},
		MembersRemoved: []connectors.Member{mc}, // carol joined and left in SCIM before the first delivery
		Members:        []connectors.Member{ma, mb}})[0]
	if res.Err != nil || res.TargetID != staff {
		t.Fatalf("adopt: %+v", res)
	}
	for _, g := range e.sim.Groups() {
		switch g.TargetID {
		case staff:
			got := slices.Clone(g.MemberTargetIDs)
			slices.Sort(got)
			want := []string{alice, bob}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("All Staff members %v, want exactly SCIM's %v", got, want)
			}
		case other:
			if !slices.Equal(g.MemberTargetIDs, []string{stale}) || g.Name != "Book Club" {
				t.Errorf("unmanaged group touched: %+v", g)
			}
		}
	}
	if len(e.sim.Users()) != 4 {
		t.Errorf("users = %+v", e.sim.Users())
	}
}
