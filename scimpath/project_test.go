package scimpath

import (
	"reflect"
	"strings"
	"testing"
)

func TestProject(t *testing.T) {
	const (
		id      = `"id":"2819c223-7f76-453a-919d-413861904646"`
		schemas = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]`
		meta    = `"meta":{"created":"2010-01-23T04:56:22Z","lastModified":"2011-05-13T04:42:34.123-07:00","location":"https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646","resourceType":"User","version":"W/\"a330bc54f0671c9\""}`
		always  = id + `,` + meta + `,` + schemas
	)
	tests := []struct {
		name          string
		attrs, excl   []string
		want          string // JSON of the result
		wantFullMinus []string
	}{
		{name: "userName", attrs: []string{"userName"}, want: `{` + id + `,` + meta + `,` + schemas + `,"userName":"Bjensen@example.com"}`},
		{name: "case-insensitive", attrs: []string{"USERNAME", "DisplayName"}, want: `{"displayName":"Babs Jensen",` + always + `,"userName":"Bjensen@example.com"}`},
		{name: "Entra userName,emails", attrs: []string{"userName", "emails"},
			want: `{"emails":[{"primary":true,"type":"work","value":"bjensen@example.com"},{"type":"home","value":"babs@jensen.org"}],` + always + `,"userName":"Bjensen@example.com"}`},
		{name: "sub-attribute", attrs: []string{"name.givenName"}, want: `{` + always + `,"name":{"givenName":"Barbara"}}`},
		{name: "two sub-attributes", attrs: []string{"name.givenName", "name.familyName"}, want: `{` + always + `,"name":{"familyName":"Jensen","givenName":"Barbara"}}`},
		{name: "multi-valued sub-attribute", attrs: []string{"emails.value"},
			want: `{"emails":[{"value":"bjensen@example.com"},{"value":"babs@jensen.org"}],` + always + `}`},
		{name: "two multi-valued sub-attributes", attrs: []string{"emails.value", "emails.type"},
			want: `{"emails":[{"type":"work","value":"bjensen@example.com"},{"type":"home","value":"babs@jensen.org"}],` + always + `}`},
		{name: "whole wins over sub-attribute", attrs: []string{"emails.value", "emails"},
			want: `{"emails":[{"primary":true,"type":"work","value":"bjensen@example.com"},{"type":"home","value":"babs@jensen.org"}],` + always + `}`},
		{name: "filter in attributes is tolerated", attrs: []string{`emails[type eq "work"]`},
			want: `{"emails":[{"primary":true,"type":"work","value":"bjensen@example.com"},{"type":"home","value":"babs@jensen.org"}],` + always + `}`},
		{name: "extension attribute", attrs: []string{ent + ":department"},
			want: `{` + always + `,"` + ent + `":{"department":"Tour Operations"}}`},
		{name: "extension sub-attribute", attrs: []string{ent + ":manager.value", ent + ":employeeNumber"},
			want: `{` + always + `,"` + ent + `":{"employeeNumber":"701984","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`},
		{name: "whole extension", attrs: []string{ent},
			want: `{` + always + `,"` + ent + `":{"department":"Tour Operations","employeeNumber":"701984","manager":{"displayName":"John Smith","value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`},
		{name: "whole extension and its attributes", attrs: []string{ent, ent + ":department", ent + ":manager.value"},
			want: `{` + always + `,"` + ent + `":{"department":"Tour Operations","employeeNumber":"701984","manager":{"displayName":"John Smith","value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`},
		{name: "core URN prefix", attrs: []string{"urn:ietf:params:scim:schemas:core:2.0:User:userName"},
			want: `{` + always + `,"userName":"Bjensen@example.com"}`},
		{name: "elements lacking the sub-attribute", attrs: []string{"emails.primary"},
			want: `{"emails":[{"primary":true}],` + always + `}`},
		{name: "no element has the sub-attribute", attrs: []string{"emails.display"}, want: `{` + always + `}`},
		{name: "absent and invalid names", attrs: []string{"nickName", "na me", ent + ":costCenter"}, want: `{` + always + `}`},
		{name: "attributes and meta excluded", attrs: []string{"userName"}, excl: []string{"meta"},
			want: `{` + id + `,` + schemas + `,"userName":"Bjensen@example.com"}`},

		{name: "exclude members-like attribute", excl: []string{"emails", "groups"}, wantFullMinus: []string{"emails", "groups"}},
		{name: "exclude never drops id or schemas", excl: []string{"id", "schemas", "meta"}, wantFullMinus: []string{"meta"}},
		{name: "exclude case-insensitive", excl: []string{"UserName"}, wantFullMinus: []string{"userName"}},
		{name: "exclude extension", excl: []string{ent}, wantFullMinus: []string{ent}},
	}
	rs := CoreUser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := sampleUser(t)
			for _, schema := range []*ResourceSchema{&rs, nil} {
				got := Project(user, tt.attrs, tt.excl, schema)
				want := ""
				if tt.want != "" {
					want = mustJSON(t, decode(t, tt.want))
				}
				if tt.wantFullMinus != nil {
					full := sampleUser(t)
					for _, k := range tt.wantFullMinus {
						delete(full, k)
					}
					want = mustJSON(t, full)
				}
				if g := mustJSON(t, got); g != want {
					t.Errorf("schema %v:\n got %s\nwant %s", schema != nil, g, want)
				}
			}
			if !reflect.DeepEqual(user, sampleUser(t)) {
				t.Error("Project changed its input")
			}
		})
	}
}

func TestProjectExcludeSubAttributes(t *testing.T) {
	rs := CoreUser()
	user := sampleUser(t)
	got := Project(user, nil, []string{"emails.type", "name.formatted", ent + ":manager.displayName", ent + ":department"}, &rs)
	for path, want := range map[string]string{
		"emails": `[{"primary":true,"value":"bjensen@example.com"},{"value":"babs@jensen.org"}]`,
		"name":   `{"familyName":"Jensen","givenName":"Barbara"}`,
		ent:      `{"employeeNumber":"701984","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}`,
	} {
		if g := mustJSON(t, got[path]); g != want {
			t.Errorf("%s = %s, want %s", path, g, want)
		}
	}
	if !reflect.DeepEqual(user, sampleUser(t)) {
		t.Error("Project changed its input")
	}
}

func TestProjectGroupMembersExcluded(t *testing.T) {
	rs := CoreGroup()
	got := Project(sampleGroup(t), nil, []string{"members"}, &rs)
	want := `{"displayName":"Tour Guides","id":"e9e30dba-f08f-4109-8486-d5c6a331660a","meta":{"created":"2010-01-23T04:56:22Z","resourceType":"Group"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`
	if g := mustJSON(t, got); g != want {
		t.Errorf("got %s\nwant %s", g, want)
	}
}

// Project only reads its input: concurrent projections of one shared
// resource are race-free (run with -race).
func TestProjectConcurrent(t *testing.T) {
	rs := CoreUser()
	user := sampleUser(t)
	done := make(chan bool)
	for range 4 {
		go func() {
			defer func() { done <- true }()
			for range 50 {
				Project(user, []string{ent, ent + ":department", "emails.value", "name.givenName"}, []string{"meta", "emails.type"}, &rs)
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func FuzzProject(f *testing.F) {
	f.Add("userName,emails.value", "meta")
	f.Add(ent+":manager.value,name", "emails.type")
	f.Add(`emails[type eq "work"].value`, ent)
	f.Add("", "id,schemas,"+ent+":department")
	rs := CoreUser()
	orig := decode(f, sampleUserJSON)
	f.Fuzz(func(t *testing.T, attrs, excluded string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		for _, schema := range []*ResourceSchema{&rs, nil} {
			out := Project(orig, split(attrs), split(excluded), schema)
			if out["id"] == nil || out["schemas"] == nil {
				t.Fatalf("id or schemas dropped: %v", out)
			}
			mustJSON(t, out)
		}
		if !reflect.DeepEqual(orig, decode(t, sampleUserJSON)) {
			t.Fatal("Project changed its input")
		}
	})
}

// TestProjectExcludeEmptiesNothingBehind: an exclusion that takes every
// sub-attribute leaves the attribute unassigned (RFC 7643 §2.5), not an
// empty object, list of empty objects or empty extension object.
func TestProjectExcludeEmptiesNothingBehind(t *testing.T) {
	rs := CoreUser()
	user := sampleUser(t)
	got := Project(user, nil, []string{
		"emails.type", "emails.value", "emails.primary",
		"name.formatted", "name.familyName", "name.givenName", "name.middleName", "name.honorificPrefix", "name.honorificSuffix",
		ent + ":manager.displayName", ent + ":manager.value", ent + ":department", ent + ":employeeNumber", ent + ":costCenter", ent + ":organization", ent + ":division",
	}, &rs)
	for _, k := range []string{"emails", "name", ent} {
		if v, ok := got[k]; ok {
			t.Errorf("%s = %s, want it left out", k, mustJSON(t, v))
		}
	}
	if got["userName"] == nil || got["phoneNumbers"] == nil {
		t.Errorf("other attributes lost: %s", mustJSON(t, got))
	}
	if !reflect.DeepEqual(user, sampleUser(t)) {
		t.Error("Project changed its input")
	}
}
