package scimpath

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const absent = "<absent>"

type patchTest struct {
	name string
	res  string // resource JSON; "" for the sample user
	ops  string // the PatchOp "Operations" array, as IdPs send it
	// want maps top-level keys to their JSON after the patch (absent for
	// none); every other key must be unchanged.
	want    map[string]string
	wantErr string // scimType
}

func runPatchTests(t *testing.T, rs ResourceSchema, tests []patchTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.res
			if src == "" {
				src = sampleUserJSON
			}
			orig := decode(t, src)
			res := DeepCopy(orig)
			var ops []Operation
			if err := json.Unmarshal([]byte(tt.ops), &ops); err != nil {
				t.Fatalf("bad ops: %v", err)
			}
			err := ApplyPatch(res, ops, &rs)
			if tt.wantErr != "" {
				var e *Error
				if !errors.As(err, &e) || e.ScimType != tt.wantErr || e.Status != 400 {
					t.Fatalf("err = %v, want 400 %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyPatch: %v", err)
			}
			for k, want := range tt.want {
				v, ok := res[k]
				got := absent
				if ok {
					got = mustJSON(t, v)
				}
				if want != absent {
					want = mustJSON(t, decodeAny(t, want))
				}
				if got != want {
					t.Errorf("%s = %s\n want %s", k, got, want)
				}
			}
			for k, v := range orig {
				if _, listed := tt.want[k]; !listed && !reflect.DeepEqual(res[k], v) {
					t.Errorf("%s changed to %s", k, mustJSON(t, res[k]))
				}
			}
			for k := range res {
				if _, ok := orig[k]; !ok {
					if _, listed := tt.want[k]; !listed {
						t.Errorf("%s added: %s", k, mustJSON(t, res[k]))
					}
				}
			}
		})
	}
}

func decodeAny(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

const (
	workEmail  = `{"value":"bjensen@example.com","type":"work","primary":true}`
	homeEmail  = `{"value":"babs@jensen.org","type":"home"}`
	entSchemas = `["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]`
)

func TestApplyPatchUser(t *testing.T) {
	tests := []patchTest{
		{name: "Entra capitalised replace", ops: `[{"op":"Replace","path":"displayName","value":"Babs"}]`,
			want: map[string]string{"displayName": `"Babs"`}},
		{name: "op in upper case", ops: `[{"op":"REPLACE","path":"title","value":"Boss"}]`,
			want: map[string]string{"title": `"Boss"`}},
		{name: "sub-attribute", ops: `[{"op":"replace","path":"name.givenName","value":"B"}]`,
			want: map[string]string{"name": `{"formatted":"Ms. Barbara J Jensen III","familyName":"Jensen","givenName":"B"}`}},
		{name: "path names are case-insensitive", ops: `[{"op":"Add","path":"Name.GivenName","value":"B"},{"op":"add","path":"DISPLAYNAME","value":"D"}]`,
			want: map[string]string{"name": `{"formatted":"Ms. Barbara J Jensen III","familyName":"Jensen","givenName":"B"}`, "displayName": `"D"`}},
		{name: "add sub-attribute of absent complex", res: `{"id":"1"}`, ops: `[{"op":"add","path":"name.familyName","value":"J"}]`,
			want: map[string]string{"name": `{"familyName":"J"}`}},
		{name: "remove sub-attribute", ops: `[{"op":"remove","path":"name.formatted"}]`,
			want: map[string]string{"name": `{"familyName":"Jensen","givenName":"Barbara"}`}},
		{name: "remove last sub-attribute drops the attribute", res: `{"name":{"givenName":"x"}}`, ops: `[{"op":"remove","path":"name.givenName"}]`,
			want: map[string]string{"name": absent}},
		{name: "replace complex merges sub-attributes", ops: `[{"op":"replace","path":"name","value":{"givenName":"B","middleName":"J"}}]`,
			want: map[string]string{"name": `{"formatted":"Ms. Barbara J Jensen III","familyName":"Jensen","givenName":"B","middleName":"J"}`}},

		// Entra's value-filter paths.
		{name: "add work email value replaces it", ops: `[{"op":"Add","path":"emails[type eq \"work\"].value","value":"new@x.com"}]`,
			want: map[string]string{"emails": `[{"value":"new@x.com","type":"work","primary":true},` + homeEmail + `]`}},
		{name: "replace work email value replaces it", ops: `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@x.com"}]`,
			want: map[string]string{"emails": `[{"value":"new@x.com","type":"work","primary":true},` + homeEmail + `]`}},
		{name: "add work email creates it", res: `{"id":"1","emails":[` + homeEmail + `]}`,
			ops:  `[{"op":"Add","path":"emails[type eq \"work\"].value","value":"new@x.com"}]`,
			want: map[string]string{"emails": `[` + homeEmail + `,{"type":"work","value":"new@x.com"}]`}},
		{name: "replace work email creates it once", res: `{"id":"1"}`,
			ops:  `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a@x.com"},{"op":"Replace","path":"emails[type eq \"work\"].value","value":"b@x.com"}]`,
			want: map[string]string{"emails": `[{"type":"work","value":"b@x.com"}]`}},
		{name: "filter with two equalities creates both", res: `{"id":"1"}`,
			ops:  `[{"op":"add","path":"emails[type eq \"work\" and primary eq true].value","value":"a@x.com"}]`,
			want: map[string]string{"emails": `[{"type":"work","primary":true,"value":"a@x.com"}]`}},
		{name: "filter that cannot describe the element", res: `{"id":"1"}`,
			ops: `[{"op":"add","path":"emails[value co \"x\"].type","value":"work"}]`, wantErr: ErrNoTarget},
		{name: "work address street", ops: `[{"op":"Replace","path":"addresses[type eq \"work\"].streetAddress","value":"1 Main St"}]`,
			want: map[string]string{"addresses": `[{"type":"work","streetAddress":"1 Main St","locality":"Hollywood","primary":true}]`}},
		{name: "home address created", ops: `[{"op":"Add","path":"addresses[type eq \"home\"].locality","value":"Paris"}]`,
			want: map[string]string{"addresses": `[{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood","primary":true},{"type":"home","locality":"Paris"}]`}},
		{name: "work phone", ops: `[{"op":"Replace","path":"phoneNumbers[type eq \"work\"].value","value":"+1 555"}]`,
			want: map[string]string{"phoneNumbers": `[{"value":"+1 555","type":"work"}]`}},
		{name: "mobile phone created", ops: `[{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 666"}]`,
			want: map[string]string{"phoneNumbers": `[{"value":"555-555-5555","type":"work"},{"type":"mobile","value":"+1 666"}]`}},
		{name: "filter path whole element as one-element list", ops: `[{"op":"replace","path":"addresses[type eq \"work\"]","value":[{"streetAddress":"2 Side St","locality":"LA"}]}]`,
			want: map[string]string{"addresses": `[{"type":"work","streetAddress":"2 Side St","locality":"LA"}]`}},
		{name: "filter path add merges element", ops: `[{"op":"add","path":"addresses[type eq \"work\"]","value":{"postalCode":"91608"}}]`,
			want: map[string]string{"addresses": `[{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood","primary":true,"postalCode":"91608"}]`}},
		{name: "filter path whole element created", res: `{"id":"1"}`, ops: `[{"op":"add","path":"addresses[type eq \"home\"]","value":{"country":"FR"}}]`,
			want: map[string]string{"addresses": `[{"type":"home","country":"FR"}]`}},
		{name: "filter path with list value of two", ops: `[{"op":"add","path":"addresses[type eq \"work\"]","value":[{"a":1},{"b":2}]}]`,
			wantErr: ErrInvalidValue},
		{name: "filter path primary moves primary", ops: `[{"op":"replace","path":"emails[type eq \"home\"].primary","value":"True"}]`,
			want: map[string]string{"emails": `[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home","primary":true}]`}},
		{name: "remove filtered element", ops: `[{"op":"remove","path":"emails[type eq \"home\"]"}]`,
			want: map[string]string{"emails": `[` + workEmail + `]`}},
		{name: "remove filtered sub-attribute", ops: `[{"op":"remove","path":"emails[type eq \"home\"].value"}]`,
			want: map[string]string{"emails": `[` + workEmail + `,{"type":"home"}]`}},
		{name: "remove filter matching nothing", ops: `[{"op":"remove","path":"emails[type eq \"other\"]"}]`},
		{name: "remove all filtered elements drops attribute", ops: `[{"op":"remove","path":"phoneNumbers[type eq \"work\"]"}]`,
			want: map[string]string{"phoneNumbers": absent}},

		{name: "filter on a single complex value", ops: `[{"op":"replace","path":"name[givenName eq \"Barbara\"].familyName","value":"J"}]`,
			want: map[string]string{"name": `{"formatted":"Ms. Barbara J Jensen III","familyName":"J","givenName":"Barbara"}`}},
		{name: "filter on a single complex value matching nothing", ops: `[{"op":"replace","path":"name[givenName eq \"X\"].familyName","value":"J"}]`,
			wantErr: ErrNoTarget},
		{name: "remove filtered single complex value", ops: `[{"op":"remove","path":"name[givenName eq \"Barbara\"]"}]`,
			want: map[string]string{"name": absent}},

		// Enterprise extension.
		{name: "URN path replace", ops: `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"}]`,
			want: map[string]string{ent: `{"employeeNumber":"701984","department":"Sales","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d","displayName":"John Smith"}}`}},
		{name: "Entra bare-string manager", ops: `[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m2"}]`,
			want: map[string]string{ent: `{"employeeNumber":"701984","department":"Tour Operations","manager":{"value":"m2"}}`}},
		{name: "manager object merges", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m2"}}]`,
			want: map[string]string{ent: `{"employeeNumber":"701984","department":"Tour Operations","manager":{"value":"m2","displayName":"John Smith"}}`}},
		{name: "manager.value", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"m2"}]`,
			want: map[string]string{ent: `{"employeeNumber":"701984","department":"Tour Operations","manager":{"value":"m2","displayName":"John Smith"}}`}},
		{name: "remove manager", ops: `[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`,
			want: map[string]string{ent: `{"employeeNumber":"701984","department":"Tour Operations"}`}},
		{name: "removing the last extension attribute drops the extension",
			res:  `{"schemas":` + entSchemas + `,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}}}`,
			ops:  `[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`,
			want: map[string]string{ent: absent, "schemas": `["urn:ietf:params:scim:schemas:core:2.0:User"]`}},
		{name: "first extension attribute creates the extension",
			res:  `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u"}`,
			ops:  `[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}]`,
			want: map[string]string{ent: `{"manager":{"value":"m1"}}`, "schemas": entSchemas}},
		{name: "whole extension path", ops: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"costCenter":"4130","manager":"m3"}}]`,
			want: map[string]string{ent: `{"employeeNumber":"701984","department":"Tour Operations","costCenter":"4130","manager":{"value":"m3"}}`}},
		{name: "remove whole extension", ops: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]`,
			want: map[string]string{ent: absent, "schemas": `["urn:ietf:params:scim:schemas:core:2.0:User"]`}},
		{name: "core URN prefix", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:nickName","value":"Babs"}]`,
			want: map[string]string{"nickName": `"Babs"`}},
		{name: "unknown schema", ops: `[{"op":"add","path":"urn:example:nope:2.0:User:x","value":"1"}]`, wantErr: ErrInvalidPath},
		{name: "remove from unknown schema is a no-op", ops: `[{"op":"remove","path":"urn:example:nope:2.0:User:x"}]`},

		// Booleans and other type conversions.
		{name: "Entra string boolean", ops: `[{"op":"Replace","path":"active","value":"False"}]`,
			want: map[string]string{"active": `false`}},
		{name: "string boolean true", res: `{"active":false}`, ops: `[{"op":"Replace","path":"active","value":"True"}]`,
			want: map[string]string{"active": `true`}},
		{name: "not a boolean", ops: `[{"op":"Replace","path":"active","value":"yes"}]`, wantErr: ErrInvalidValue},
		{name: "null value clears", ops: `[{"op":"replace","path":"title","value":null}]`,
			want: map[string]string{"title": absent}},
		{name: "unknown attribute kept as given", ops: `[{"op":"add","path":"favouriteColour","value":{"a":["b"]}}]`,
			want: map[string]string{"favouriteColour": `{"a":["b"]}`}},

		// Path-less values.
		{name: "Okta deactivate", ops: `[{"op":"replace","value":{"active":false}}]`,
			want: map[string]string{"active": `false`}},
		{name: "Entra path-less with dotted and URN keys",
			ops: `[{"op":"replace","value":{"displayName":"D","name.givenName":"G","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"9"}}]`,
			want: map[string]string{"displayName": `"D"`,
				"name": `{"formatted":"Ms. Barbara J Jensen III","familyName":"Jensen","givenName":"G"}`,
				ent:    `{"employeeNumber":"9","department":"Tour Operations","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d","displayName":"John Smith"}}`}},
		{name: "path-less extension object",
			ops:  `[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":"m3"}}}]`,
			want: map[string]string{ent: `{"employeeNumber":"701984","department":"D","manager":{"value":"m3"}}`}},
		{name: "path-less complex merges", ops: `[{"op":"add","value":{"name":{"givenName":"X"}}}]`,
			want: map[string]string{"name": `{"formatted":"Ms. Barbara J Jensen III","familyName":"Jensen","givenName":"X"}`}},
		{name: "path-less ignores own id, meta, schemas, groups",
			ops:  `[{"op":"replace","value":{"id":"2819c223-7f76-453a-919d-413861904646","meta":{"version":"x"},"schemas":[],"groups":[],"title":"T"}}]`,
			want: map[string]string{"title": `"T"`}},
		{name: "path-less other id", ops: `[{"op":"replace","value":{"id":"other"}}]`, wantErr: ErrMutability},
		{name: "path-less needs an object", ops: `[{"op":"replace","value":"x"}]`, wantErr: ErrInvalidValue},
		{name: "path-less string boolean", ops: `[{"op":"replace","value":{"active":"False"}}]`,
			want: map[string]string{"active": `false`}},

		// Multi-valued attributes.
		{name: "add email appends", ops: `[{"op":"add","path":"emails","value":[{"value":"c@x.com","type":"other"}]}]`,
			want: map[string]string{"emails": `[` + workEmail + `,` + homeEmail + `,{"value":"c@x.com","type":"other"}]`}},
		{name: "add single object to multi-valued", ops: `[{"op":"add","path":"emails","value":{"value":"c@x.com","type":"other"}}]`,
			want: map[string]string{"emails": `[` + workEmail + `,` + homeEmail + `,{"value":"c@x.com","type":"other"}]`}},
		{name: "add primary email clears other primary", ops: `[{"op":"add","path":"emails","value":[{"value":"c@x.com","type":"other","primary":true}]}]`,
			want: map[string]string{"emails": `[{"value":"bjensen@example.com","type":"work","primary":false},` + homeEmail + `,{"value":"c@x.com","type":"other","primary":true}]`}},
		{name: "add existing email is no duplicate", ops: `[{"op":"add","path":"emails","value":[{"value":"babs@jensen.org","type":"home"}]}]`,
			want: map[string]string{}},
		{name: "replace list", ops: `[{"op":"replace","path":"emails","value":[{"value":"only@x.com","primary":"true"}]}]`,
			want: map[string]string{"emails": `[{"value":"only@x.com","primary":true}]`}},
		{name: "remove list", ops: `[{"op":"remove","path":"emails"}]`, want: map[string]string{"emails": absent}},
		{name: "replace by non-equality filter", ops: `[{"op":"replace","path":"emails[value ew \"jensen.org\"]","value":{"value":"b@jensen.org","type":"home"}}]`,
			want: map[string]string{"emails": `[` + workEmail + `,{"value":"b@jensen.org","type":"home"}]`}},
		{name: "null extension attribute prunes the extension",
			res:  `{"schemas":` + entSchemas + `,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"}}`,
			ops:  `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":null}}]`,
			want: map[string]string{ent: absent, "schemas": `["urn:ietf:params:scim:schemas:core:2.0:User"]`}},
		{name: "remove listed values only", ops: `[{"op":"remove","path":"emails","value":[{"value":"babs@jensen.org","type":"home"}]}]`,
			want: map[string]string{"emails": `[` + workEmail + `]`}},
		{name: "emails.value without filter sets every element", res: `{"emails":[{"type":"a"},{"type":"b"}]}`,
			ops:  `[{"op":"replace","path":"emails.display","value":"x"}]`,
			want: map[string]string{"emails": `[{"type":"a","display":"x"},{"type":"b","display":"x"}]`}},

		// Errors.
		{name: "remove without path", ops: `[{"op":"remove"}]`, wantErr: ErrNoTarget},
		{name: "unknown op", ops: `[{"op":"move","path":"title","value":"x"}]`, wantErr: ErrInvalidSyntax},
		{name: "bad path", ops: `[{"op":"add","path":"emails[type eq","value":"x"}]`, wantErr: ErrInvalidPath},
		{name: "bad path chars", ops: `[{"op":"add","path":"na me","value":"x"}]`, wantErr: ErrInvalidPath},
		{name: "id is readOnly", ops: `[{"op":"replace","path":"id","value":"x"}]`, wantErr: ErrMutability},
		{name: "meta is readOnly", ops: `[{"op":"replace","path":"meta.created","value":"x"}]`, wantErr: ErrMutability},
		{name: "groups is readOnly", ops: `[{"op":"add","path":"groups","value":[{"value":"g"}]}]`, wantErr: ErrMutability},
		{name: "second op fails", ops: `[{"op":"replace","path":"title","value":"x"},{"op":"replace","path":"active","value":3}]`, wantErr: ErrInvalidValue},
	}
	runPatchTests(t, CoreUser(), tests)
}

func TestApplyPatchGroup(t *testing.T) {
	const (
		babs  = `{"value":"2819c223-7f76-453a-919d-413861904646","display":"Babs Jensen"}`
		mandy = `{"value":"902c246b-6245-4190-8e05-00816be7344a","display":"Mandy Pepperidge"}`
	)
	tests := []patchTest{
		{name: "Okta add member", res: sampleGroupJSON, ops: `[{"op":"add","path":"members","value":[{"value":"u3","display":"u3@x.com"}]}]`,
			want: map[string]string{"members": `[` + babs + `,` + mandy + `,{"value":"u3","display":"u3@x.com"}]`}},
		{name: "add existing member is no duplicate", res: sampleGroupJSON,
			ops:  `[{"op":"add","path":"members","value":[{"value":"902c246b-6245-4190-8e05-00816be7344a","display":"Mandy P"}]}]`,
			want: map[string]string{"members": `[` + babs + `,{"value":"902c246b-6245-4190-8e05-00816be7344a","display":"Mandy P"}]`}},
		{name: "Entra add member with null $ref", res: sampleGroupJSON, ops: `[{"op":"Add","path":"members","value":[{"value":"u3","$ref":null}]}]`,
			want: map[string]string{"members": `[` + babs + `,` + mandy + `,{"value":"u3"}]`}},
		{name: "bare string member", res: sampleGroupJSON, ops: `[{"op":"add","path":"members","value":"string id 1"}]`,
			want: map[string]string{"members": `[` + babs + `,` + mandy + `,{"value":"string id 1"}]`}},
		{name: "first member", res: `{"id":"g","displayName":"G"}`, ops: `[{"op":"add","path":"members","value":[{"value":"u1"}]}]`,
			want: map[string]string{"members": `[{"value":"u1"}]`}},
		{name: "Okta remove member by filter", res: sampleGroupJSON,
			ops:  `[{"op":"remove","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}]`,
			want: map[string]string{"members": `[` + mandy + `]`}},
		{name: "Entra remove listed members exactly", res: sampleGroupJSON,
			ops:  `[{"op":"Remove","path":"members","value":[{"value":"902c246b-6245-4190-8e05-00816be7344a"}]}]`,
			want: map[string]string{"members": `[` + babs + `]`}},
		{name: "remove listed member compares on value only", res: `{"members":[{"value":"u1","type":"User","display":"One"},{"value":"u2","type":"User"}]}`,
			ops:  `[{"op":"Remove","path":"members","value":[{"value":"u1"}]}]`,
			want: map[string]string{"members": `[{"value":"u2","type":"User"}]`}},
		{name: "add member already there with a type", res: `{"members":[{"value":"u1","type":"User"}]}`,
			ops: `[{"op":"Add","path":"members","value":[{"value":"u1"}]}]`},
		{name: "same value with another type is another element", res: `{"emails":[{"value":"a@x.com","type":"work"}]}`,
			ops:  `[{"op":"add","path":"emails","value":[{"value":"a@x.com","type":"home"}]}]`,
			want: map[string]string{"emails": `[{"value":"a@x.com","type":"work"},{"value":"a@x.com","type":"home"}]`}},
		{name: "remove listed member that is not there removes nothing", res: sampleGroupJSON,
			ops: `[{"op":"Remove","path":"members","value":[{"value":"nobody"}]}]`},
		{name: "remove listed members as bare strings", res: sampleGroupJSON,
			ops:  `[{"op":"Remove","path":"members","value":["902c246b-6245-4190-8e05-00816be7344a"]}]`,
			want: map[string]string{"members": `[` + babs + `]`}},
		{name: "remove all listed members", res: sampleGroupJSON,
			ops:  `[{"op":"Remove","path":"members","value":[{"value":"902c246b-6245-4190-8e05-00816be7344a"},{"value":"2819c223-7f76-453a-919d-413861904646"}]}]`,
			want: map[string]string{"members": absent}},
		{name: "remove all members", res: sampleGroupJSON, ops: `[{"op":"remove","path":"members"}]`,
			want: map[string]string{"members": absent}},
		{name: "Okta rename keeps members", res: sampleGroupJSON,
			ops:  `[{"op":"replace","value":{"id":"e9e30dba-f08f-4109-8486-d5c6a331660a","displayName":"New name"}}]`,
			want: map[string]string{"displayName": `"New name"`}},
		{name: "replace members", res: sampleGroupJSON, ops: `[{"op":"replace","path":"members","value":[{"value":"u9"}]}]`,
			want: map[string]string{"members": `[{"value":"u9"}]`}},
		{name: "replace members with empty list", res: sampleGroupJSON, ops: `[{"op":"replace","path":"members","value":[]}]`,
			want: map[string]string{"members": `[]`}},
		{name: "Okta membership batch", res: sampleGroupJSON,
			ops: `[{"op":"replace","value":{"id":"e9e30dba-f08f-4109-8486-d5c6a331660a","displayName":"Tour Guides"}},
				{"op":"remove","path":"members[value eq \"902c246b-6245-4190-8e05-00816be7344a\"]"},
				{"op":"add","path":"members","value":[{"value":"u5","display":"five"}]}]`,
			want: map[string]string{"members": `[` + babs + `,{"value":"u5","display":"five"}]`}},
	}
	runPatchTests(t, CoreGroup(), tests)
}

// Without a schema ApplyPatch still applies the IdP shapes, guessing from
// the resource and the values.
func TestApplyPatchNoSchema(t *testing.T) {
	res := sampleUser(t)
	ops := []Operation{
		{Op: "Replace", Path: "displayName", Value: "X"},
		{Op: "Add", Path: `emails[type eq "work"].value`, Value: "w@x.com"},
		{Op: "remove", Path: ent + ":manager"},
		{Op: "add", Path: ent + ":costCenter", Value: "c"},
		{Op: "add", Path: "urn:ietf:params:scim:schemas:extension:acme:2.0:User", Value: map[string]any{"badge": "7"}},
		{Op: "remove", Path: "emails", Value: []any{map[string]any{"value": "babs@jensen.org", "type": "home"}}},
	}
	if err := ApplyPatch(res, ops, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"displayName": `"X"`,
		"emails":      `[{"primary":true,"type":"work","value":"w@x.com"}]`,
		ent:           `{"costCenter":"c","department":"Tour Operations","employeeNumber":"701984"}`,
		"urn:ietf:params:scim:schemas:extension:acme:2.0:User": `{"badge":"7"}`,
		"schemas": `["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:acme:2.0:User"]`,
	}
	for k, w := range want {
		if got := mustJSON(t, res[k]); got != w {
			t.Errorf("%s = %s, want %s", k, got, w)
		}
	}
	for _, op := range []Operation{{Op: "replace", Path: "id", Value: "x"}, {Op: "add", Path: "meta.version", Value: "x"}} {
		var e *Error
		if err := ApplyPatch(res, []Operation{op}, nil); !errors.As(err, &e) || e.ScimType != ErrMutability {
			t.Errorf("%+v: err = %v, want mutability", op, err)
		}
	}
}

// Values are copied into the resource: changing the request afterwards
// must not change the stored resource.
func TestApplyPatchDoesNotAlias(t *testing.T) {
	rs := CoreGroup()
	g := sampleGroup(t)
	member := map[string]any{"value": "u3", "display": "x"}
	list := []any{member}
	if err := ApplyPatch(g, []Operation{{Op: "add", Path: "members", Value: list}}, &rs); err != nil {
		t.Fatal(err)
	}
	member["value"] = "changed"
	list[0] = "changed"
	if got := mustJSON(t, g["members"]); strings.Contains(got, "changed") {
		t.Errorf("members alias the request: %s", got)
	}
}

func TestDeepCopy(t *testing.T) {
	u := sampleUser(t)
	c := DeepCopy(u)
	if !reflect.DeepEqual(u, c) {
		t.Fatal("copy differs")
	}
	c["emails"].([]any)[0].(map[string]any)["value"] = "x"
	c[ent].(map[string]any)["department"] = "x"
	c["name"].(map[string]any)["givenName"] = "x"
	if !reflect.DeepEqual(u, sampleUser(t)) {
		t.Error("changing the copy changed the original")
	}
	if DeepCopy(nil) != nil {
		t.Error("DeepCopy(nil) != nil")
	}
}

func FuzzApplyPatch(f *testing.F) {
	for _, s := range []struct{ op, path, value string }{
		{"Replace", "displayName", `"x"`},
		{"add", `emails[type eq "work"].value`, `"a@b"`},
		{"Add", ent + ":manager", `"m"`},
		{"remove", "members", `[{"value":"x"}]`},
		{"replace", "", `{"active":false,"name.givenName":"x"}`},
		{"replace", "", `{"` + ent + `":{"department":"d"}}`},
		{"replace", `addresses[type eq "work"]`, `[{"streetAddress":"s"}]`},
		{"remove", `emails[type eq "home"]`, `null`},
		{"add", "emails", `[{"value":"x","primary":true}]`},
		{"replace", "active", `"False"`},
		{"remove", ent, `null`},
	} {
		f.Add(s.op, s.path, s.value)
	}
	orig := decode(f, sampleUserJSON)
	rs := CoreUser()
	f.Fuzz(func(t *testing.T, op, path, value string) {
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			v = value
		}
		for _, schema := range []*ResourceSchema{&rs, nil} {
			res := DeepCopy(orig)
			err := ApplyPatch(res, []Operation{{Op: op, Path: path, Value: v}}, schema)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Status != 400 || e.ScimType == "" {
					t.Fatalf("error %v is not a SCIM 400", err)
				}
			}
			if _, err := json.Marshal(res); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
			if !reflect.DeepEqual(orig, decode(t, sampleUserJSON)) {
				t.Fatal("ApplyPatch changed a value it does not own")
			}
		}
	})
}
