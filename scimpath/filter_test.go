package scimpath

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func TestNormalizeFilter(t *testing.T) {
	tests := []struct{ in, want string }{
		{`userName eq "bjensen"`, `userName eq "bjensen"`},
		{`userName sw O`, `userName sw "O"`},
		{`externalId eq jyoung`, `externalId eq "jyoung"`},
		{`meta.created gt 2015-10-10T14:38:21.8617979-07:00`, `meta.created gt "2015-10-10T14:38:21.8617979-07:00"`},
		{`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
			`name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org")`},
		{`active eq True`, `active eq true`},
		{`x eq NULL`, `x eq null`},
		{`x gt 12.5e3`, `x gt 12.5e3`},
		{`x eq 007`, `x eq "007"`},
		{`x eq -`, `x eq "-"`},
		{"  userName\tEQ  \"a\"  AND  title PR ", `userName eq "a" and title pr`},
		{`emails[ type eq work ].value`, ``}, // not a filter: sub-attribute after ']'
		{`emails[type eq work and primary eq TRUE]`, `emails[type eq "work" and primary eq true]`},
		{`NOT (userName eq x)`, `not (userName eq "x")`},
		{`userName eq "a\"b\\c\u00e9\n"`, `userName eq "a\"b\\cé\u000A"`},
		{`(userName eq a)`, `(userName eq "a")`},
	}
	for _, tt := range tests {
		got, err := NormalizeFilter(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeFilter(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeFilter(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, s := range []string{
		``, `userName`, `userName eq`, `userName eq ""x`, `userName xx "a"`, `(userName eq "a"`, `userName eq "a")`,
		`"a" eq userName`, `emails[type eq "work"`, `userName eq "a" and`, `userName gt null`,
		`userName eq "a" userName eq "b"`, `userName eq "unterminated`,
		// Entra's comparison after a value path takes a plain sub-attribute
		// and a whole comparison, and is not allowed inside a value path.
		`emails[type eq "work"].value`, `emails[type eq "work"].value xx "a"`, `emails[type eq "work"].value eq`,
		`emails[type eq "work"]. value eq "a"`, `emails[type eq "work"].a.b eq "x"`, `emails[type eq "work"].value eq "a"]`,
		`x[a[b eq "1"].c eq "2"]`,
		`[type eq "x"]`, `userName pr "x"`, `1abc eq "x"`, `not userName eq "x"`,
		`userName eq "` + strings.Repeat("a", MaxFilterLength) + `"`,
	} {
		f, err := ParseFilter(s)
		var e *Error
		if !errors.As(err, &e) || e.ScimType != ErrInvalidFilter || e.Status != 400 {
			t.Errorf("ParseFilter(%q) = %v, %v; want invalidFilter error", s, f, err)
		}
	}
}

// Entra matches on attr[filter].sub op value (not RFC 7644 grammar): it
// reads as attr[filter and sub op value], for the same elements.
func TestValuePathComparison(t *testing.T) {
	user := map[string]any{"emails": []any{
		map[string]any{"type": "work", "value": "w@x", "primary": true},
		map[string]any{"type": "home", "value": "h@x"},
	}}
	for _, tt := range []struct {
		filter, rfc string
		match       bool
	}{
		{`emails[type eq "work"].value eq "w@x"`, `emails[type eq "work" and value eq "w@x"]`, true},
		{`emails[type eq "work"].value eq "h@x"`, `emails[type eq "work" and value eq "h@x"]`, false},
		{`emails[type eq "work"].Value EQ "W@X"`, `emails[type eq "work" and value eq "w@x"]`, true},
		{`emails[type eq work].value sw w`, `emails[type eq "work" and value sw "w"]`, true},
		{`emails[type eq "home"].primary pr`, `emails[type eq "home" and primary pr]`, false},
		{`emails[type eq "work" or type eq "home"].value eq "h@x"`, `emails[(type eq "work" or type eq "home") and value eq "h@x"]`, true},
		{`userName eq "x" or emails[type eq "work"].value ew "@x"`, `userName eq "x" or emails[type eq "work" and value ew "@x"]`, true},
		{`(emails[type eq "work"].value eq "w@x") and not (emails[type eq "home"].value eq "w@x")`, ``, true},
	} {
		f, err := ParseFilter(tt.filter)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.filter, err)
			continue
		}
		if got := f.Match(user, nil); got != tt.match {
			t.Errorf("%s matches %v, want %v", tt.filter, got, tt.match)
		}
		if tt.rfc != "" {
			if rfc, err := ParseFilter(tt.rfc); err != nil || rfc.Match(user, nil) != tt.match {
				t.Errorf("RFC form %s: %v", tt.rfc, err)
			}
		}
	}
}

func TestFilterMatch(t *testing.T) {
	user := sampleUser(t)
	rs := CoreUser()
	const (
		no   = 0
		yes  = 1
		same = 2 // the schema-less result equals the schema result
	)
	tests := []struct {
		filter     string
		withSchema bool
		noSchema   int // no, yes or same
	}{
		// Strings: userName is caseExact=false, id and externalId are exact.
		{`userName eq "bjensen@example.com"`, true, same},
		{`userName eq "Bjensen@example.com"`, true, same},
		{`USERNAME Eq "BJENSEN@EXAMPLE.COM"`, true, same},
		{`userName ne "bjensen@example.com"`, false, same},
		{`userName sw bj`, true, same},
		{`userName sw O`, false, same},
		{`userName ew "EXAMPLE.COM"`, true, same},
		{`userName co "sen@ex"`, true, same},
		{`userName co "xyz"`, false, same},
		{`userName gt "a"`, true, same},
		{`userName gt "C"`, false, same},
		{`userName lt "C"`, true, same},
		{`userName ge "bjensen@example.com"`, true, same},
		{`userName le "BJENSEN@EXAMPLE.COM"`, true, same},
		{`id eq "2819c223-7f76-453a-919d-413861904646"`, true, same},
		{`id eq "2819C223-7F76-453A-919D-413861904646"`, false, yes},
		{`externalId eq bjensen`, true, same},
		{`externalId eq BJensen`, false, yes},
		{`externalId sw BJ`, false, yes},
		{`externalId co jen`, true, same},
		{`DisplayName eq "babs jensen"`, true, same},
		{`displayName co "ü"`, false, same},
		// Sub-attributes and multi-valued attributes.
		{`name.familyName eq "Jensen"`, true, same},
		{`name.FamilyName eq jensen`, true, same},
		{`name.familyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`, false, same},
		{`name.FamilyName eq Jensen and (emails.Value co example.com or emails.Value co example.org)`, true, same},
		{`emails.value eq "babs@jensen.org"`, true, same},
		{`emails.Value ew "@JENSEN.ORG"`, true, same},
		{`emails.type eq "other"`, false, same},
		{`emails.type ne "work"`, true, same},
		{`emails co "jensen.org"`, true, same},
		{`emails eq "BJENSEN@example.com"`, true, same},
		{`groups.value eq "e9e30dba-f08f-4109-8486-d5c6a331660a"`, true, same},
		{`name eq "Jensen"`, false, same},
		// Value paths: both conditions on the same element.
		{`emails[type eq "work" and primary eq true]`, true, same},
		{`emails[type eq "home" and primary eq true]`, false, same},
		{`emails[type eq "home" or primary eq true]`, true, same},
		{`emails[type eq "work" and value co "example.com"]`, true, same},
		{`emails[not (type eq "work")]`, true, same},
		{`emails[type eq "other"]`, false, same},
		{`addresses[type eq "work"] and phoneNumbers[type eq "work"]`, true, same},
		{`name[familyName eq "Jensen"]`, true, same},
		{`title[value eq "x"]`, false, same},
		// Extensions by URN.
		{ent + `:department eq "Tour Operations"`, true, same},
		{ent + `:department eq "sales"`, false, same},
		{ent + `:Department sw tour`, true, same},
		{ent + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true, same},
		{ent + `:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true, same},
		{ent + `:manager.displayName pr`, true, same},
		{ent + `:costCenter pr`, false, same},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw bj`, true, same},
		{`urn:ietf:params:scim:schemas:extension:other:2.0:User:department pr`, false, same},
		{`department eq "Tour Operations"`, false, same}, // extension attributes need their URN
		// dateTime: compared as instants.
		{`meta.created gt 2009-10-10T14:38:21.8617979-07:00`, true, same},
		{`meta.Created gt "2015-10-10T14:38:21.8617979-07:00"`, false, same},
		{`meta.created eq "2010-01-23T04:56:22.000Z"`, true, no},
		{`meta.created eq "2010-01-22T20:56:22-08:00"`, true, no},
		{`meta.lastModified ge "2011-05-13T11:42:34.123Z"`, true, same},
		{`meta.lastModified gt "2011-05-13T11:42:34.123Z"`, false, same},
		{`meta.lastModified lt "2011-05-13T11:42:34.1231Z"`, true, same},
		{`meta.lastModified le 2011-05-13T11:42:34Z`, false, same},
		{`meta.created lt "yesterday"`, true, same}, // not a time: string order
		{`meta.created sw "2010-01"`, true, same},
		{`meta.created gt 5`, false, same},
		// Booleans and numbers compare by type; "True" is a boolean.
		{`active eq true`, true, same},
		{`active eq "True"`, true, same},
		{`active eq "TRUE"`, true, same},
		{`active ne false`, true, same},
		{`active eq false`, false, same},
		{`active gt true`, false, same},
		{`active gt 5`, false, same},
		{`active eq "yes"`, false, same},
		{`x-flag eq true`, true, same}, // undeclared: compared by the operand's type
		{`title eq true`, false, same},
		{`x-count gt 40`, true, same},
		{`x-count eq 42.0`, true, same},
		{`x-count le 41`, false, same},
		{`x-count eq "42"`, true, same},
		{`x-count co "4"`, false, same},
		{`userName eq 5`, false, same},
		{`emails.primary eq true`, true, same},
		{`emails.primary eq "yes"`, false, same},
		// pr, null and absent attributes.
		{`title pr`, true, same},
		{`nickName pr`, false, same},
		{`emails pr`, true, same},
		{`name.middleName pr`, false, same},
		{`nickName eq null`, true, same},
		{`userName eq null`, false, same},
		{`userName ne null`, true, same},
		{`nickName ne "x"`, true, same},
		{`nickName eq "x"`, false, same},
		// Logic.
		{`userName eq "a" or not (userName sw "z")`, true, same},
		{`not (title pr)`, false, same},
		{`title pr and nickName pr`, false, same},
		{`title pr or nickName pr`, true, same},
		{`(title pr or nickName pr) and not (active eq false)`, true, same},
		{`title pr and nickName pr or userName sw b`, true, same},
		{`userName sw x and (nickName pr or title pr)`, false, same},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.filter, err)
			continue
		}
		if got := f.Match(user, &rs); got != tt.withSchema {
			t.Errorf("%q (%s) with schema = %v, want %v", tt.filter, f, got, tt.withSchema)
		}
		want := tt.withSchema
		if tt.noSchema != same {
			want = tt.noSchema == yes
		}
		if got := f.Match(user, nil); got != want {
			t.Errorf("%q (%s) without schema = %v, want %v", tt.filter, f, got, want)
		}
	}
}

// Custom extensions with URNs the parser's URI grammar rejects (hyphens)
// and resources keyed with odd case still resolve.
func TestFilterMatchCaseInsensitiveKeys(t *testing.T) {
	res := decode(t, `{"USERNAME":"Alice","Name":{"GivenName":"Al"},"Emails":[{"Value":"a@x.org","Type":"work"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":{"Department":"R&D"}}`)
	rs := CoreUser()
	for _, s := range []string{
		`userName eq "alice"`, `name.givenName eq al`, `emails[type eq "WORK"]`, `emails.value ew x.org`,
		ent + `:department eq "r&d"`,
	} {
		f, err := ParseFilter(s)
		if err != nil {
			t.Fatal(err)
		}
		if !f.Match(res, &rs) || !f.Match(res, nil) {
			t.Errorf("%q does not match", s)
		}
	}
}

func TestFilterMatchGroup(t *testing.T) {
	g := sampleGroup(t)
	rs := CoreGroup()
	tests := []struct {
		filter string
		want   bool
	}{
		{`displayName eq "tour guides"`, true},
		{`members[value eq "902c246b-6245-4190-8e05-00816be7344a"]`, true},
		{`members.value eq "902c246b-6245-4190-8e05-00816be7344a"`, true},
		{`members eq "902c246b-6245-4190-8e05-00816be7344a"`, true},
		{`members[value eq "nobody"]`, false},
		{`members.display co "mandy"`, true},
		{`members pr`, true},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Match(g, &rs); got != tt.want {
			t.Errorf("%q = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

// json.Number values (decoders using UseNumber) compare like float64.
func TestFilterMatchJSONNumber(t *testing.T) {
	res := map[string]any{"n": jsonNumber("10"), "flag": true}
	for s, want := range map[string]bool{`n eq 10`: true, `n gt 9.5`: true, `n lt 10`: false, `n eq "10"`: true, `flag eq 1`: false} {
		f, err := ParseFilter(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Match(res, nil); got != want {
			t.Errorf("%q = %v, want %v", s, got, want)
		}
	}
}

func TestFilterString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`userName Eq bjensen`, `userName eq "bjensen"`},
		{`title PR`, `title pr`},
		{`a eq 1 and b eq true or c eq null`, `a eq 1 and b eq true or c eq null`},
		{`a eq 1 and (b eq 2 or c eq 3)`, `a eq 1 and (b eq 2 or c eq 3)`},
		{`(a eq 1 or b eq 2) and c eq 3`, `(a eq 1 or b eq 2) and c eq 3`},
		{`not(a pr)`, `not (a pr)`},
		{`emails[type eq "work" and primary eq true]`, `emails[type eq "work" and primary eq true]`},
		{ent + `:manager.value eq "x\"y"`, ent + `:manager.value eq "x\"y"`},
		{`meta.created gt 2015-10-10T14:38:21.8617979-07:00`, `meta.created gt "2015-10-10T14:38:21.8617979-07:00"`},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.in)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tt.in, err)
		}
		got := f.String()
		if got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// The canonical form parses back to itself.
		g, err := ParseFilter(got)
		if err != nil || g.String() != got {
			t.Errorf("round trip of %q: %v, %v", got, g, err)
		}
	}
}

func TestEquality(t *testing.T) {
	user, group := CoreUser(), CoreGroup()
	tests := []struct {
		filter    string
		rs        *ResourceSchema
		attr, val string
		ok        bool
	}{
		{`userName eq "Jane@Example.com"`, &user, "userName", "Jane@Example.com", true},
		{`USERNAME eq jane`, &user, "userName", "jane", true},
		{`externalId eq jyoung`, &user, "externalId", "jyoung", true},
		{`id eq "abc"`, &user, "id", "abc", true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`, &user, "userName", "x", true},
		{`displayname eq "Group1"`, &group, "displayName", "Group1", true},
		{`userName eq "a" and active eq true`, &user, "", "", false},
		{`userName ne "a"`, &user, "", "", false},
		{`userName eq null`, &user, "", "", false},
		{`active eq true`, &user, "", "", false},
		{`name.givenName eq "x"`, &user, "", "", false},
		{`emails eq "x"`, &user, "", "", false},
		{ent + `:department eq "x"`, &user, "", "", false},
		{`nonexistent eq "x"`, &user, "", "", false},
		{`userName eq 12`, &user, "", "", false},
		{`userName eq "x"`, nil, "userName", "x", true},
		{`emails[type eq "work"]`, &user, "", "", false},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		attr, val, ok := f.Equality(tt.rs)
		if attr != tt.attr || val != tt.val || ok != tt.ok {
			t.Errorf("Equality(%q) = %q, %q, %v; want %q, %q, %v", tt.filter, attr, val, ok, tt.attr, tt.val, tt.ok)
		}
	}
}

// Equalities lists the equality terms a filter requires: those of a
// top-level conjunction, nested or not, never those under or/not.
func TestEqualities(t *testing.T) {
	user, group := CoreUser(), CoreGroup()
	for _, tt := range []struct {
		filter string
		rs     *ResourceSchema
		want   string
	}{
		{`userName eq "a"`, &user, `[userName=a]`},
		{`userName eq "a" and active eq true`, &user, `[userName=a]`},
		{`id eq "g1" and members eq "u1"`, &group, `[id=g1]`},
		{`(externalId eq "e" and userName eq "u") and id eq "i"`, &user, `[externalId=e userName=u id=i]`},
		{`userName eq "a" or id eq "b"`, &user, `[]`},
		{`not (userName eq "a") and id eq "b"`, &user, `[id=b]`},
		{`emails[type eq "work" and value eq "x"] and displayName eq "d"`, &user, `[emails.value=x displayName=d]`},
		{`active eq true`, &user, `[]`},
		{`emails[type eq "work" and value eq "A@x"]`, &user, `[emails.value=A@x]`},
		{`emails[type eq "work"].value eq "A@x"`, &user, `[emails.value=A@x]`},
		{`emails.value eq "a@x" and userName eq "u"`, &user, `[emails.value=a@x userName=u]`},
		{`emails[type eq "work" or value eq "a@x"]`, &user, `[]`},
		{`emails[value ne "a@x"]`, &user, `[]`},
		{`emails.type eq "work"`, &user, `[]`},
		{`name[givenName eq "x"]`, &user, `[]`},
		{`emails[value eq "a@x"]`, nil, `[]`},
	} {
		f, err := ParseFilter(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		attrs, values := f.Equalities(tt.rs)
		var got []string
		for i := range attrs {
			got = append(got, attrs[i]+"="+values[i])
		}
		if s := "[" + strings.Join(got, " ") + "]"; s != tt.want {
			t.Errorf("Equalities(%q) = %s, want %s", tt.filter, s, tt.want)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "bjensen"`, `userName sw O`, `externalId eq jyoung`,
		`meta.created gt 2015-10-10T14:38:21.8617979-07:00`,
		`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
		`emails[type eq "work" and primary eq true]`, `not (title pr)`,
		ent + `:manager.value eq "x"`, `x-count gt 4.5e1`, `active eq "True"`, `a eq "\u00e9\"\\"`,
		`emails[not (type eq "work")] or members[value eq "x"]`, `userName eq`,
	} {
		f.Add(s)
	}
	user := decode(f, sampleUserJSON)
	rs := CoreUser()
	f.Fuzz(func(t *testing.T, s string) {
		filter, err := ParseFilter(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.ScimType != ErrInvalidFilter {
				t.Fatalf("ParseFilter(%q) error %v is not invalidFilter", s, err)
			}
			return
		}
		checkAgainstReference(t, s)
		filter.Match(user, &rs)
		filter.Match(user, nil)
		filter.Equality(&rs)
		// The canonical form is stable.
		out := filter.String()
		again, err := ParseFilter(out)
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", s, out, err)
		}
		if again.String() != out {
			t.Fatalf("String() not stable: %q -> %q", out, again.String())
		}
		if strings.Contains(out, "\x00") && !strings.Contains(s, "\x00") {
			t.Fatalf("String() invented a NUL: %q", out)
		}
	})
}

// parseReference parses s with filter-parser only.
func parseReference(s string) (*Filter, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	return parseWithFilterParser(toks, len(s))
}

// checkAgainstReference fails when filter-parser accepts s but ParseFilter
// (whose own parser may have taken it) reads it differently.
func checkAgainstReference(t *testing.T, s string) {
	t.Helper()
	ref, err := parseReference(s)
	if err != nil {
		return
	}
	got, err := ParseFilter(s)
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v; filter-parser reads %s", s, err, ref)
	}
	if got.String() != ref.String() {
		t.Fatalf("ParseFilter(%q) = %s; filter-parser reads %s", s, got, ref)
	}
}

func TestOwnParserMatchesFilterParser(t *testing.T) {
	valid := []string{
		`userName eq "bjensen"`, `userName Eq bjensen`, `title PR`, `a eq 1 and b eq true or c eq null`,
		`a eq 1 or b eq 2 and c eq 3`, `emails[type eq "work" and primary eq true]`, `emails[type eq "work" or primary eq true]`,
		ent + `:manager.value eq "x\"y"`, `meta.created gt 2015-10-10T14:38:21.8617979-07:00`, `x gt -1.5e3`,
		`members[value eq "a"] or members[value eq "b"]`, `userName eq "é\u00e9\t"`, `$ref eq "x"`, `members.$ref ne 007`,
		`userName sw O`, `externalId eq jyoung`, `emails[type eq "work"] and userName eq x`,
		`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
		`not (a pr)`, `NOT(a pr or b pr) and c pr`, `((a pr))`, `emails[not (type eq "work")]`, `emails[not(type eq "work" or primary eq true)]`,
		`(a eq 1 or b eq 2) and not (c eq 3 and d eq 4)`, `x[a pr] or (y pr and not (z[b eq "1"]))`,
	}
	for _, s := range valid {
		toks, err := tokenize(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := parseFast(toks); !ok {
			t.Errorf("own parser refuses %q", s)
		}
		if _, err := parseReference(s); err != nil {
			t.Errorf("filter-parser refuses %q: %v", s, err)
		}
		checkAgainstReference(t, s)
	}
	// Beyond filter-parser's grammar: more than two clauses or parentheses
	// in a value filter, and URNs with hyphens.
	for _, s := range []string{
		`emails[(type eq "work" or type eq "home") and primary eq true]`,
		`emails[type eq "work" and primary eq true and value co "x"]`,
		`urn:ietf:params:scim:schemas:extension:acme-corp:2.0:User:badge eq "1"`,
	} {
		if _, err := ParseFilter(s); err != nil {
			t.Errorf("ParseFilter(%q): %v", s, err)
		}
	}
}

func TestFilterAttributes(t *testing.T) {
	tests := []struct {
		filter string
		want   []string
	}{
		{`userName eq "x"`, []string{"userName"}},
		{`name.familyName eq x and (emails.value co y or emails.value co z)`, []string{"name.familyName", "emails.value"}},
		{`emails[type eq "work" and primary eq true] or not (title pr)`, []string{"emails", "emails.type", "emails.primary", "title"}},
		{ent + `:manager.value eq "x"`, []string{ent + ":manager.value"}},
	}
	rs := CoreUser()
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		got := f.Attributes()
		if !slices.Equal(got, tt.want) {
			t.Errorf("Attributes(%q) = %q, want %q", tt.filter, got, tt.want)
		}
		for _, a := range got {
			if _, ok := rs.Lookup(a); !ok {
				t.Errorf("Lookup(%q) failed", a)
			}
		}
	}
}

// randomFilter builds a filter from the RFC grammar (and some noise), for
// the differential test below.
func randomFilter(r *rand.Rand, depth int, inValuePath bool) string {
	attrs := []string{"userName", "name.familyName", "emails", "emails.value", "meta.created", ent + ":manager.value", "x-y_z", "$ref"}
	if inValuePath {
		attrs = []string{"type", "value", "primary", "display"}
	}
	values := []string{`"work"`, `work`, `"a\"b"`, `true`, `False`, `null`, `12`, `-1.5e3`, `2015-10-10T14:38:21.8617979-07:00`, `"é"`, `007`}
	ops := []string{"eq", "NE", "co", "sw", "ew", "gt", "ge", "lt", "le"}
	switch k := r.IntN(7); {
	case depth > 0 && k == 0:
		return randomFilter(r, depth-1, inValuePath) + " and " + randomFilter(r, depth-1, inValuePath)
	case depth > 0 && k == 1:
		return randomFilter(r, depth-1, inValuePath) + " OR " + randomFilter(r, depth-1, inValuePath)
	case depth > 0 && k == 2:
		return "not (" + randomFilter(r, depth-1, inValuePath) + ")"
	case depth > 0 && k == 3:
		return "(" + randomFilter(r, depth-1, inValuePath) + ")"
	case depth > 0 && k == 4 && !inValuePath:
		return "emails[" + randomFilter(r, depth-1, true) + "]"
	case k == 5:
		return attrs[r.IntN(len(attrs))] + " pr"
	}
	return attrs[r.IntN(len(attrs))] + " " + ops[r.IntN(len(ops))] + " " + values[r.IntN(len(values))]
}

func TestParseFilterMatchesFilterParserOnRandomFilters(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for range 200 {
		s := randomFilter(r, 3, false)
		if _, err := parseReference(s); err == nil {
			accepted++
		}
		checkAgainstReference(t, s)
	}
	if accepted < 100 {
		t.Errorf("filter-parser accepted only %d of 200 filters: the test checks too little", accepted)
	}
}
