package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/store"
)

// testTypes stands in for the build's registrations.
var testTypes = []connectors.Registration{{Type: "webex", DefaultMapping: mapping.Spec{
	User: map[string]string{
		"userName":    `default(emails[type eq "work"].value, userName)`,
		"displayName": `default(displayName, "{{name.givenName}} {{name.familyName}}")`,
		"active":      `active`,
		"phone":       `phoneNumbers[type eq "work"].value`,
	},
	Group: map[string]string{"displayName": "displayName"},
}}}

func parseConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		out        string   // stdout when ok
		errs       []string // stderr lines
	}{
		{
			name: "defaults",
			yaml: "connectors:\n  webex:\n    enabled: true\n",
			out:  "config.yaml: ok (1 connector: webex)\n",
		},
		{
			name: "overrides, a custom extension and scopes",
			yaml: `
scim:
  extensions:
    - urn: urn:ietf:params:scim:schemas:extension:acme:2.0:User
      attributes: [{name: badge}]
connectors:
  webex:
    enabled: true
    mapping:
      user:
        email: lower(emails[type eq "work"].value)
        badge: urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge
        phone: ""
    scope:
      users: groups[display eq "Webex Users"]
      groups: displayName sw "Webex"
  second:
    type: webex
`,
			out: "config.yaml: ok (2 connectors: second, webex)\n",
		},
		{
			name: "mistakes",
			yaml: `
connectors:
  webex:
    enabled: true
    mapping:
      user:
        email: lowr(userName)
        first: name.givenNme
    scope:
      users: departmnt eq "Sales"
  other:
    type: slack
`,
			errs: []string{
				`connector "other": unknown type "slack" (have webex)`,
				`connector "webex": user field "email": expression "lowr(userName)": unknown function "lowr" (have default, join, lower, nth, trim, upper)`,
				`connector "webex": user field "first": expression "name.givenNme": unknown attribute "name.givenNme" (did you mean "name.givenName"?)`,
				`connector "webex": user scope: filter "departmnt eq \"Sales\"": unknown attribute "departmnt" (did you mean "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"?)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := checkConfig(parseConfig(t, tt.yaml), "config.yaml", testTypes, &out, &errOut)
			if tt.errs == nil {
				if err != nil || errOut.Len() > 0 {
					t.Fatalf("err %v, stderr %q", err, errOut.String())
				}
				if out.String() != tt.out {
					t.Errorf("stdout %q, want %q", out.String(), tt.out)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if want := "config.yaml: 4 problems"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			got := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.errs, "\n") {
				t.Errorf("stderr\n got %q\nwant %q", got, tt.errs)
			}
		})
	}
}

const planConfig = `
data_dir: %s
connectors:
  webex:
    enabled: true
    on_delete: deactivate
    mapping:
      user:
        email: lower(emails[type eq "work"].value)
    scope:
      users: groups[display eq "Webex Users"]
`

func TestPlanFile(t *testing.T) {
	dir := t.TempDir()
	cfg := parseConfig(t, strings.Replace(planConfig, "%s", dir, 1))
	user := `{"id":"u1","userName":"ada","active":false,
	  "name":{"givenName":"Ada","familyName":"Lovelace"},
	  "emails":[{"value":"Ada@Work.example","type":"work"}],
	  "groups":[{"value":"g1","display":"Webex Users"}]}`
	path := filepath.Join(dir, "u.json")
	if err := os.WriteFile(path, []byte(user), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := plan(cfg, planFlags{connector: "webex", file: path}, testTypes, nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	want := `connector: webex (type webex)
resource:  User u1 (from ` + path + `)
scope:     in scope (groups[display eq "Webex Users"]): provisioned (upsert)
note:      active is false: delivered as the target's disable, not as leaving scope
fields:
{
  "active": false,
  "displayName": "Ada Lovelace",
  "email": "ada@work.example",
  "userName": "Ada@Work.example"
}
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}

	// From stdin, out of scope.
	out.Reset()
	in := strings.NewReader(`{"id":"u2","userName":"bob","active":true}`)
	if err := plan(cfg, planFlags{connector: "webex", file: "-"}, testTypes, in, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "scope:     out of scope (groups[display eq \"Webex Users\"]): not provisioned; if the target holds it, deprovisioned (on_delete: deactivate)\n") {
		t.Errorf("got\n%s", out.String())
	}

	// A group file.
	out.Reset()
	in = strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Webex Users"}`)
	if err := plan(cfg, planFlags{connector: "webex", file: "-"}, testTypes, in, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "resource:  Group g1") || !strings.Contains(out.String(), `"displayName": "Webex Users"`) {
		t.Errorf("got\n%s", out.String())
	}

	if err := plan(cfg, planFlags{connector: "nope", file: path}, testTypes, nil, &out, nil); err == nil || !strings.Contains(err.Error(), `no connector "nope" in config (have webex)`) {
		t.Errorf("unknown connector: %v", err)
	}
}

// A stored user is planned with its groups derived from memberships, as
// the dispatcher sees it.
func TestPlanStored(t *testing.T) {
	dir := t.TempDir()
	cfg := parseConfig(t, strings.Replace(planConfig, "%s", dir, 1))
	db, err := store.Open(filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *store.Tx) error {
		if _, err := tx.CreateResource(store.TypeUser, "u1", []byte(`{"id":"u1","userName":"ada@x.example","active":true}`)); err != nil {
			return err
		}
		if _, err := tx.CreateResource(store.TypeGroup, "g1", []byte(`{"id":"g1","displayName":"Webex Users"}`)); err != nil {
			return err
		}
		_, err := tx.AddMember("g1", "u1", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	var out bytes.Buffer
	if err := plan(cfg, planFlags{connector: "webex", user: "u1"}, testTypes, nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "scope:     in scope") || !strings.Contains(out.String(), `"userName": "ada@x.example"`) {
		t.Errorf("got\n%s", out.String())
	}
	if err := plan(cfg, planFlags{connector: "webex", user: "nope"}, testTypes, nil, &out, nil); err == nil {
		t.Error("a missing user: no error")
	}
}

func TestPlanBadMapping(t *testing.T) {
	cfg := parseConfig(t, "connectors:\n  webex:\n    mapping:\n      user:\n        email: lowr(userName)\n")
	var out, errOut bytes.Buffer
	err := plan(cfg, planFlags{connector: "webex", file: "-"}, testTypes, strings.NewReader(`{}`), &out, &errOut)
	if err == nil || err.Error() != `plan: connector "webex": 1 problem in config.yaml` {
		t.Errorf("error %v", err)
	}
	want := `connector "webex": user field "email": expression "lowr(userName)": unknown function "lowr" (have default, join, lower, nth, trim, upper)` + "\n"
	if errOut.String() != want || out.Len() != 0 {
		t.Errorf("stderr %q, stdout %q", errOut.String(), out.String())
	}
}

// The printed mappings are valid config.yaml: fed back, they give the
// same Spec, quotes of literals and templates included.
func TestShowMappingsRoundTrip(t *testing.T) {
	cfg := parseConfig(t, `
connectors:
  webex:
    mapping:
      user:
        dept: '"Sales"'
        full: '"{{name.givenName}} {{name.familyName}}"'
        phone: ""
    scope:
      users: groups[display eq "Webex Users"]
`)
	var out bytes.Buffer
	if err := showMappings(cfg, testTypes, &out); err != nil {
		t.Fatal(err)
	}
	back := parseConfig(t, out.String())
	want := mapping.Merge(testTypes[0].DefaultMapping, cfg.Connectors["webex"].Mapping)
	got := back.Connectors["webex"]
	if !reflect.DeepEqual(got.Mapping, want) || got.Scope != cfg.Connectors["webex"].Scope {
		t.Errorf("round trip:\n%s\ngot %v %v\nwant %v", out.String(), got.Mapping, got.Scope, want)
	}
	if _, ok := got.Mapping.User["phone"]; ok {
		t.Error("a removed field came back")
	}
}

// Every connector's shipped mapping compiles, and the repository's
// config.yaml passes check-config.
func TestShippedMappings(t *testing.T) {
	for _, r := range registrations() {
		if _, err := mapping.New(r.DefaultMapping, mapping.Scope{}); err != nil {
			t.Errorf("%s default mapping:\n%v", r.Type, err)
		}
	}
	cfg, err := config.Load(filepath.Join("..", "..", "config.yaml"))
	if err != nil {
		t.Skip(err) // the example config needs environment it may not have
	}
	var out, errOut bytes.Buffer
	if err := checkConfig(cfg, "config.yaml", registrations(), &out, &errOut); err != nil {
		t.Errorf("%v\n%s", err, errOut.String())
	}
}
