package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

// Issue 16: what independent RFC 7643/7644 checkers found. Each case runs
// against a fresh server holding one user ($uid, a primary work email) and
// one group ($gid); on an error the stored resources must be unchanged.
func TestStandards(t *testing.T) {
	const (
		userURN  = `"urn:ietf:params:scim:schemas:core:2.0:User"`
		groupURN = `"urn:ietf:params:scim:schemas:core:2.0:Group"`
		entURN   = `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	)
	tests := []struct {
		name, method, path, body string
		status                   int
		scimType, detail         string                                    // on errors; detail is a substring
		check                    func(t *testing.T, stored map[string]any) // the user $uid (or the created resource) afterwards
	}{
		// schemas must name the resource type's core schema (RFC 7643 §3).
		{name: "POST user with only the Group schema", method: "POST", path: "/Users",
			body: `{"schemas":[` + groupURN + `],"userName":"g@x"}`, status: 400, scimType: "invalidValue", detail: "schemas"},
		{name: "POST user with only the enterprise schema", method: "POST", path: "/Users",
			body: `{"schemas":[` + entURN + `],"userName":"g@x"}`, status: 400, scimType: "invalidValue", detail: "core:2.0:User"},
		{name: "POST user with schemas a string", method: "POST", path: "/Users",
			body: `{"schemas":` + userURN + `,"userName":"g@x"}`, status: 400, scimType: "invalidValue", detail: "schemas"},
		{name: "POST user with an empty schemas", method: "POST", path: "/Users",
			body: `{"schemas":[],"userName":"g@x"}`, status: 400, scimType: "invalidValue"},
		{name: "PUT user with only the Group schema", method: "PUT", path: "/Users/$uid",
			body: `{"schemas":[` + groupURN + `],"userName":"u@x"}`, status: 400, scimType: "invalidValue", detail: "schemas"},
		{name: "POST group with only the User schema", method: "POST", path: "/Groups",
			body: `{"schemas":[` + userURN + `],"displayName":"G2"}`, status: 400, scimType: "invalidValue", detail: "core:2.0:Group"},
		{name: "PUT group with only the User schema", method: "PUT", path: "/Groups/$gid",
			body: `{"schemas":[` + userURN + `],"displayName":"G"}`, status: 400, scimType: "invalidValue"},
		{name: "POST user with core and enterprise schemas", method: "POST", path: "/Users",
			body: `{"schemas":[` + entURN + `,` + strings.ToLower(userURN) + `],"userName":"ok@x"}`, status: 201},
		{name: "POST group with core and a foreign schema (Microsoft's)", method: "POST", path: "/Groups",
			body: `{"schemas":[` + groupURN + `,"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"displayName":"G2"}`, status: 201},
		{name: "POST user without schemas (accepted, documented)", method: "POST", path: "/Users",
			body: `{"userName":"noschemas@x"}`, status: 201},

		// primary true at most once (RFC 7643 §2.4).
		{name: "POST user with two primary emails", method: "POST", path: "/Users",
			body:   `{"schemas":[` + userURN + `],"userName":"p@x","emails":[{"value":"a@x","type":"work","primary":true},{"value":"b@x","type":"work","primary":true}]}`,
			status: 400, scimType: "invalidValue", detail: "emails"},
		{name: "POST user with two primary phones as strings", method: "POST", path: "/Users",
			body:   `{"schemas":[` + userURN + `],"userName":"p@x","phoneNumbers":[{"value":"1","primary":"True"},{"value":"2","primary":"true"}]}`,
			status: 400, scimType: "invalidValue", detail: "phoneNumbers"},
		{name: "PUT user with two primary emails", method: "PUT", path: "/Users/$uid",
			body:   `{"schemas":[` + userURN + `],"userName":"u@x","emails":[{"value":"a@x","primary":true},{"value":"b@x","primary":true}]}`,
			status: 400, scimType: "invalidValue", detail: "emails"},
		{name: "PATCH value with two primary emails", method: "PATCH", path: "/Users/$uid",
			body:   patchBody(`{"op":"add","path":"emails","value":[{"value":"a@x","primary":true},{"value":"b@x","primary":true}]}`),
			status: 400, scimType: "invalidValue", detail: "emails"},
		{name: "PATCH path-less value with two primary emails", method: "PATCH", path: "/Users/$uid",
			body:   patchBody(`{"op":"replace","value":{"emails":[{"value":"a@x","primary":true},{"value":"b@x","primary":true}]}}`),
			status: 400, scimType: "invalidValue", detail: "emails"},
		{name: "PATCH adding a primary email clears the old primary", method: "PATCH", path: "/Users/$uid",
			body:   patchBody(`{"op":"add","path":"emails","value":[{"value":"new@x","type":"home","primary":true}]}`),
			status: 204, check: func(t *testing.T, u map[string]any) {
				if get(u, "emails.0.primary") != false || get(u, "emails.2.primary") != true || get(u, "emails.2.value") != "new@x" || get(u, "emails.1.primary") != nil {
					t.Errorf("emails = %v", u["emails"])
				}
			}},
		{name: "PATCH setting primary by filter clears the old primary", method: "PATCH", path: "/Users/$uid",
			body:   patchBody(`{"op":"Replace","path":"emails[type eq \"home\"].primary","value":"True"}`),
			status: 204, check: func(t *testing.T, u map[string]any) {
				if get(u, "emails.0.primary") != false || get(u, "emails.1.primary") != true {
					t.Errorf("emails = %v", u["emails"])
				}
			}},

		// Exact duplicates are stored once (RFC 7643 §2.4).
		{name: "POST user with a duplicate email", method: "POST", path: "/Users",
			body:   `{"schemas":[` + userURN + `],"userName":"d@x","emails":[{"value":"a@x","type":"work"},{"value":"a@x","type":"work","primary":true},{"value":"a@x","type":"home"}]}`,
			status: 201, check: func(t *testing.T, u map[string]any) {
				if l, _ := u["emails"].([]any); len(l) != 2 || get(u, "emails.0.primary") != true || get(u, "emails.1.type") != "home" {
					t.Errorf("emails = %v", u["emails"])
				}
			}},
		{name: "PUT user with a duplicate phone", method: "PUT", path: "/Users/$uid",
			body:   `{"schemas":[` + userURN + `],"userName":"u@x","phoneNumbers":[{"value":"1","type":"work"},{"value":"1","type":"work"}]}`,
			status: 200, check: func(t *testing.T, u map[string]any) {
				if l, _ := u["phoneNumbers"].([]any); len(l) != 1 {
					t.Errorf("phoneNumbers = %v", u["phoneNumbers"])
				}
			}},
		{name: "PATCH adding an email already there changes nothing", method: "PATCH", path: "/Users/$uid",
			body:   patchBody(`{"op":"add","path":"emails","value":[{"value":"work@x","type":"work"}]}`),
			status: 204, check: func(t *testing.T, u map[string]any) {
				if l, _ := u["emails"].([]any); len(l) != 2 || get(u, "meta.version") != `W/"1"` {
					t.Errorf("emails = %v, version %v", u["emails"], get(u, "meta.version"))
				}
			}},

		// Ordering a boolean or binary attribute (RFC 7644 §3.4.2.2).
		{name: "filter active gt true", method: "GET", path: "/Users?filter=active%20gt%20true", status: 400, scimType: "invalidFilter", detail: "active"},
		{name: "filter with a value filter ordering primary", method: "GET", path: "/Users?filter=" + url.QueryEscape(`emails[type eq "work" and primary ge true]`), status: 400, scimType: "invalidFilter"},
		{name: "filter ordering binary", method: "GET", path: "/Users?filter=" + url.QueryEscape(`x509Certificates.value lt "AAAA"`), status: 400, scimType: "invalidFilter"},
		{name: ".search active le false", method: "POST", path: "/Users/.search", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"active le false"}`, status: 400, scimType: "invalidFilter"},
		{name: "PATCH path filter ordering primary", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","path":"emails[primary gt false].value","value":"x@x"}`), status: 400, scimType: "invalidFilter"},
		{name: "filter active eq true still fine", method: "GET", path: "/Users?filter=active%20eq%20true", status: 200},

		// Bodies must be UTF-8 (RFC 8259 §8.1); never stored with U+FFFD.
		{name: "POST user with invalid UTF-8", method: "POST", path: "/Users",
			body: `{"schemas":[` + userURN + `],"userName":"bad` + "\xff\xfe" + `"}`, status: 400, scimType: "invalidSyntax", detail: "UTF-8"},
		{name: "PUT user with invalid UTF-8", method: "PUT", path: "/Users/$uid",
			body: `{"userName":"u@x","displayName":"` + "\xc3" + `"}`, status: 400, scimType: "invalidSyntax"},
		{name: "PATCH with invalid UTF-8", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","path":"displayName","value":"` + "\xed\xa0\x80" + `"}`), status: 400, scimType: "invalidSyntax"},
		{name: "POST user with a lone surrogate escape", method: "POST", path: "/Users",
			body: `{"userName":"bad\udcff"}`, status: 400, scimType: "invalidSyntax", detail: "surrogate"},
		{name: "PATCH with a high surrogate escape not followed by a low one", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","path":"displayName","value":"\ud83d\u0041"}`), status: 400, scimType: "invalidSyntax"},
		{name: "POST /Bulk with invalid UTF-8", method: "POST", path: "/Bulk",
			body:   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","path":"/Users","bulkId":"1","data":{"userName":"` + "\xff" + `"}}]}`,
			status: 400, scimType: "invalidSyntax"},
		{name: "filter with invalid UTF-8 (percent-encoded)", method: "GET", path: "/Users?filter=userName%20eq%20%22a%FF%22", status: 400, scimType: "invalidFilter", detail: "UTF-8"},
		{name: "filter with UTF-8 still fine", method: "GET", path: "/Users?filter=userName%20eq%20%22%C3%A9%22", status: 200},

		// Queries at the server root are optional (RFC 7644 §3.4.2.1): 501.
		{name: "GET at the server root", method: "GET", path: "/?filter=userName%20eq%20%22u%40x%22", status: 501, detail: "/Users or /Groups"},
		{name: "POST /.search at the server root", method: "POST", path: "/.search", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}`, status: 501},
		{name: "POST user with a surrogate pair and escaped backslash", method: "POST", path: "/Users",
			body:   `{"userName":"emoji\ud83d\ude00@x","displayName":"a\\udcff"}`,
			status: 201, check: func(t *testing.T, u map[string]any) {
				if u["userName"] != "emoji😀@x" || u["displayName"] != `a\udcff` {
					t.Errorf("userName %q displayName %q", u["userName"], u["displayName"])
				}
			}},

		// replace with a value filter matching nothing: Entra's leniency
		// (README "Known deviations") only where a filter describes the element.
		{name: "replace work email on a user without one adds it (Entra)", method: "PATCH", path: "/Users/$uid",
			body:   patchBody(`{"op":"replace","path":"phoneNumbers[type eq \"work\"].value","value":"+1 555"}`),
			status: 204, check: func(t *testing.T, u map[string]any) {
				if get(u, "phoneNumbers.0.type") != "work" || get(u, "phoneNumbers.0.value") != "+1 555" {
					t.Errorf("phoneNumbers = %v", u["phoneNumbers"])
				}
			}},
		{name: "replace with a filter that cannot describe an element", method: "PATCH", path: "/Users/$uid",
			body:   patchBody(`{"op":"replace","path":"emails[value co \"nobody\"].type","value":"other"}`),
			status: 400, scimType: "noTarget"},
		{name: "remove without a path", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"remove"}`), status: 400, scimType: "noTarget", detail: "path"},
		{name: "remove without a path but with a value", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"Remove","value":{"displayName":"N"}}`), status: 400, scimType: "noTarget"},
		{name: "remove without a path on a group", method: "PATCH", path: "/Groups/$gid",
			body: patchBody(`{"op":"remove"}`), status: 400, scimType: "noTarget"},
		{name: "replace on a single complex value matching nothing", method: "PATCH", path: "/Users/$uid",
			body:   patchBody(`{"op":"replace","path":"name[givenName eq \"nobody\"].familyName","value":"X"}`),
			status: 400, scimType: "noTarget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			uid := e.createUser("u@x", map[string]any{
				"name":   map[string]any{"givenName": "U", "familyName": "X"},
				"emails": []any{map[string]any{"value": "work@x", "type": "work", "primary": true}, map[string]any{"value": "home@x", "type": "home"}},
			})
			gid := e.createGroup("G")
			userBefore, groupBefore := e.stored(store.TypeUser, uid), e.stored(store.TypeGroup, gid)
			path := strings.NewReplacer("$uid", uid, "$gid", gid).Replace(tt.path)
			r := e.do(tt.method, path, tt.body)
			if r.status != tt.status {
				t.Fatalf("%s %s: status %d, want %d: %s", tt.method, path, r.status, tt.status, r.raw)
			}
			if tt.status >= 400 {
				if got, _ := r.body["scimType"].(string); got != tt.scimType || !strings.Contains(r.body["detail"].(string), tt.detail) {
					t.Errorf("scimType %v detail %q, want %s containing %q", r.body["scimType"], r.body["detail"], tt.scimType, tt.detail)
				}
				if got := e.stored(store.TypeUser, uid); mustJSON(t, got) != mustJSON(t, userBefore) {
					t.Errorf("user changed by a refused request: %v", got)
				}
				if got := e.stored(store.TypeGroup, gid); mustJSON(t, got) != mustJSON(t, groupBefore) {
					t.Errorf("group changed by a refused request: %v", got)
				}
				if n := e.count(store.TypeUser); n != 1 {
					t.Errorf("%d users stored, want 1", n)
				}
				return
			}
			if tt.check == nil {
				return
			}
			id := uid
			if tt.method == "POST" {
				id = r.body["id"].(string)
			}
			typ := store.TypeUser
			if strings.HasPrefix(tt.path, "/Groups") {
				typ = store.TypeGroup
			}
			tt.check(t, e.stored(typ, id))
		})
	}
}

// count is the number of stored resources of typ, as a list reports it.
func (e *env) count(typ string) int {
	e.t.Helper()
	r := e.must(http.StatusOK, "GET", "/"+typ+"s?count=0", nil)
	return int(r.body["totalResults"].(float64))
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
