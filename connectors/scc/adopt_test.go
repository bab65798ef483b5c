package scc

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
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

// groupsOf is every admin group SCC holds: name -> sorted member emails.
func groupsOf(e *env) map[string][]string {
	out := map[string][]string{}
	for _, g := range e.sim.Groups() {
		out[g.Name] = slices.Sorted(slices.Values(g.MemberTargetIDs))
	}
	return out
}

// TestGroupCreateLandedThenRenamed: the admin group's create lands, the
// bridge does not record it (it dies first, or the same change's member
// call fails, or every retry fails until the change is dead-lettered),
// SCIM renames the group and drops a member, and afterwards SCC holds
// exactly one group for it, renamed, with exactly SCIM's members, and the
// bridge's mapping names it. SCC admin groups carry nothing the bridge
// wrote but their name: the retry finds the group under the name it was
// created with (the run's earlier entries, and the name recorded in the
// connector's state before the POST).
func TestGroupCreateLandedThenRenamed(t *testing.T) {
	setup := func(t *testing.T, opts ...connectors.Option) *bridge {
		b := newBridge(t, opts...)
		b.start()
		b.putUser("u1", "ann@example.com", "Ann", "Lee", true)
		b.putUser("u2", "bob@example.com", "Bob", "Ray", true)
		b.drain()
		return b
	}
	// crashed is the process that died: it delivered the group's create
	// (as its dispatcher built it) and recorded nothing.
	crashed := func(t *testing.T, b *bridge) {
		b.stop()
		b.putGroup("g1", "Sales EMEA", "u1", "u2")
		mustApply(t, b.connector(), b.change(connectors.Group, "g1"))
		if g := groupsOf(b.e); len(g) != 1 || len(g["Sales EMEA"]) != 2 {
			t.Fatalf("the lost create did not land: %v", g)
		}
	}
	check := func(t *testing.T, b *bridge) {
		t.Helper()
		want := map[string][]string{"Sales Europe": {"ann@example.com"}}
		if got := groupsOf(b.e); !reflect.DeepEqual(got, want) {
			t.Errorf("SCC holds %v, want exactly %v", got, want)
		}
		if g := b.e.sim.Groups(); len(g) != 1 || b.targetID(connectors.Group, "g1") != g[0].TargetID {
			t.Errorf("mapping %q, groups %+v", b.targetID(connectors.Group, "g1"), g)
		}
		if r := b.check(false)[connectors.Group]; r.Drifted != 0 || len(r.Missing) != 0 || r.Unknown != 0 {
			t.Errorf("check-targets after: %+v", r)
		}
	}

	t.Run("dies before recording", func(t *testing.T) {
		b := setup(t)
		crashed(t, b)
		b.putGroup("g1", "Sales Europe", "u1")
		b.restart(nil)
		b.drain()
		check(t, b)
		if dl := b.deadLetters(); len(dl) != 0 {
			t.Errorf("dead letters: %+v", dl)
		}
	})

	t.Run("the same change's next call fails", func(t *testing.T) {
		b := setup(t)
		var once atomic.Bool
		b.setHook(func(r *http.Request) int {
			if r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/adminGroups/") && once.CompareAndSwap(false, true) {
				// The group exists now; SCIM renames it before the retry.
				b.putGroup("g1", "Sales Europe", "u1")
				return http.StatusServiceUnavailable
			}
			return 0
		})
		b.putGroup("g1", "Sales EMEA", "u1", "u2")
		b.drain()
		if !once.Load() {
			t.Fatal("the member call never came")
		}
		b.restart(nil)
		b.drain()
		check(t, b)
	})

	t.Run("dead-lettered, then renamed", func(t *testing.T) {
		b := setup(t, connectors.WithMaxAttempts(1))
		crashed(t, b)
		// The restarted bridge meets an outage: the run is dead-lettered
		// without the group's id, and leaves the queue.
		b.restart(outage{b.connector()})
		b.drain()
		if dl := b.deadLetters(); len(dl) != 1 {
			t.Fatalf("dead letters: %+v", dl)
		}
		// A fresh change, with no earlier entries: only the name recorded
		// before the POST finds the group.
		b.restart(nil)
		b.putGroup("g1", "Sales Europe", "u1")
		b.drain()
		check(t, b)
	})
}

// TestGroupRetryPrefersSCIMsName: when the retry finds both a group of
// SCIM's current name (an administrator's, say) and the one a lost create
// made under the earlier name, it adopts the current name's group (as a
// 409 would) and leaves the other as it is; with neither, it creates one.
func TestGroupRetryPrefersSCIMsName(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	old, cur := e.sim.AddGroup("Sales EMEA"), e.sim.AddGroup("Sales Europe")
	retry := connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, MayExist: true,
		Fields: map[string]any{fieldName: "Sales Europe"}, Earlier: []map[string]any{{fieldName: "Sales EMEA"}}}
	if r := mustApply(t, c, retry); r.TargetID != cur {
		t.Errorf("adopted %q, want SCIM's name's group %q", r.TargetID, cur)
	}
	if n, _, _ := e.sim.Group(old); n != "Sales EMEA" || len(e.sim.Groups()) != 2 {
		t.Errorf("the other group was touched: %q, %+v", n, e.sim.Groups())
	}
	retry.ID, retry.Fields, retry.Earlier = "g2", map[string]any{fieldName: "Eng"}, []map[string]any{{fieldName: "R&D"}}
	if r := mustApply(t, c, retry); r.TargetID == "" || r.TargetID == old || r.TargetID == cur || len(e.sim.Groups()) != 3 {
		t.Errorf("create: %+v, groups %+v", r, e.sim.Groups())
	}
}

// TestGroupIntentIsWrittenBeforeTheCreate: the name is in the connector's
// state before the POST leaves; if it cannot be written, nothing is sent.
// An acknowledged change (target id, fields, nothing unsure) clears it,
// and so does a delete.
func TestGroupIntentIsWrittenBeforeTheCreate(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	key := "scc/groups/" + testOrg + "/g1"
	create := connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, Fields: map[string]any{fieldName: "Ops"}}
	e.state.setFail(errors.New("disk full"))
	if r := apply(t, c, create)[0]; connectors.ClassOf(r.Err) != connectors.Transient || e.rec.count("POST /adminGroups") != 0 {
		t.Fatalf("state write failed: %+v, %d POSTs", r, e.rec.count("POST /adminGroups"))
	}
	e.state.setFail(nil)
	var seen []byte
	e.rec.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && seen == nil {
			seen, _ = e.state.Get(key)
		}
		e.sim.ServeHTTP(w, r)
	})
	tid := mustApply(t, c, create).TargetID
	if !strings.Contains(string(seen), `"Ops"`) {
		t.Errorf("state at the POST: %s", seen)
	}
	if names, _ := c.intents.names("g1"); !slices.Equal(names, []string{"Ops"}) {
		t.Errorf("intent %v", names)
	}
	upd := connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, TargetID: tid,
		Prev: map[string]any{fieldName: "Ops"}, Fields: map[string]any{fieldName: "Ops"}}
	upd.MayExist = true
	mustApply(t, c, upd)
	if names, _ := c.intents.names("g1"); len(names) != 1 {
		t.Errorf("a retry cleared the intent: %v", names)
	}
	upd.MayExist = false
	mustApply(t, c, upd)
	if names, _ := c.intents.names("g1"); len(names) != 0 {
		t.Errorf("an acknowledged change left the intent: %v", names)
	}
	mustApply(t, c, create)
	mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpDelete})
	if names, _ := c.intents.names("g1"); len(names) != 0 {
		t.Errorf("a delete left the intent: %v", names)
	}
}

// TestUserCreateLandedThenRenamed: the invite lands, the bridge dies
// before recording it, SCIM changes the user's email; after the restart
// SCC holds exactly one user for the person, under the new email (the
// address a lost invite used is removed, as an email change does), and
// the mapping names it. The same when the same change's next call fails:
// the email (the user's target id) is recorded with the failure.
func TestUserCreateLandedThenRenamed(t *testing.T) {
	check := func(t *testing.T, b *bridge) {
		t.Helper()
		if u := b.e.sim.Users(); len(u) != 1 || u[0].TargetID != "ann.lee@example.com" || !u[0].Active {
			t.Errorf("SCC holds %+v, want ann.lee@example.com only", u)
		}
		if tid := b.targetID(connectors.User, "u1"); tid != "ann.lee@example.com" {
			t.Errorf("mapping %q", tid)
		}
		if dl := b.deadLetters(); len(dl) != 0 {
			t.Errorf("dead letters: %+v", dl)
		}
	}
	t.Run("dies before recording", func(t *testing.T) {
		b := newBridge(t)
		b.putUser("u1", "ann@example.com", "Ann", "Lee", true)
		mustApply(t, b.connector(), b.change(connectors.User, "u1"))
		b.putUser("u1", "ann.lee@example.com", "Ann", "Lee", true)
		b.restart(nil)
		b.drain()
		check(t, b)
	})
	t.Run("the same change's next call fails", func(t *testing.T) {
		b := newBridge(t)
		var once atomic.Bool
		b.setHook(func(r *http.Request) int {
			// A new inactive user is an invite, then a disable: the
			// disable fails, and SCIM changes the email meanwhile.
			if r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/users") && once.Load() == false {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if strings.Contains(string(body), `"disable"`) && once.CompareAndSwap(false, true) {
					b.putUser("u1", "ann.lee@example.com", "Ann", "Lee", true)
					return http.StatusServiceUnavailable
				}
			}
			return 0
		})
		b.start()
		b.putUser("u1", "ann@example.com", "Ann", "Lee", false)
		b.drain()
		if !once.Load() {
			t.Fatal("the disable never came")
		}
		check(t, b)
	})
}

// TestRetriedInviteLeavesAnAddressTheBatchNames: a retried invite does
// not deprovision an earlier address another change of the same batch
// names (here: another user is invited with it), and one request never
// carries an address twice.
func TestRetriedInviteLeavesAnAddressTheBatchNames(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	e.sim.AddUser("old@example.com", "Old", "Owner", "")
	retry := createUser("u1", "new@example.com", "Ann", "Lee")
	retry.MayExist, retry.Earlier = true, []map[string]any{userFieldsOf("old@example.com", "Ann", "Lee", true)}
	for _, r := range apply(t, c, retry, createUser("u2", "old@example.com", "Old", "Owner")) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	got := map[string]bool{}
	for _, u := range e.sim.Users() {
		got[u.TargetID] = u.Active
	}
	if len(got) != 2 || !got["old@example.com"] || !got["new@example.com"] {
		t.Errorf("SCC holds %v, want old@ kept for u2 and new@ invited", got)
	}
	// Alone, the retry removes the earlier addresses (lost invites'; one
	// of them never landed) before inviting, inactive, the current one.
	e.sim.AddUser("cy@example.com", "Cy", "Day", "PENDING")
	retry = connectors.Change{Type: connectors.User, ID: "u3", Op: connectors.OpUpsert, MayExist: true,
		Fields:  userFieldsOf("cy.day@example.com", "Cy", "Day", false),
		Earlier: []map[string]any{userFieldsOf("cy@example.com", "Cy", "Day", true), userFieldsOf("c.day@example.com", "Cy", "Day", true)}}
	mustApply(t, c, retry)
	if _, ok := e.sim.User("cy@example.com"); ok {
		t.Error("the earlier address of a retried invite was left")
	}
	if u, _ := e.sim.User("cy.day@example.com"); u.Status != "DISABLE" {
		t.Errorf("the current address is %+v, want invited and disabled", u)
	}
	if _, ok := e.sim.User("cy.day@example.com"); !ok {
		t.Error("the retried invite did not invite the current address")
	}
}

// TestRetryLeavesWhatAnotherResourceTook: a lost create's earlier name
// (or address) that another SCIM group (user) has since created or
// adopted is not taken by the retry: the admin group "Sales" a lost create
// of g1 made was adopted by g2 (a 409 on g2's create), so g1's retry under
// its new name creates its own group; likewise a retried invite leaves an
// earlier address another user was invited with in a later batch.
func TestRetryLeavesWhatAnotherResourceTook(t *testing.T) {
	for _, durable := range []bool{true, false} {
		e := newEnv(t, sccsim.Options{}, nil)
		deps := connectors.Deps{HTTPClient: e.srv.Client()}
		if durable {
			deps.State = e.state
		}
		c, err := newConnector(e.settings, deps)
		if err != nil {
			t.Fatal(err)
		}
		lost := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, Fields: map[string]any{fieldName: "Sales"}}).TargetID
		if r := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g2", Op: connectors.OpUpsert, Fields: map[string]any{fieldName: "Sales"}}); r.TargetID != lost {
			t.Fatalf("g2 did not adopt the group of its name: %+v", r)
		}
		retry := connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, MayExist: true,
			Fields: map[string]any{fieldName: "Sales West"}, Earlier: []map[string]any{{fieldName: "Sales"}}}
		if r := mustApply(t, c, retry); r.TargetID == lost {
			t.Errorf("durable %v: g1's retry took g2's group", durable)
		}
		if got := groupsOf(e); len(got) != 2 {
			t.Errorf("durable %v: groups %v, want Sales (g2) and Sales West (g1)", durable, got)
		}
		if n, _, _ := e.sim.Group(lost); n != "Sales" {
			t.Errorf("durable %v: g2's group renamed to %q", durable, n)
		}

		mustApply(t, c, createUser("u1", "old@example.com", "Ann", "Lee")) // lost
		mustApply(t, c, createUser("u2", "old@example.com", "Old", "Owner"))
		ru := createUser("u1", "ann@example.com", "Ann", "Lee")
		ru.MayExist, ru.Earlier = true, []map[string]any{userFieldsOf("old@example.com", "Ann", "Lee", true)}
		mustApply(t, c, ru)
		if _, ok := e.sim.User("old@example.com"); !ok {
			t.Errorf("durable %v: u1's retry removed u2's address", durable)
		}
	}
}
