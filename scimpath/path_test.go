package scimpath

import (
	"errors"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in                  string
		urn, attr, sub, flt string
		str                 string // String(); "" for in
	}{
		{in: "userName", attr: "userName"},
		{in: "name.givenName", attr: "name", sub: "givenName"},
		{in: `emails[type eq "work"].value`, attr: "emails", sub: "value", flt: `type eq "work"`},
		{in: `emails[type eq work].value`, attr: "emails", sub: "value", flt: `type eq "work"`, str: `emails[type eq "work"].value`},
		{in: `members[value eq "x"]`, attr: "members", flt: `value eq "x"`},
		{in: `members[value eq "a]b"]`, attr: "members", flt: `value eq "a]b"`},
		{in: ent + ":manager.value", urn: ent, attr: "manager", sub: "value"},
		{in: ent + ":department", urn: ent, attr: "department"},
		{in: ent, urn: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", attr: "User"},
		{in: "urn:ietf:params:scim:schemas:extension:acme-corp:2.0:User:badge_no", urn: "urn:ietf:params:scim:schemas:extension:acme-corp:2.0:User", attr: "badge_no"},
		{in: "members.$ref", attr: "members", sub: "$ref"},
		{in: " title ", attr: "title", str: "title"},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		var flt string
		if p.Filter != nil {
			flt = p.Filter.String()
		}
		if p.URN != tt.urn || p.Attr != tt.attr || p.SubAttr != tt.sub || flt != tt.flt {
			t.Errorf("ParsePath(%q) = %q %q %q [%s]; want %q %q %q [%s]", tt.in, p.URN, p.Attr, p.SubAttr, flt, tt.urn, tt.attr, tt.sub, tt.flt)
		}
		want := tt.str
		if want == "" {
			want = tt.in
		}
		if got := p.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	for _, s := range []string{"", "name.", ".x", "a.b.c", "1abc", "na me", `emails[type eq "work"`, `emails[type eq]`,
		`emails[type eq "x"]value`, `emails[type eq "x"].`, `name.x[type eq "x"]`, "urn:", "a/b", `emails[type eq "x"].a.b`} {
		var e *Error
		if _, err := ParsePath(s); !errors.As(err, &e) || e.ScimType != ErrInvalidPath {
			t.Errorf("ParsePath(%q) err = %v, want invalidPath", s, err)
		}
	}
}

func TestPathGet(t *testing.T) {
	user := sampleUser(t)
	rs := CoreUser()
	tests := []struct {
		path string
		want string // JSON of the result; "null" for nil
	}{
		{"userName", `["Bjensen@example.com"]`},
		{"USERNAME", `["Bjensen@example.com"]`},
		{"name.givenName", `["Barbara"]`},
		{"name", `[{"familyName":"Jensen","formatted":"Ms. Barbara J Jensen III","givenName":"Barbara"}]`},
		{"emails.value", `["bjensen@example.com","babs@jensen.org"]`},
		{`emails[type eq "work"].value`, `["bjensen@example.com"]`},
		{`emails[type eq "WORK"].value`, `["bjensen@example.com"]`},
		{`emails[type eq "other"].value`, `null`},
		{`emails[primary eq true]`, `[{"primary":true,"type":"work","value":"bjensen@example.com"}]`},
		{`emails.display`, `null`},
		{"nickName", `null`},
		{"active", `[true]`},
		{ent + ":department", `["Tour Operations"]`},
		{ent + ":manager.value", `["26118915-6090-4610-87e4-49d8ca9f808d"]`},
		{ent + ":costCenter", `null`},
		{"urn:ietf:params:scim:schemas:core:2.0:User:title", `["Tour Guide"]`},
		{"meta.created", `["2010-01-23T04:56:22Z"]`},
		{"groups.display", `["Tour Guides"]`},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, schema := range []*ResourceSchema{&rs, nil} {
			if got := mustJSON(t, p.Get(user, schema)); got != tt.want {
				t.Errorf("Get(%q, schema %v) = %s, want %s", tt.path, schema != nil, got, tt.want)
			}
		}
	}
	// The whole extension.
	p, _ := ParsePath(ent)
	if got := p.Get(user, &rs); len(got) != 1 {
		t.Errorf("Get(%s) = %v", ent, got)
	}
	// The result is not the resource's own slice.
	p, _ = ParsePath("emails")
	got := p.Get(user, &rs)
	got[0] = "x"
	if _, ok := user["emails"].([]any)[0].(map[string]any); !ok {
		t.Error("Get returned the resource's slice")
	}
}

func TestSchemaLookup(t *testing.T) {
	rs := CoreUser()
	tests := []struct {
		path, name, typ string
		multi, exact    bool
		ok              bool
	}{
		{"userName", "userName", TypeString, false, false, true},
		{"USERNAME", "userName", TypeString, false, false, true},
		{"id", "id", TypeString, false, true, true},
		{"externalId", "externalId", TypeString, false, true, true},
		{"emails", "emails", TypeComplex, true, false, true},
		{"emails.value", "value", TypeString, false, false, true},
		{`emails[type eq "work"].primary`, "primary", TypeBoolean, false, false, true},
		{"meta.lastModified", "lastModified", TypeDateTime, false, false, true},
		{"active", "active", TypeBoolean, false, false, true},
		{ent + ":manager.value", "value", TypeString, false, false, true},
		{ent + ":department", "department", TypeString, false, false, true},
		{"department", "", "", false, false, false},
		{"name.nope", "", "", false, false, false},
		{ent, "", "", false, false, false},
	}
	for _, tt := range tests {
		a, ok := rs.Lookup(tt.path)
		if ok != tt.ok || a.Name != tt.name || a.Type != tt.typ || a.MultiValued != tt.multi || a.CaseExact != tt.exact {
			t.Errorf("Lookup(%q) = %+v, %v", tt.path, a, ok)
		}
	}
	for _, name := range []string{"id", "meta", "groups"} {
		if a, _ := rs.Lookup(name); !a.ReadOnly {
			t.Errorf("%s is not readOnly", name)
		}
	}
	g := CoreGroup()
	if a, ok := g.Lookup("members.value"); !ok || a.Type != TypeString {
		t.Errorf("group members.value = %+v, %v", a, ok)
	}

	acme := Schema{URN: "urn:acme:2.0:User", Attrs: []Attr{{Name: "badge", Type: TypeInteger}}}
	ext := rs.WithExtension(acme)
	if _, ok := ext.Lookup("urn:acme:2.0:User:badge"); !ok {
		t.Error("extension attribute not found")
	}
	if _, ok := rs.Lookup("urn:acme:2.0:User:badge"); ok {
		t.Error("WithExtension changed the receiver")
	}
	replaced := ext.WithExtension(Schema{URN: "URN:ACME:2.0:User"})
	if len(replaced.Extensions) != 2 {
		t.Errorf("same URN added twice: %d extensions", len(replaced.Extensions))
	}
}
