package scc

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
)

// TestFieldDrift: an administrator renames and deactivates a user and
// renames an admin group in SCC behind the bridge's back. check-targets
// reports each field (target value vs SCIM's) under the names the id
// mapping records, changes nothing; --repair sends SCIM's values back
// through the outbox (a PUT of the names, an enable, a PUT of the group
// name) and the next check is clean. Untouched users and groups, and
// values that differ only in the letter case of an email, are no drift.
func TestFieldDrift(t *testing.T) {
	b := newBridge(t)
	b.start()
	b.putUser("u1", "Ann.Lee@Example.com", "Ann", "Lee", true)
	b.putUser("u2", "bob@example.com", "Bob", "Ray", true)
	b.putUser("u3", "cy@example.com", "Cy", "Day", false)
	b.putGroup("g1", "Sales", "u1", "u2")
	b.putGroup("g2", "Ops", "u3")
	b.drain()
	if r := b.check(false); r[connectors.User].Drifted != 0 || r[connectors.Group].Drifted != 0 {
		t.Fatalf("drift before any edit: %+v", r)
	}
	sales := b.targetID(connectors.Group, "g1")
	if !b.e.sim.EditUser("ann.lee@example.com", "Annie", "", "DISABLE") || !b.e.sim.EditGroup(sales, "Sales (old)", "") {
		t.Fatal("edit in the simulator")
	}
	b.e.rec.take()

	r := b.check(false)
	users, groups := r[connectors.User], r[connectors.Group]
	slices.SortFunc(users.Fields, func(a, b connectors.FieldDrift) int { return strings.Compare(a.Field, b.Field) })
	wantUsers := []connectors.FieldDrift{
		{ID: "u1", Field: fieldActive, Target: "false", SCIM: "true"},
		{ID: "u1", Field: fieldFirstName, Target: "Annie", SCIM: "Ann"},
	}
	if users.Drifted != 1 || !slices.Equal(users.Fields, wantUsers) || users.Repaired != 0 || users.Listed != 3 {
		t.Errorf("users: %+v, want %+v", users, wantUsers)
	}
	wantGroups := []connectors.FieldDrift{{ID: "g1", Field: fieldName, Target: "Sales (old)", SCIM: "Sales"}}
	if groups.Drifted != 1 || !slices.Equal(groups.Fields, wantGroups) || groups.Repaired != 0 {
		t.Errorf("groups: %+v, want %+v", groups, wantGroups)
	}
	b.drain()
	for _, c := range b.e.rec.take() {
		if c.Method != "GET" {
			t.Errorf("a check without repair wrote to SCC: %s", c)
		}
	}

	r = b.check(true)
	if r[connectors.User].Repaired != 1 || r[connectors.Group].Repaired != 1 {
		t.Fatalf("repair: %+v", r)
	}
	b.drain()
	var writes []string
	for _, c := range b.e.rec.take() {
		if c.Method != "GET" {
			writes = append(writes, c.Method+" "+c.Body)
		}
	}
	slices.Sort(writes)
	want := []string{
		`PATCH {"operation":"enable","email":"ann.lee@example.com"}`,
		`PUT {"firstName":"Ann"}`,
		`PUT {"name":"Sales"}`,
	}
	if !slices.Equal(writes, want) {
		t.Errorf("repair wrote\n%s\nwant exactly the drifted fields\n%s", strings.Join(writes, "\n"), strings.Join(want, "\n"))
	}
	if u, _ := b.e.sim.User("ann.lee@example.com"); u.FirstName != "Ann" || u.LastName != "Lee" || u.Status == "DISABLE" {
		t.Errorf("after repair SCC holds %+v", u)
	}
	if name, _, _ := b.e.sim.Group(sales); name != "Sales" {
		t.Errorf("after repair the group is named %q", name)
	}
	if r := b.check(false); r[connectors.User].Drifted != 0 || r[connectors.Group].Drifted != 0 {
		t.Errorf("drift after repair: %+v", r)
	}
	if dl := b.deadLetters(); len(dl) != 0 {
		t.Errorf("dead letters: %+v", dl)
	}
}

// TestListFields: what the listing reads back for each user and group,
// under the mapped names and in the form the mapping records (email
// lower case; PENDING and SHARED users active, DISABLE inactive), and
// List reports the same ids.
func TestListFields(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	c.pageSize = 2
	e.sim.AddUser("Ann@Example.com", "Ann", "Lee", "ACTIVE")
	e.sim.AddUser("bob@example.com", "Bob", "Ray", "DISABLE")
	e.sim.AddUser("cy@example.com", "Cy", "Day", "PENDING")
	e.sim.AddUser("di@example.com", "Di", "Fox", "SHARED")
	g := e.sim.AddGroup("Ops")
	e.sim.EditGroup(g, "", "on call")
	got := map[string]map[string]any{}
	if err := c.ListFields(context.Background(), connectors.User, func(id string, f map[string]any) error {
		got[id] = f
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{
		"ann@example.com": userFieldsOf("ann@example.com", "Ann", "Lee", true),
		"bob@example.com": userFieldsOf("bob@example.com", "Bob", "Ray", false),
		"cy@example.com":  userFieldsOf("cy@example.com", "Cy", "Day", true),
		"di@example.com":  userFieldsOf("di@example.com", "Di", "Fox", true),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("users:\n%v\nwant\n%v", got, want)
	}
	if c.cached("bob@example.com") != e.sim.UserID("bob@example.com") {
		t.Error("the listing did not remember SCC's ids")
	}
	var groups []map[string]any
	if err := c.ListFields(context.Background(), connectors.Group, func(id string, f map[string]any) error {
		if id != g {
			t.Errorf("group id %q, want %q", id, g)
		}
		groups = append(groups, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []map[string]any{{fieldName: "Ops", fieldDescription: "on call"}}; !reflect.DeepEqual(groups, want) {
		t.Errorf("groups %v, want %v", groups, want)
	}
	var ids []string
	if err := c.List(context.Background(), connectors.User, func(id string) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if slices.Sort(ids); !slices.Equal(ids, []string{"ann@example.com", "bob@example.com", "cy@example.com", "di@example.com"}) {
		t.Errorf("List ids %v", ids)
	}
}

// TestCheckFieldsOfOneResource: the console's check of one resource reads
// that user (or admin group) alone from SCC, reports the fields an
// administrator changed, and with repair puts SCIM's values back.
func TestCheckFieldsOfOneResource(t *testing.T) {
	b := newBridge(t)
	b.start()
	b.putUser("u1", "ann@example.com", "Ann", "Lee", true)
	b.putGroup("g1", "Sales", "u1")
	b.drain()
	b.e.sim.EditUser("ann@example.com", "", "Smith", "")
	b.e.sim.EditGroup(b.targetID(connectors.Group, "g1"), "Sales (old)", "")
	ctx := context.Background()
	for _, s := range []struct {
		typ, id string
		want    connectors.FieldDrift
	}{
		{connectors.User, "u1", connectors.FieldDrift{ID: "u1", Field: fieldLastName, Target: "Smith", SCIM: "Lee"}},
		{connectors.Group, "g1", connectors.FieldDrift{ID: "g1", Field: fieldName, Target: "Sales (old)", SCIM: "Sales"}},
	} {
		got, err := b.d.CheckFields(ctx, s.typ, s.id, false)
		if err != nil || len(got) != 1 || got[0].State != connectors.FieldsDrifted || !slices.Equal(got[0].Fields, []connectors.FieldDrift{s.want}) {
			t.Fatalf("check %s: %+v %v, want %+v", s.id, got, err, s.want)
		}
		if got, err = b.d.CheckFields(ctx, s.typ, s.id, true); err != nil || !got[0].Repaired {
			t.Fatalf("repair %s: %+v %v", s.id, got, err)
		}
		b.drain()
		if got, err = b.d.CheckFields(ctx, s.typ, s.id, false); err != nil || got[0].State != connectors.FieldsInSync {
			t.Errorf("after repair %s: %+v %v", s.id, got, err)
		}
	}
	if u, _ := b.e.sim.User("ann@example.com"); u.LastName != "Lee" {
		t.Errorf("SCC holds %+v after repair", u)
	}
}
