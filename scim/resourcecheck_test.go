package scim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

// replayResource validates a POST/PUT body the way parseResourceBody did
// before checkResource: users normalised and re-encoded, then the body
// replayed through the pinned library's server.
func replayResource(t testing.TB, s *Server, d *resourceDef, method, body string) (map[string]any, *Error) {
	t.Helper()
	raw, e := decodeObject([]byte(body))
	if e != nil {
		t.Fatalf("decodeObject: %v", e)
	}
	b := []byte(body)
	if d.typ == store.TypeUser {
		normalizeResource(raw)
		if nb, err := json.Marshal(raw); err == nil {
			b = nb
		}
	}
	return s.validate(httptest.NewRequest(method, "/", nil), d, method, b)
}

// checkBody validates body as parseResourceBody does now.
func checkBody(t testing.TB, s *Server, d *resourceDef, body string) (map[string]any, *Error) {
	t.Helper()
	raw, e := decodeObject([]byte(body))
	if e != nil {
		t.Fatalf("decodeObject: %v", e)
	}
	if d.typ == store.TypeUser {
		normalizeResource(raw)
	}
	return s.checkResource(d, raw, []byte(body))
}

// explainBody is checkResource's error as the endpoint reports it.
func explainBody(t testing.TB, s *Server, d *resourceDef, body string, err *Error) *Error {
	t.Helper()
	raw, _ := decodeObject([]byte(body))
	if d.typ == store.TypeUser {
		normalizeResource(raw)
	}
	return s.explain(d, raw, err)
}

// TestCheckResourceMatchesLibrary checks, for valid and invalid POST/PUT
// bodies, that checkResource gives the expected verdict, exactly the
// attributes or error of the library's replay (POST and PUT), and that
// the endpoint answers with that error.
func TestCheckResourceMatchesLibrary(t *testing.T) {
	const (
		user  = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]`
		group = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]`
	)
	tests := []struct {
		name  string
		group bool
		body  string
		want  string // "" accepted, else the scimType
	}{
		{name: "minimal user", body: `{` + user + `,"userName":"a@b"}`},
		{name: "Okta user", body: `{` + user + `,"userName":"a@b","name":{"givenName":"A","familyName":"B"},"emails":[{"primary":true,"value":"a@b","type":"work"}],"displayName":"A B","locale":"en-US","externalId":"00u1","groups":[],"password":"secret","active":true}`},
		{name: "Entra string booleans", body: `{` + user + `,"userName":"a@b","active":"True","emails":[{"primary":"False","value":"a@b"}]}`},
		{name: "enterprise extension", body: `{` + user + `,"userName":"a@b","` + enterpriseURN + `":{"employeeNumber":"7","department":"D","manager":{"value":"m"}}}`},
		{name: "Entra bare-string manager", body: `{` + user + `,"userName":"a@b","` + enterpriseURN + `":{"manager":"m1"}}`},
		{name: "empty bare-string manager", body: `{` + user + `,"userName":"a@b","` + enterpriseURN + `":{"manager":""}}`},
		{name: "custom extension of every type", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{"badge":"b","level":3,"ratio":0.5,"vip":"true","since":"2024-01-02T03:04:05Z","tags":["x","y"],"home":"https://h"}}`},
		{name: "integer and decimal as strings", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{"level":"42","ratio":"1.25"}}`},
		{name: "big integer", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{"level":9007199254740993}}`},
		{name: "extension in another letter case (ignored)", body: `{` + user + `,"userName":"a@b","URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ACME:2.0:USER":{"level":"x"}}`},
		{name: "null extension", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":null}`},
		{name: "empty extension", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{}}`},
		{name: "unknown attributes ignored", body: `{` + user + `,"userName":"a@b","favouriteColour":"blue","name":{"nickname":"x"}}`},
		{name: "readOnly and common attributes dropped", body: `{` + user + `,"id":"x","meta":{"version":"W/\"9\""},"userName":"a@b","groups":[{"value":"g"}]}`},
		{name: "multi-valued as one object", body: `{` + user + `,"userName":"a@b","emails":{"value":"a@b","type":"work","bogus":1}}`},
		{name: "empty userName is a string", body: `{` + user + `,"userName":""}`},
		{name: "null attribute", body: `{` + user + `,"userName":"a@b","displayName":null,"emails":null}`},
		{name: "empty emails list", body: `{` + user + `,"userName":"a@b","emails":[]}`},
		{name: "group with members", group: true, body: `{` + group + `,"displayName":"G","members":[{"value":"u1","display":"U"},{"value":"u2","displayName":"V"}]}`},
		{name: "group externalId", group: true, body: `{` + group + `,"displayName":"G","externalId":"e"}`},
		{name: "group with user extension (ignored)", group: true, body: `{` + group + `,"displayName":"G","` + acmeURN + `":{"level":"x"}}`},

		{name: "missing userName", body: `{` + user + `,"active":true}`, want: "invalidValue"},
		{name: "null userName", body: `{` + user + `,"userName":null}`, want: "invalidValue"},
		{name: "empty userName named when another value fails", body: `{` + user + `,"userName":"","active":"maybe"}`, want: "invalidValue"},
		{name: "userName not a string", body: `{` + user + `,"userName":42}`, want: "invalidValue"},
		{name: "duplicate userName", body: `{` + user + `,"userName":"a","USERNAME":"b"}`, want: "invalidSyntax"},
		{name: "active not a boolean", body: `{` + user + `,"userName":"a@b","active":1}`, want: "invalidValue"},
		{name: "string boolean that is not one", body: `{` + user + `,"userName":"a@b","active":"yes"}`, want: "invalidValue"},
		{name: "name not an object", body: `{` + user + `,"userName":"a@b","name":"A B"}`, want: "invalidValue"},
		{name: "duplicate sub-attribute", body: `{` + user + `,"userName":"a@b","name":{"givenName":"A","GivenName":"B"}}`, want: "invalidSyntax"},
		{name: "multi-valued not a list", body: `{` + user + `,"userName":"a@b","emails":"a@b"}`, want: "invalidSyntax"},
		{name: "multi-valued element of wrong type", body: `{` + user + `,"userName":"a@b","emails":["a@b"]}`, want: "invalidValue"},
		{name: "multi-valued sub-attribute of wrong type", body: `{` + user + `,"userName":"a@b","emails":[{"value":"a@b","primary":"perhaps"}]}`, want: "invalidValue"},
		{name: "multi-valued object with bad sub-attribute", body: `{` + user + `,"userName":"a@b","emails":{"value":7}}`, want: "invalidValue"},
		{name: "enterprise not an object", body: `{` + user + `,"userName":"a@b","` + enterpriseURN + `":"x"}`, want: "invalidSyntax"},
		{name: "enterprise attribute of wrong type", body: `{` + user + `,"userName":"a@b","` + enterpriseURN + `":{"employeeNumber":7}}`, want: "invalidValue"},
		{name: "manager not a string or object", body: `{` + user + `,"userName":"a@b","` + enterpriseURN + `":{"manager":7}}`, want: "invalidValue"},
		{name: "integer with a fraction", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{"level":3.5}}`, want: "invalidValue"},
		{name: "integer out of range", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{"level":99999999999999999999}}`, want: "invalidValue"},
		{name: "decimal out of range", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{"ratio":1e400}}`, want: "invalidValue"},
		{name: "bad dateTime", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{"since":"yesterday"}}`, want: "invalidValue"},
		{name: "custom multi-valued not a list", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{"tags":"x"}}`, want: "invalidSyntax"},
		{name: "custom multi-valued bad element", body: `{` + user + `,"userName":"a@b","` + acmeURN + `":{"tags":["x",1]}}`, want: "invalidValue"},
		{name: "core error before extension error", body: `{` + user + `,"active":2,"` + acmeURN + `":{"tags":"x"}}`, want: "invalidValue"},
		{name: "trailing brace: no attribute named (replay quirk)", group: true, body: `{` + group + `} }`, want: "invalidValue"},
		{name: "trailing brace in a user body", body: `{` + user + `} ]`, want: "invalidValue"},
		{name: "missing displayName", group: true, body: `{` + group + `,"members":[]}`, want: "invalidValue"},
		{name: "member not an object", group: true, body: `{` + group + `,"displayName":"G","members":["u1"]}`, want: "invalidValue"},
		{name: "member value not a string", group: true, body: `{` + group + `,"displayName":"G","members":[{"value":1}]}`, want: "invalidValue"},
		{name: "externalId not a string", group: true, body: `{` + group + `,"displayName":"G","externalId":1}`, want: "invalidValue"},
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
			got, gotErr := checkBody(t, e.s, d, tt.body)
			gotType := ""
			if gotErr != nil {
				gotType = gotErr.ScimType
			}
			if gotType != tt.want {
				t.Errorf("checkResource = %v, want scimType %q", gotErr, tt.want)
			}
			if tt.want == "" && got == nil {
				t.Error("checkResource accepted nothing")
			}
			for _, method := range []string{http.MethodPost, http.MethodPut} {
				want, wantErr := replayResource(t, e.s, d, method, tt.body)
				if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
					t.Errorf("%s: checkResource = %#v, %+v; library replay = %#v, %+v", method, got, gotErr, want, wantErr)
				}
			}
			if gotErr == nil {
				return
			}
			r := e.must(gotErr.Status, "PUT", target, tt.body)
			gotErr = explainBody(t, e.s, d, tt.body, gotErr) // the endpoint names the culprit attribute
			if r.body["scimType"] != gotErr.ScimType || r.body["detail"] != gotErr.Detail {
				t.Errorf("PUT answered %s, want %+v", r.raw, gotErr)
			}
		})
	}
}

// FuzzCheckResource compares checkResource with the library's replay on
// arbitrary POST/PUT bodies, for users and groups. No disk writes: fast.
func FuzzCheckResource(f *testing.F) {
	for _, s := range []string{
		`{"userName":"a","active":"True","emails":[{"value":"a@b","primary":"False"}]}`,
		`{"userName":"a","` + enterpriseURN + `":{"manager":"m","employeeNumber":"1"}}`,
		`{"userName":"a","` + acmeURN + `":{"level":"3","ratio":2,"vip":true,"since":"2024-01-02T03:04:05Z","tags":["x"]}}`,
		`{"userName":"a","USERNAME":"b","name":{"givenName":1}}`,
		`{"displayName":"G","members":[{"value":"u","displayName":"U"}],"externalId":"e"}`,
		`{"userName":"","emails":{"value":"a","type":1},"groups":[1]}`,
		`{"userName":"a","x509Certificates":[{"value":"AAAA"}],"addresses":[{"postalCode":1}]}`,
	} {
		f.Add(s)
	}
	e := newEnv(f, Options{Extensions: checkExtensions})
	f.Fuzz(func(t *testing.T, body string) {
		if _, err := decodeObject([]byte(body)); err != nil {
			return
		}
		for _, d := range []*resourceDef{e.s.user, e.s.group} {
			got, gotErr := checkBody(t, e.s, d, body)
			want, wantErr := replayResource(t, e.s, d, http.MethodPost, body)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
				t.Fatalf("%s: checkResource = %#v, %+v; library replay = %#v, %+v", d.typ, got, gotErr, want, wantErr)
			}
		}
	})
}

// The library's invalidValue says only that some value is wrong; the
// endpoint names the attribute.
func TestInvalidValueNamesTheAttribute(t *testing.T) {
	const user = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b"`
	tests := []struct{ name, body, want string }{
		{"boolean", `{` + user + `,"active":"maybe"}`, "attribute active:"},
		{"complex", `{` + user + `,"name":"Jane"}`, "attribute name:"},
		{"multi-valued element", `{` + user + `,"emails":[{"value":7}]}`, "attribute emails:"},
		{"extension", `{` + user + `,"` + enterpriseURN + `":{"employeeNumber":7}}`, "attribute " + enterpriseURN + ":employeeNumber:"},
	}
	e := newEnv(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.must(http.StatusBadRequest, "POST", "/Users", tt.body)
			if d, _ := r.body["detail"].(string); !strings.HasPrefix(d, tt.want) || r.body["scimType"] != "invalidValue" {
				t.Errorf("answer %s, want a detail starting %q", r.raw, tt.want)
			}
		})
	}
	// A missing required attribute keeps its own message.
	r := e.must(http.StatusBadRequest, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`)
	if r.body["detail"] != "userName is required" {
		t.Errorf("missing userName: %s", r.raw)
	}
}
