package mapping

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/scimpath"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// webexLike is a realistic connector mapping of about ten fields.
var webexLike = Spec{
	User: map[string]string{
		"userName":       `default(emails[type eq "work"].value, emails[primary eq true].value, userName)`,
		"email":          `lower(emails[type eq "work"].value)`,
		"firstName":      `name.givenName`,
		"lastName":       `name.familyName`,
		"displayName":    `default(displayName, "{{name.givenName}} {{name.familyName}}")`,
		"title":          `title`,
		"active":         `active`,
		"mobile":         `phoneNumbers[type eq "mobile"].value`,
		"department":     enterprise + `:department`,
		"manager":        enterprise + `:manager.value`,
		"employeeNumber": enterprise + `:employeeNumber`,
		"externalId":     `externalId`,
	},
	Group: map[string]string{
		"displayName": `displayName`,
		"externalId":  `externalId`,
	},
}

func readJSON(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func golden(t *testing.T, name string, got any) {
	t.Helper()
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, name, append(data, '\n'))
}

func mustNew(t testing.TB, spec Spec, scope Scope, opts ...Option) *Mapper {
	t.Helper()
	m, err := New(spec, scope, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestMapOktaUserGolden(t *testing.T) {
	m := mustNew(t, webexLike, Scope{})
	got, err := m.Map(User, readJSON(t, "okta_user.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "okta_user.webex.golden.json", got)
}

// Every expression form against the real scimpath evaluator.
func TestMapExpressions(t *testing.T) {
	user := readJSON(t, "okta_user.json")
	tests := []struct {
		expr string
		want any // nil: omitted
	}{
		{`userName`, "Barbara.Jensen@Example.com"},
		{`USERNAME`, "Barbara.Jensen@Example.com"}, // names are case-insensitive
		{`name.givenName`, "Barbara"},
		{`name.middleName`, nil},
		{`nickName`, nil},
		{`active`, true},
		{`emails[type eq "work"].value`, "Barbara.Jensen@Example.com"},
		{`emails[type eq "WORK"].value`, "Barbara.Jensen@Example.com"}, // type is caseExact=false
		{`emails[primary eq true].value`, "Barbara.Jensen@Example.com"},
		{`emails[type eq "fax"].value`, nil},
		{`phoneNumbers[type eq "mobile"].value`, "+1 555 555 4444"},
		{`emails.value`, []any{"bjensen@home.example", "Barbara.Jensen@Example.com", "babs@other.example"}},
		{`emails[type ne "work"].value`, "bjensen@home.example"}, // a value filter gives its first match
		{`join(emails[type ne "work"].value, ";")`, "bjensen@home.example;babs@other.example"},
		{`groups.display`, []any{"Webex Users", "Sales"}},
		{`emails[type eq "work"]`, map[string]any{"value": "Barbara.Jensen@Example.com", "type": "work", "primary": true}},
		{enterprise + `:department`, "Tour Operations"},
		{enterprise + `:manager.value`, "26118915-6090-4610-87e4-49d8ca9f808d"},
		{enterprise + `:division`, nil},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName`, "Barbara.Jensen@Example.com"},
		{`lower(userName)`, "barbara.jensen@example.com"},
		{`upper(` + enterprise + `:costCenter)`, "4130"},
		{`trim(" x ")`, "x"},
		{`default(nickName, displayName)`, "Babs Jensen"},
		{`default(nickName, "n/a")`, "n/a"},
		{`join(emails.value, ",")`, "bjensen@home.example,Barbara.Jensen@Example.com,babs@other.example"},
		{`nth(emails.value, 1)`, "bjensen@home.example"},
		{`nth(emails.value, 2)`, "Barbara.Jensen@Example.com"},
		{`nth(emails.value, 3)`, "babs@other.example"},
		{`nth(emails.value, 4)`, nil},
		{`nth(phoneNumbers.value, 2)`, "+1 555 555 4444"},
		{`"{{name.givenName}} {{name.familyName}}"`, "Barbara Jensen"},
		{`"{{name.givenName}} {{name.middleName}} {{name.familyName}}"`, "Barbara  Jensen"},
		{`"{{name.honorificPrefix}} {{name.familyName}}"`, "Jensen"},
		{`"{{name.middleName}}"`, nil},
		{`"{{lower(name.givenName)}}.{{lower(name.familyName)}}@corp.example"`, "barbara.jensen@corp.example"},
		{`"Sales"`, "Sales"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			m := mustNew(t, Spec{User: map[string]string{"f": tt.expr}}, Scope{})
			got, err := m.Map(User, user)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := got["f"]
			if !ok {
				v = nil
			}
			if !reflect.DeepEqual(v, tt.want) {
				t.Errorf("got %#v, want %#v", v, tt.want)
			}
		})
	}
}

func TestMapMissingEverything(t *testing.T) {
	m := mustNew(t, webexLike, Scope{})
	got, err := m.Map(User, map[string]any{"id": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("an empty user mapped to %v, want no fields", got)
	}
	got, err = m.Map(User, map[string]any{"userName": "a@b.example", "active": false})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"userName": "a@b.example", "active": false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestMapGroup(t *testing.T) {
	m := mustNew(t, webexLike, Scope{})
	got, err := m.Map(Group, map[string]any{"id": "g1", "displayName": "Sales", "externalId": "x-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"displayName": "Sales", "externalId": "x-1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := m.Map("Device", nil); err == nil {
		t.Error("Map of an unknown type: no error")
	}
}

// The mapped list must not alias the resource: a connector may keep it.
func TestMapDoesNotAlias(t *testing.T) {
	m := mustNew(t, Spec{User: map[string]string{"all": "emails.value"}}, Scope{})
	res := map[string]any{"emails": []any{map[string]any{"value": "a"}, map[string]any{"value": "b"}}}
	first, _ := m.Map(User, res)
	second, _ := m.Map(User, res)
	first["all"].([]any)[0] = "changed"
	if second["all"].([]any)[0] != "b" && second["all"].([]any)[0] != "a" {
		t.Errorf("second result changed with the first: %v", second)
	}
}

func TestInScope(t *testing.T) {
	webexUser := map[string]any{"userName": "a", "active": true,
		"groups": []any{map[string]any{"value": "g1", "display": "Webex Users"}}}
	salesUser := map[string]any{"userName": "b", "active": false,
		enterprise: map[string]any{"department": "Sales"}}
	nobody := map[string]any{"userName": "c"}
	tests := []struct {
		scope string
		res   map[string]any
		want  bool
	}{
		{``, nobody, true}, // default: everyone
		{`groups[display eq "Webex Users"]`, webexUser, true},
		{`groups[display eq "Webex Users"]`, salesUser, false},
		{`groups[display eq "webex users"]`, webexUser, true}, // display is case-insensitive
		{`groups.display eq "Webex Users"`, webexUser, true},
		{enterprise + `:department eq "Sales"`, salesUser, true},
		{enterprise + `:department eq "Sales"`, webexUser, false},
		{`active eq true`, webexUser, true},
		{`active eq true`, salesUser, false},
		{`active eq true`, nobody, false},
		{`groups[display eq "Webex Users"] or ` + enterprise + `:department eq "Sales"`, salesUser, true},
		{`not (groups[display eq "Webex Users"])`, webexUser, false},
		{`userName sw "b"`, salesUser, true}, // an unquoted value, as IdPs write them, works too
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			m := mustNew(t, Spec{}, Scope{Users: tt.scope})
			if got := m.InScope(User, tt.res); got != tt.want {
				t.Errorf("InScope = %v, want %v", got, tt.want)
			}
		})
	}
}

// Entry and exit: the dispatcher compares InScope before and after a
// change. Deactivation alone must not look like leaving scope.
func TestScopeEntryExit(t *testing.T) {
	m := mustNew(t, Spec{}, Scope{Users: `groups[display eq "Webex Users"]`, Groups: `displayName sw "Webex"`})
	member := func(active bool, groups ...string) map[string]any {
		var gs []any
		for _, g := range groups {
			gs = append(gs, map[string]any{"value": "id-" + g, "display": g})
		}
		res := map[string]any{"userName": "u", "active": active}
		if gs != nil {
			res["groups"] = gs
		}
		return res
	}
	tests := []struct {
		name          string
		before, after map[string]any
		want          Transition
	}{
		{"added to the scope group", member(true), member(true, "Webex Users"), Enter},
		{"removed from the scope group", member(true, "Webex Users", "Sales"), member(true, "Sales"), Leave},
		{"deactivated in scope", member(true, "Webex Users"), member(false, "Webex Users"), Stay},
		{"reactivated in scope", member(false, "Webex Users"), member(true, "Webex Users"), Stay},
		{"other group changes", member(true), member(true, "Sales"), Outside},
		{"created in scope", nil, member(true, "Webex Users"), Enter},
		{"created out of scope", nil, member(true), Outside},
		{"deleted in scope", member(true, "Webex Users"), nil, Leave},
		{"deleted out of scope", member(true), nil, Outside},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Transition(User, tt.before, tt.after); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if !m.InScope(Group, map[string]any{"displayName": "Webex Users"}) || m.InScope(Group, map[string]any{"displayName": "Sales"}) {
		t.Error("group scope not applied")
	}
	if m.InScope("Device", map[string]any{}) {
		t.Error("an unknown type is in scope")
	}
}

// A bad config gives one line per problem naming the field and expression.
func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		scope Scope
		want  []string
	}{
		{"unknown function", Spec{User: map[string]string{"email": "lowr(userName)"}}, Scope{},
			[]string{`user field "email": expression "lowr(userName)": unknown function "lowr" (have default, join, lower, nth, trim, upper)`}},
		{"typo in attribute", Spec{User: map[string]string{"firstName": "name.givenNme"}}, Scope{},
			[]string{`user field "firstName": expression "name.givenNme": unknown attribute "name.givenNme" (did you mean "name.givenName"?)`}},
		{"unknown top attribute", Spec{User: map[string]string{"x": "usrName"}}, Scope{},
			[]string{`user field "x": expression "usrName": unknown attribute "usrName" (did you mean "userName"?)`}},
		{"extension attribute without urn", Spec{User: map[string]string{"dept": "department"}}, Scope{},
			[]string{`user field "dept": expression "department": unknown attribute "department": it is an extension attribute, write urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`}},
		{"unknown extension attribute", Spec{User: map[string]string{"dept": enterprise + ":departmnt"}}, Scope{},
			[]string{`user field "dept": expression "` + enterprise + `:departmnt": unknown attribute "` + enterprise + `:departmnt" (did you mean "` + enterprise + `:department"?)`}},
		{"unknown schema", Spec{User: map[string]string{"b": "urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge"}}, Scope{},
			[]string{`user field "b": expression "urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge": unknown schema "urn:ietf:params:scim:schemas:extension:acme:2.0:User": declare it under scim.extensions in config.yaml`}},
		{"bad value filter", Spec{User: map[string]string{"email": `emails[type eq "work".value`}}, Scope{},
			[]string{`user field "email": expression "emails[type eq \"work\".value": bad attribute path "emails[type eq \"work\".value"`}},
		{"unknown attribute in value filter", Spec{User: map[string]string{"email": `emails[kind eq "work"].value`}}, Scope{},
			[]string{`user field "email": expression "emails[kind eq \"work\"].value": unknown attribute "kind"`}},
		{"value filter on a single-valued attribute", Spec{User: map[string]string{"n": `name[givenName eq "x"].familyName`}}, Scope{},
			[]string{`user field "n": expression "name[givenName eq \"x\"].familyName": "name" is not multi-valued: a [value filter] needs an attribute such as emails`}},
		{"group attribute in user spec", Spec{Group: map[string]string{"name": "userName"}}, Scope{},
			[]string{`group field "name": expression "userName": unknown attribute "userName" (if you meant a constant, quote it inside the YAML string: '"userName"')`}},
		{"transform of a complex attribute", Spec{User: map[string]string{"e": "lower(emails)"}}, Scope{},
			[]string{`user field "e": expression "lower(emails)": lower needs a simple value, not a complex attribute: add a sub-attribute such as .value`}},
		{"constant without quotes", Spec{User: map[string]string{"dept": "Sales"}}, Scope{},
			[]string{`user field "dept": expression "Sales": unknown attribute "Sales" (if you meant a constant, quote it inside the YAML string: '"Sales"')`}},
		{"bad bare template", Spec{User: map[string]string{"d": "{{name.givenName}} {{name.familyNam}}"}}, Scope{},
			[]string{`user field "d": expression "{{name.givenName}} {{name.familyNam}}": template {{name.familyNam}}: unknown attribute "name.familyNam" (did you mean "name.familyName"?)`}},
		{"transposed sub-attribute", Spec{User: map[string]string{"e": `emails[type eq "work"].vaule`}}, Scope{},
			[]string{`user field "e": expression "emails[type eq \"work\"].vaule": unknown attribute "emails.vaule" (did you mean "emails.value"?)`}},
		{"single quotes", Spec{User: map[string]string{"d": `'Sales'`}}, Scope{},
			[]string{`user field "d": expression "'Sales'": bad attribute path "'Sales'" (strings take double quotes: in YAML write '"Sales"')`}},
		{"template missing a brace", Spec{User: map[string]string{"d": `{{name.givenName} {{name.familyName}}`}}, Scope{},
			[]string{`user field "d": expression "{{name.givenName} {{name.familyName}}": template "{{name.givenName} ": missing }} before the next {{`}},
		{"syntax", Spec{User: map[string]string{"e": "lower(userName"}}, Scope{},
			[]string{`user field "e": expression "lower(userName": missing ")" to close lower( at column 15`}},
		{"scope: unknown attribute", Spec{}, Scope{Users: `departmnt eq "Sales"`},
			[]string{`user scope: filter "departmnt eq \"Sales\"": unknown attribute "departmnt" (did you mean "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"?)`}},
		{"scope: unknown sub-attribute", Spec{}, Scope{Users: `groups[name eq "Webex Users"]`},
			[]string{`user scope: filter "groups[name eq \"Webex Users\"]": unknown attribute "groups.name"`}},
		{"scope: syntax", Spec{}, Scope{Groups: `displayName eq`},
			nil}, // message from scimpath; checked below for shape only
		{"several, sorted", Spec{User: map[string]string{"b": "nope()", "a": "x y"}, Group: map[string]string{"c": `"unterminated`}}, Scope{Users: "bad filter"},
			[]string{
				`user field "a": expression "x y": bad attribute path "x y"`,
				`user field "b": expression "nope()": unknown function "nope" (have default, join, lower, nth, trim, upper)`,
				`group field "c": expression "\"unterminated": unterminated string at column 1`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.spec, tt.scope)
			if err == nil {
				t.Fatalf("New succeeded: %v", m)
			}
			if m != nil {
				t.Error("a Mapper and an error")
			}
			lines := Errors(err)
			for _, l := range lines {
				if strings.Contains(l.Error(), "\n") {
					t.Errorf("a problem spans lines: %q", l)
				}
			}
			if tt.want == nil {
				if len(lines) != 1 || !strings.HasPrefix(lines[0].Error(), "group scope: filter ") {
					t.Errorf("got %q", lines)
				}
				return
			}
			var got []string
			for _, l := range lines {
				got = append(got, l.Error())
			}
			if len(tt.want) == 3 {
				// The scope's line comes after the fields'; its text is scimpath's.
				if len(got) != 4 || !strings.HasPrefix(got[3], `user scope: filter "bad filter": `) {
					t.Fatalf("got %q", got)
				}
				got = got[:3]
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestErrorType(t *testing.T) {
	_, err := New(Spec{User: map[string]string{"email": "lowr(userName)"}}, Scope{})
	var me *Error
	if !errors.As(err, &me) || me.Field != "email" || me.Type != User || me.Expr != "lowr(userName)" {
		t.Errorf("got %#v", me)
	}
}

func TestCustomExtension(t *testing.T) {
	const acme = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
	user := coreUser().WithExtension(scimpath.Schema{URN: acme, Attrs: []scimpath.Attr{
		{Name: "badge", Type: scimpath.TypeString},
		{Name: "clearances", Type: scimpath.TypeString, MultiValued: true},
	}})
	spec := Spec{User: map[string]string{"badge": acme + ":badge", "clearances": acme + ":clearances", "c1": "nth(" + acme + ":clearances, 1)"}}
	if _, err := New(spec, Scope{}); err == nil {
		t.Fatal("custom extension accepted without its schema")
	}
	m := mustNew(t, spec, Scope{Users: acme + `:clearances eq "top"`}, WithSchemas(&user, nil))
	res := map[string]any{acme: map[string]any{"badge": "B-7", "clearances": []any{"secret", "top"}}}
	got, err := m.Map(User, res)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"badge": "B-7", "clearances": []any{"secret", "top"}, "c1": "secret"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !m.InScope(User, res) {
		t.Error("custom-extension scope did not match")
	}
}

func TestMerge(t *testing.T) {
	defaults := Spec{
		User:  map[string]string{"email": "emails.value", "firstName": "name.givenName", "phone": "phoneNumbers.value"},
		Group: map[string]string{"name": "displayName"},
	}
	override := Spec{User: map[string]string{"email": `lower(emails[type eq "work"].value)`, "phone": "", "title": "title"}}
	got := Merge(defaults, override)
	want := Spec{
		User:  map[string]string{"email": `lower(emails[type eq "work"].value)`, "firstName": "name.givenName", "title": "title"},
		Group: map[string]string{"name": "displayName"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if defaults.User["phone"] != "phoneNumbers.value" {
		t.Error("Merge changed its input")
	}
	if got := Merge(Spec{}, Spec{}); got.User != nil || got.Group != nil {
		t.Errorf("empty merge = %v", got)
	}
}

func TestFields(t *testing.T) {
	m := mustNew(t, Spec{User: map[string]string{"b": "userName", "a": "title", "gone": ""}}, Scope{})
	if got := m.Fields(User); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Fields = %v", got)
	}
}

func TestFingerprint(t *testing.T) {
	base := mustNew(t, webexLike, Scope{}).Fingerprint()
	same := mustNew(t, Merge(webexLike, Spec{User: map[string]string{"unused": ""}}), Scope{Users: " "}).Fingerprint()
	if base != same {
		t.Error("an equivalent spec changed the fingerprint")
	}
	scoped := mustNew(t, webexLike, Scope{Users: "active eq true"}).Fingerprint()
	remapped := mustNew(t, Merge(webexLike, Spec{User: map[string]string{"title": "upper(title)"}}), Scope{}).Fingerprint()
	if scoped == base || remapped == base || scoped == remapped {
		t.Error("a changed spec or scope kept the fingerprint")
	}
}

func BenchmarkMapUser(b *testing.B) {
	m := mustNew(b, webexLike, Scope{Users: `groups[display eq "Webex Users"]`})
	user := readJSON(b, "okta_user.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(User, user); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeUser is the yardstick for BenchmarkMapUser: decoding the
// same user from JSON, which the dispatcher does anyway. The ratio of the
// two survives a noisy machine better than either figure.
func BenchmarkDecodeUser(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "okta_user.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var res map[string]any
		if err := json.Unmarshal(data, &res); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInScope(b *testing.B) {
	m := mustNew(b, webexLike, Scope{Users: `groups[display eq "Webex Users"]`})
	user := readJSON(b, "okta_user.json")
	b.ReportAllocs()
	for b.Loop() {
		if !m.InScope(User, user) {
			b.Fatal("not in scope")
		}
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(webexLike, Scope{Users: `groups[display eq "Webex Users"]`}); err != nil {
			b.Fatal(err)
		}
	}
}

// Expressions through the real path compiler: whatever New accepts must
// map a realistic user without panicking.
func FuzzNew(f *testing.F) {
	for _, e := range webexLike.User {
		f.Add(e, `groups[display eq "Webex Users"]`)
	}
	f.Add(`nth(emails[type ne "work"].value, 2)`, `active eq true`)
	f.Add(`{{name.givenName}} {{name.familyName}}`, `userName sw b`)
	user := readJSON(f, "okta_user.json")
	f.Fuzz(func(t *testing.T, expr, scope string) {
		m, err := New(Spec{User: map[string]string{"f": expr}}, Scope{Users: scope})
		if err != nil {
			for _, e := range Errors(err) {
				if strings.Contains(e.Error(), "\n") {
					t.Fatalf("multi-line problem: %q", e)
				}
			}
			return
		}
		_, _ = m.Map(User, user)
		m.InScope(User, user)
	})
}

func TestConcurrentUse(t *testing.T) {
	m := mustNew(t, webexLike, Scope{Users: `groups[display eq "Webex Users"]`})
	user := readJSON(t, "okta_user.json")
	want, _ := m.Map(User, user)
	done := make(chan map[string]any)
	for range 4 {
		go func() {
			var got map[string]any
			for range 50 {
				got, _ = m.Map(User, user)
				m.InScope(User, user)
			}
			done <- got
		}()
	}
	for range 4 {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v", got)
		}
	}
}
