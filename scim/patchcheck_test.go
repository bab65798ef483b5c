package scim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/scimbridge/scimbridge/scimpath"
)

const acmeURN = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"

// checkExtensions give the differential tests attributes of every type.
var checkExtensions = []Extension{{URN: acmeURN, Name: "Acme", Attributes: []ExtensionField{
	{Name: "badge"}, {Name: "level", Type: "integer"}, {Name: "ratio", Type: "decimal"},
	{Name: "vip", Type: "boolean"}, {Name: "since", Type: "dateTime"},
	{Name: "tags", MultiValued: true}, {Name: "home", Type: "reference"},
}}}

// replayPatch validates ops the way PATCH did before checkPatch: the
// operations replayed through the pinned library's server.
func replayPatch(t testing.TB, s *Server, d *resourceDef, ops []scimpath.Operation) *Error {
	t.Helper()
	if len(ops) == 0 {
		return nil
	}
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = map[string]any{"op": o.Op, "path": o.Path, "value": o.Value}
	}
	body, err := json.Marshal(map[string]any{"schemas": []string{patchOpSchema}, "Operations": list})
	if err != nil {
		t.Fatal(err)
	}
	_, e := s.validate(httptest.NewRequest(http.MethodPatch, "/", nil), d, http.MethodPatch, body)
	return e
}

// TestCheckPatchMatchesLibrary checks, for valid and invalid operations,
// that checkPatch gives the expected verdict, that the library's replay
// gives the same error, and that the endpoint answers with it.
func TestCheckPatchMatchesLibrary(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	tests := []struct {
		name  string
		group bool
		ops   []string
		want  string // "" accepted, else the scimType
		// parsePatch refuses these first with this scimType (and so does
		// the endpoint); the checker is still compared with the library.
		parseErr string
	}{
		{name: "replace displayName", ops: []string{`{"op":"Replace","path":"displayName","value":"N"}`}},
		{name: "add filtered sub-attribute", ops: []string{`{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@b"}`}},
		{name: "path-less values", ops: []string{`{"op":"replace","value":{"active":false,"name":{"givenName":"G"}}}`}},
		{name: "string boolean (Entra)", ops: []string{`{"op":"replace","path":"active","value":"True"}`}},
		{name: "externalId", ops: []string{`{"op":"replace","path":"externalId","value":"x"}`}},
		{name: "enterprise attribute", ops: []string{`{"op":"add","path":"` + ent + `:employeeNumber","value":"7"}`}},
		{name: "bare-string manager", ops: []string{`{"op":"add","path":"` + ent + `:manager","value":"m1"}`}},
		{name: "whole enterprise extension", ops: []string{`{"op":"add","path":"` + ent + `","value":{"department":"D"}}`}},
		{name: "remove filtered", ops: []string{`{"op":"remove","path":"emails[type eq \"work\"]"}`}},
		{name: "remove with value", ops: []string{`{"op":"remove","path":"emails","value":[{"value":"a@b"}]}`}},
		{name: "remove filter on simple multi-valued", ops: []string{`{"op":"remove","path":"` + acmeURN + `:tags[value eq \"a\"]"}`}},
		{name: "integer, decimal, dateTime, reference", ops: []string{`{"op":"add","value":{"` + acmeURN + `:level":3,"` + acmeURN + `:ratio":"0.5","` + acmeURN + `:since":"2024-01-02T03:04:05Z","` + acmeURN + `:home":"https://x"}}`}},
		{name: "readOnly groups accepted by the library", ops: []string{`{"op":"add","path":"groups","value":[{"value":"g"}]}`}},
		{name: "Okta id in value", ops: []string{`{"op":"replace","value":{"id":"x","displayName":"N"}}`}},
		{name: "empty key dropped (library quirk)", ops: []string{`{"op":"replace","value":{"":1,"displayName":"N"}}`}},
		{name: "group rename (Okta)", group: true, ops: []string{`{"op":"replace","value":{"id":"x","displayName":"N"}}`}},
		{name: "group externalId", group: true, ops: []string{`{"op":"replace","path":"externalId","value":"e"}`}},

		{name: "unknown path", ops: []string{`{"op":"replace","path":"favouriteColour","value":"blue"}`}, want: "invalidPath"},
		{name: "unknown sub-attribute", ops: []string{`{"op":"replace","path":"name.nickname","value":"x"}`}, want: "invalidPath"},
		{name: "id is not patchable", ops: []string{`{"op":"replace","path":"id","value":"x"}`}, want: "invalidPath", parseErr: "mutability"},
		{name: "meta is not patchable", ops: []string{`{"op":"replace","path":"meta.version","value":"x"}`}, want: "invalidPath", parseErr: "mutability"},
		{name: "unknown extension", ops: []string{`{"op":"add","path":"urn:example:nope:2.0:User:x","value":"x"}`}, want: "invalidPath"},
		{name: "unknown extension attribute", ops: []string{`{"op":"add","path":"` + ent + `:nope","value":"x"}`}, want: "invalidPath"},
		{name: "malformed filter", ops: []string{`{"op":"add","path":"emails[type eq]","value":"x"}`}, want: "invalidPath"},
		{name: "unterminated filter", ops: []string{`{"op":"add","path":"emails[type eq \"work\"","value":"x"}`}, want: "invalidPath"},
		{name: "filter on unknown attribute", ops: []string{`{"op":"add","path":"emails[colour eq \"x\"].value","value":"x"}`}, want: "invalidPath"},
		{name: "remove with filter on unknown attribute", ops: []string{`{"op":"remove","path":"emails[colour eq \"x\"]"}`}, want: "invalidPath"},
		{name: "two ids in value", ops: []string{`{"op":"replace","value":{"id":"a","ID":"b","displayName":"N"}}`}, want: "invalidPath"},
		{name: "wrong type boolean", ops: []string{`{"op":"replace","path":"active","value":5}`}, want: "invalidValue"},
		{name: "unparsable string boolean", ops: []string{`{"op":"replace","path":"active","value":"maybe"}`}, want: "invalidValue"},
		{name: "wrong type string", ops: []string{`{"op":"replace","path":"displayName","value":["a"]}`}, want: "invalidValue"},
		{name: "non-object for complex", ops: []string{`{"op":"replace","path":"name","value":"x"}`}, want: "invalidValue"},
		{name: "bad element in multi-valued", ops: []string{`{"op":"add","path":"emails","value":[{"value":"a@b"},"x"]}`}, want: "invalidValue"},
		{name: "wrong sub-attribute type", ops: []string{`{"op":"add","path":"emails","value":[{"value":"a@b","primary":"sure"}]}`}, want: "invalidValue"},
		{name: "non-integer", ops: []string{`{"op":"add","path":"` + acmeURN + `:level","value":1.5}`}, want: "invalidValue"},
		{name: "bad dateTime", ops: []string{`{"op":"add","path":"` + acmeURN + `:since","value":"yesterday"}`}, want: "invalidValue"},
		{name: "add without value", ops: []string{`{"op":"add","path":"displayName"}`}, want: "invalidValue"},
		{name: "path-less non-object", ops: []string{`{"op":"add","value":"x"}`}, want: "invalidValue"},
		{name: "path-less unknown key", ops: []string{`{"op":"add","value":{"favouriteColour":"blue"}}`}, want: "invalidValue"},
		{name: "path-less null", ops: []string{`{"op":"add","value":{"nickName":null}}`}, want: "invalidValue"},
		{name: "path-less unparsable key", ops: []string{`{"op":"add","value":{"emails[type":"x"}}`}, want: "invalidValue"},
		{name: "filter on attribute without sub-attributes", ops: []string{`{"op":"add","path":"` + acmeURN + `:tags[value eq \"a\"]","value":"b"}`}, want: "invalidValue"},
		{name: "first error wins", ops: []string{`{"op":"replace","path":"active","value":5}`, `{"op":"replace","path":"nope","value":5}`}, want: "invalidValue"},
		{name: "later error", ops: []string{`{"op":"replace","path":"active","value":true}`, `{"op":"replace","path":"nope","value":5}`}, want: "invalidPath"},
		{name: "group unknown path", group: true, ops: []string{`{"op":"replace","path":"userName","value":"x"}`}, want: "invalidPath"},
		{name: "group wrong type", group: true, ops: []string{`{"op":"replace","path":"displayName","value":{"a":1}}`}, want: "invalidValue"},
	}
	e := newEnv(t, Options{Extensions: checkExtensions})
	uid := e.createUser("check@example.com")
	gid := e.createGroup("check")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, target := e.s.user, "/Users/"+uid
			if tt.group {
				d, target = e.s.group, "/Groups/"+gid
			}
			body := patchBody(tt.ops...)
			ops, _, pe := parsePatch(d, []byte(body))
			if tt.parseErr != "" {
				if pe == nil || pe.ScimType != tt.parseErr {
					t.Fatalf("parsePatch = %v, want scimType %q", pe, tt.parseErr)
				}
				if r := e.must(pe.Status, "PATCH", target, body); r.body["scimType"] != tt.parseErr {
					t.Errorf("PATCH answered %s", r.raw)
				}
				ops = nil
				for _, o := range tt.ops {
					var op scimpath.Operation
					if err := json.Unmarshal([]byte(o), &op); err != nil {
						t.Fatal(err)
					}
					ops = append(ops, op)
				}
			} else if pe != nil {
				t.Fatalf("parsePatch: %v", pe)
			}
			got := e.s.checkPatch(d, ops)
			gotType := ""
			if got != nil {
				gotType = got.ScimType
			}
			if gotType != tt.want {
				t.Errorf("checkPatch = %v, want scimType %q", got, tt.want)
			}
			if want := replayPatch(t, e.s, d, ops); !reflect.DeepEqual(got, want) {
				t.Errorf("checkPatch = %+v, library replay = %+v", got, want)
			}
			if got == nil || tt.parseErr != "" {
				return
			}
			// The answer's detail names the failing operation (explainPatch).
			r := e.must(got.Status, "PATCH", target, body)
			if want := e.s.explainPatch(d, ops, got); r.body["scimType"] != want.ScimType || r.body["detail"] != want.Detail {
				t.Errorf("PATCH answered %s, want %+v", r.raw, want)
			}
		})
	}
}

// TestCheckPatchCache checks that a cached verdict is the verdict: the
// same operations twice give the same answers, and paths beyond the cache
// bounds are still checked.
func TestCheckPatchCache(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.s.patchChecks[e.s.user]
	long := "name." + string(make([]byte, maxCachedPathLen))
	for range 2 {
		for _, tc := range []struct {
			op   scimpath.Operation
			want *Error
		}{
			{scimpath.Operation{Op: "replace", Path: "displayName", Value: "x"}, nil},
			{scimpath.Operation{Op: "replace", Path: "displayName", Value: 1.5}, errPatchValue},
			{scimpath.Operation{Op: "replace", Path: "nope", Value: "x"}, errPatchPath},
			{scimpath.Operation{Op: "replace", Path: long, Value: "x"}, errPatchPath},
		} {
			if got := c.check([]scimpath.Operation{tc.op}); got != tc.want {
				t.Errorf("%s %q: %v, want %v", tc.op.Op, tc.op.Path, got, tc.want)
			}
		}
	}
	if _, cached := c.paths[pathKey{kindUpdate, long}]; cached {
		t.Error("an over-long path was cached")
	}
	if _, cached := c.paths[pathKey{kindUpdate, "displayName"}]; !cached {
		t.Error("displayName was not cached")
	}
}

// FuzzCheckPatch compares checkPatch with the library's replay on
// arbitrary PATCH bodies, for users and groups. No disk writes: fast.
func FuzzCheckPatch(f *testing.F) {
	for _, s := range []string{
		patchBody(`{"op":"replace","value":{"active":"False","id":"x"}}`),
		patchBody(`{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@b"}`),
		patchBody(`{"op":"remove","path":"emails[type eq \"work\" and value co \"@\"]"}`),
		patchBody(`{"op":"add","path":"` + acmeURN + `:tags","value":["a",1]}`),
		patchBody(`{"op":"remove","path":"` + acmeURN + `:tags[value eq \"a\"]"}`),
		patchBody(`{"op":"replace","path":"name","value":{"givenName":"G","GIVENNAME":"H"}}`),
		patchBody(`{"op":"replace","value":{"":1,"ID":"x","Id":"y"}}`),
		patchBody(`{"op":"add","path":"addresses[type eq \"work\"].postalCode","value":1}`),
		patchBody(`{"op":"replace","path":"members","value":[{"value":"m"}]}`),
	} {
		f.Add(s)
	}
	e := newEnv(f, Options{Extensions: checkExtensions})
	f.Fuzz(func(t *testing.T, body string) {
		for _, d := range []*resourceDef{e.s.user, e.s.group} {
			ops, _, pe := parsePatch(d, []byte(body))
			if pe != nil {
				continue
			}
			got := e.s.checkPatch(d, ops)
			if want := replayPatch(t, e.s, d, ops); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: checkPatch = %+v, library replay = %+v", d.typ, got, want)
			}
		}
	})
}
