package hrimport

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/scimbridge/scimbridge/scim"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func workdayConfig(t testing.TB) Config {
	t.Helper()
	var cfg Config
	if err := yaml.UnmarshalWithOptions(fixture(t, "workday.yaml"), &cfg, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// groupNames lists a user's groups' display names, sorted.
func groupNames(u map[string]any) []string {
	var out []string
	for _, g := range asList(u["groups"]) {
		out = append(out, str(g, "display").(string))
	}
	slices.Sort(out)
	return out
}

// The messy Workday-style file: every good row lands with exactly its
// values, groups and manager; every bad row is reported with its row and
// column; a second run writes nothing.
func TestImportWorkdayFile(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	// An IdP's group and membership the import must leave alone.
	okta := b.createUser(map[string]any{"userName": "ana.oneil@example.com", "name": map[string]any{"givenName": "Ana"}})
	b.do("POST", "/Groups", map[string]any{"displayName": "Okta Admins", "members": []any{map[string]any{"value": okta}}})

	sum, out, err := b.run(fixture(t, "workday.csv"), Options{Config: workdayConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(out)
	if sum.Created != 4 || sum.Updated != 1 || sum.Rejected != 4 || sum.Failed != 0 || sum.OK() {
		t.Errorf("summary: %s", sum)
	}
	for _, want := range []string{
		`row 5: rejected francois@example [Work Email (emails[type eq "work"].value)]: "francois@example" is not a valid email address`,
		`row 6: rejected zoe.muller@example.com [Work Email (userName)]: duplicate key "zoe.muller@example.com": row 2 already has it`,
		`row 8: rejected sam.king@example.com [Status (active)]: "maybe" is not a recognised boolean`,
		`row 9: rejected  [Work Email (userName)]: missing matching key`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !slices.Equal(sum.Ignored, []string{"Hire Date", "Favourite Colour"}) {
		t.Errorf("ignored columns: %q", sum.Ignored)
	}

	zoe := b.user("zoe.muller@example.com")
	ana := b.user("ana.oneil@example.com")
	jose := b.user("jose.garcia@example.com")
	li := b.user("li.wei@example.com")
	renee := b.user("renée.d'arc@example.com")
	if zoe == nil || ana == nil || jose == nil || li == nil || renee == nil {
		t.Fatalf("missing users: %v %v %v %v %v", zoe, ana, jose, li, renee)
	}
	for _, bad := range []string{"francois@example", "sam.king@example.com"} {
		if b.user(bad) != nil {
			t.Errorf("rejected row %s was created", bad)
		}
	}
	checks := []struct {
		user map[string]any
		path []string
		want any
	}{
		{zoe, []string{"name", "givenName"}, "Zoë"},
		{zoe, []string{"name", "familyName"}, "Müller"},
		{zoe, []string{"title"}, "Lead; Platform"},
		{zoe, []string{"externalId"}, "1001"},
		{zoe, []string{"active"}, true},
		{zoe, []string{enterprise, "department"}, "Engineering"},
		{zoe, []string{enterprise, "manager", "value"}, ana["id"]},
		{ana, []string{"name", "familyName"}, "O'Neil"},
		{ana, []string{"title"}, "Head of\nEngineering"},
		{jose, []string{"name", "familyName"}, "García-Pérez"},
		{jose, []string{enterprise, "department"}, "Sales"},
		{jose, []string{enterprise, "manager", "value"}, ana["id"]},
		{li, []string{"active"}, false},
		{li, []string{enterprise, "manager", "value"}, jose["id"]}, // the manager's row comes first: resolved anyway
		{renee, []string{"title"}, "Counsel, EMEA"},
		{renee, []string{"name", "familyName"}, "d'Arc"},
		{renee, []string{scim.ProvenanceUserURN, "managedBy"}, "hr"},
		{ana, []string{scim.ProvenanceUserURN, "managedBy"}, "hr"},
	}
	for _, c := range checks {
		if got := str(c.user, c.path...); got != c.want {
			t.Errorf("%s %v = %#v, want %#v", c.user["userName"], c.path, got, c.want)
		}
	}
	if got := str(asList(zoe["emails"])[0], "value"); got != "zoe.muller@example.com" {
		t.Errorf("zoe's work email = %v", got)
	}
	for _, c := range []struct {
		user map[string]any
		want []string
	}{
		{zoe, []string{"Berlin", "Engineering"}},
		{ana, []string{"Leads", "Okta Admins"}},
		{jose, []string{"Sales"}},
		{li, []string{"Support"}},
		{renee, []string{"Legal", "Paris"}},
	} {
		if got := groupNames(c.user); !slices.Equal(got, c.want) {
			t.Errorf("%s groups = %q, want %q", c.user["userName"], got, c.want)
		}
	}

	// Again: nothing to do, nothing written.
	before := b.writes.Load()
	sum, out, err = b.run(fixture(t, "workday.csv"), Options{Config: workdayConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	if b.writes.Load() != before || sum.Writes != 0 || sum.Unchanged != 5 || sum.LinkRows != 0 {
		t.Errorf("second run wrote: %d server writes; %s\n%s", b.writes.Load()-before, sum, out)
	}
}

// A dry run prints the plan, in detail, and no write reaches the server.
func TestImportDryRunWritesNothing(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	b.createUser(map[string]any{"userName": "ana.oneil@example.com", "title": "CTO", scim.ProvenanceUserURN: map[string]any{"managedBy": "hr"}})
	b.createUser(map[string]any{"userName": "gone@example.com", scim.ProvenanceUserURN: map[string]any{"managedBy": "hr"}, "active": true})
	before := b.writes.Load()
	sum, out, err := b.run(fixture(t, "workday.csv"), Options{Config: workdayConfig(t), DryRun: true, Roster: true, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.writes.Load() != before || sum.Writes != 0 {
		t.Fatalf("dry run reached the server with %d writes", b.writes.Load()-before)
	}
	for _, want := range []string{
		"row 2: create zoe.muller@example.com",
		`    name.givenName: (none) -> "Zoë"`,
		"row 3: update ana.oneil@example.com",
		`    title: "CTO" -> "Head of\nEngineering"`,
		"row 5: rejected francois@example",
		"deactivate gone@example.com",
		"row 7: links li.wei@example.com",
		`    manager: (none) -> "jose.garcia@example.com"`,
		`    groups: (none) -> "Support"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if sum.Created != 4 || sum.Updated != 1 || sum.Deactivated != 1 || sum.Rejected != 4 {
		t.Errorf("dry run summary: %s", sum)
	}
	// The preview reads in file order.
	if i, j := strings.Index(out, "row 2: create"), strings.Index(out, "row 5: rejected"); i < 0 || j < i {
		t.Errorf("preview out of file order:\n%s", out)
	}
	if b.user("zoe.muller@example.com") != nil {
		t.Error("dry run created a user")
	}
}

var _ = errors.Is
