package scim

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

// Session 7: what a third-party RFC 7643/7644 probe of the built server
// still found (docs/notes/scim.md § Session 7). Each case runs against a
// fresh server holding one user ($uid, in the group) and one group ($gid);
// a refused write must leave both as stored.
func TestThirdPartyProbe(t *testing.T) {
	const (
		userURN = "urn:ietf:params:scim:schemas:core:2.0:User"
		search  = `"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`
	)
	noMeta := func(t *testing.T, res map[string]any) {
		t.Helper()
		if _, ok := res["meta"]; ok {
			t.Errorf("meta returned though attributes did not ask for it: %v", res)
		}
		if res["id"] == nil || res["schemas"] == nil {
			t.Errorf("id or schemas missing (returned: always): %v", res)
		}
	}
	first := func(r resp) map[string]any {
		l, _ := r.body["Resources"].([]any)
		if len(l) == 0 {
			return nil
		}
		m, _ := l[0].(map[string]any)
		return m
	}
	metaOf := func(t *testing.T, res map[string]any, resourceType, location string) {
		t.Helper()
		m, _ := res["meta"].(map[string]any)
		if m == nil || m["resourceType"] != resourceType || !strings.HasPrefix(m["location"].(string), "https://scim.example.com/scim/v2/") ||
			!strings.HasSuffix(m["location"].(string), location) {
			t.Errorf("meta %v, want resourceType %s and a location ending in %s", res["meta"], resourceType, location)
		}
	}
	allowPost := func(t *testing.T, r resp) {
		t.Helper()
		if a := r.header.Values("Allow"); len(a) != 1 || a[0] != "POST" {
			t.Errorf("Allow %q, want POST", a)
		}
	}
	tests := []probeCase{
		// PATCH of a readOnly common attribute is a mutability error (RFC
		// 7644 §3.5.2, §3.12), whatever the path's spelling; it was
		// invalidPath for a path (the path-less form was already right).
		{name: "PATCH replace id", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","path":"id","value":"x"}`), status: 400, scimType: "mutability", detail: "id"},
		{name: "PATCH replace URN-qualified id", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","path":"` + userURN + `:id","value":"x"}`), status: 400, scimType: "mutability"},
		{name: "PATCH remove id", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"Remove","path":"ID"}`), status: 400, scimType: "mutability"},
		{name: "PATCH replace meta.created", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","path":"meta.created","value":"2000-01-01T00:00:00Z"}`), status: 400, scimType: "mutability", detail: "meta"},
		{name: "PATCH add meta", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"add","path":"meta","value":{"version":"W/\"9\""}}`), status: 400, scimType: "mutability"},
		{name: "PATCH replace a group's id", method: "PATCH", path: "/Groups/$gid",
			body: patchBody(`{"op":"replace","path":"id","value":"x"}`), status: 400, scimType: "mutability"},
		{name: "PATCH groups stays mutability", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"add","path":"groups","value":[{"value":"$gid"}]}`), status: 400, scimType: "mutability"},
		{name: "PATCH path-less resent id still ignored (Okta)", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","value":{"id":"$uid","displayName":"D"}}`), status: 204},

		// A message's schemas, when given, must name its message URN (RFC
		// 7644 §3.5.2 PatchOp, §3.4.3 SearchRequest), as /Bulk already
		// required; a missing one stays accepted.
		{name: "PATCH with a foreign schemas", method: "PATCH", path: "/Users/$uid",
			body:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"replace","path":"displayName","value":"D"}]}`,
			status: 400, scimType: "invalidSyntax", detail: "PatchOp"},
		{name: "PATCH with an empty schemas", method: "PATCH", path: "/Groups/$gid",
			body: `{"schemas":[],"Operations":[{"op":"replace","path":"displayName","value":"D"}]}`, status: 400, scimType: "invalidSyntax"},
		{name: "PATCH with schemas a string", method: "PATCH", path: "/Users/$uid",
			body:   `{"schemas":"urn:ietf:params:scim:api:messages:2.0:PatchOp","Operations":[{"op":"replace","path":"displayName","value":"D"}]}`,
			status: 400, scimType: "invalidSyntax"},
		{name: "PATCH without schemas (accepted, documented)", method: "PATCH", path: "/Users/$uid",
			body: `{"Operations":[{"op":"replace","path":"displayName","value":"D"}]}`, status: 204},
		{name: "PATCH with the PatchOp URN in another case", method: "PATCH", path: "/Users/$uid",
			body: `{"SCHEMAS":["URN:ietf:params:scim:api:messages:2.0:patchop"],"Operations":[{"op":"replace","path":"displayName","value":"D"}]}`, status: 204},
		{name: ".search with the User schema", method: "POST", path: "/Users/.search",
			body: `{"schemas":["` + userURN + `"],"count":1}`, status: 400, scimType: "invalidSyntax", detail: "SearchRequest"},
		{name: ".search without schemas (accepted)", method: "POST", path: "/Users/.search", body: `{"count":1}`, status: 200},

		// Every bulk result but a failed POST's has a location (RFC 7644
		// §3.7.3); a DELETE's and a failed PUT's/PATCH's had none.
		{name: "bulk results carry location", method: "POST", path: "/Bulk",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[` +
				`{"method":"PATCH","path":"/users/$uid","version":"W/\"99\"","data":` + patchBody(`{"op":"replace","path":"displayName","value":"D"}`) + `},` +
				`{"method":"PATCH","path":"/Users/nosuch","data":` + patchBody(`{"op":"replace","path":"displayName","value":"D"}`) + `},` +
				`{"method":"POST","path":"/Users","bulkId":"dup","data":{"userName":"u@x"}},` +
				`{"method":"DELETE","path":"/Groups/$gid"}]}`,
			status: 200, check: func(t *testing.T, r resp) {
				ops, _ := r.body["Operations"].([]any)
				want := []struct{ status, location string }{
					{"412", "/Users/$uid"}, {"404", "/Users/nosuch"}, {"409", ""}, {"204", "/Groups/$gid"},
				}
				if len(ops) != len(want) {
					t.Fatalf("operations %v", ops)
				}
				for i, w := range want {
					op := ops[i].(map[string]any)
					loc, _ := op["location"].(string)
					if op["status"] != w.status || (w.location == "") != (loc == "") ||
						w.location != "" && !strings.HasPrefix(loc, "https://scim.example.com/scim/v2/") {
						t.Errorf("operation %d: %v, want status %s and a location like %s", i, op, w.status, w.location)
					}
				}
			}},

		// /Users/.search takes POST only (RFC 7644 §3.4.3): other methods
		// are 405 with Allow, not a resource whose id is ".search".
		{name: "GET /Users/.search", method: "GET", path: "/Users/.search", status: 405, detail: "POST", check: allowPost},
		{name: "DELETE /Groups/.search", method: "DELETE", path: "/Groups/.search", status: 405, check: allowPost},
		{name: "PATCH /users/.search", method: "PATCH", path: "/users/.search", body: patchBody(`{"op":"replace","path":"displayName","value":"D"}`), status: 405, check: allowPost},

		// /Me: a server without it SHOULD answer 501 (RFC 7644 §3.11).
		{name: "GET /Me", method: "GET", path: "/Me", status: 501, detail: "/Me"},
		{name: "PATCH /Me", method: "PATCH", path: "/Me", body: patchBody(`{"op":"replace","path":"displayName","value":"D"}`), status: 501},
		{name: "GET /me/x", method: "GET", path: "/me/x", status: 501},

		// Discovery endpoints ignore query parameters, but a filter SHOULD
		// be 403 so that no client takes the answer as matching it (RFC
		// 7644 §4).
		{name: "GET /Schemas with a filter", method: "GET", path: "/Schemas?filter=id%20eq%20%22x%22", status: 403, detail: "filter"},
		{name: "GET /ResourceTypes with a filter", method: "GET", path: "/ResourceTypes?filter=name%20eq%20%22User%22", status: 403},
		{name: "GET /ServiceProviderConfig with a filter", method: "GET", path: "/ServiceProviderConfig?filter=patch.supported%20eq%20true", status: 403},
		{name: "GET /Schemas with paging ignored", method: "GET", path: "/Schemas?count=1&startIndex=2", status: 200, check: func(t *testing.T, r resp) {
			if n := len(r.body["Resources"].([]any)); n < 2 || r.body["totalResults"] != float64(n) {
				t.Errorf("paging was not ignored: %d resources, totalResults %v", n, r.body["totalResults"])
			}
		}},

		// Discovery resources carry meta (RFC 7643 §3.1; the examples of
		// §8.6, §8.7).
		{name: "ResourceTypes have meta", method: "GET", path: "/ResourceTypes", status: 200, check: func(t *testing.T, r resp) {
			for _, x := range r.body["Resources"].([]any) {
				rt := x.(map[string]any)
				metaOf(t, rt, "ResourceType", "/ResourceTypes/"+rt["id"].(string))
			}
		}},
		{name: "one ResourceType has meta", method: "GET", path: "/ResourceTypes/Group", status: 200, check: func(t *testing.T, r resp) {
			metaOf(t, r.body, "ResourceType", "/ResourceTypes/Group")
		}},
		{name: "Schemas have meta", method: "GET", path: "/Schemas", status: 200, check: func(t *testing.T, r resp) {
			for _, x := range r.body["Resources"].([]any) {
				sc := x.(map[string]any)
				metaOf(t, sc, "Schema", "/Schemas/"+sc["id"].(string))
			}
		}},
		{name: "one Schema has meta", method: "GET", path: "/Schemas/" + userURN, status: 200, check: func(t *testing.T, r resp) {
			metaOf(t, r.body, "Schema", "/Schemas/"+userURN)
		}},
		{name: "unknown ResourceType is a SCIM 404", method: "GET", path: "/ResourceTypes/Nope", status: 404},

		// attributes overrides the default set: only returned:always
		// attributes (id, schemas) are added, and meta is "default" (RFC
		// 7643 §3.1, RFC 7644 §3.4.2.5).
		{name: "GET with attributes leaves meta out", method: "GET", path: "/Users/$uid?attributes=userName", status: 200, check: func(t *testing.T, r resp) {
			noMeta(t, r.body)
			if r.body["userName"] != "u@x" || r.header.Get("ETag") == "" {
				t.Errorf("userName %v, ETag %q", r.body["userName"], r.header.Get("ETag"))
			}
		}},
		{name: "list with attributes leaves meta out", method: "GET", path: "/Users?attributes=userName,emails.value", status: 200, check: func(t *testing.T, r resp) {
			noMeta(t, first(r))
		}},
		{name: ".search with attributes leaves meta out", method: "POST", path: "/Groups/.search", body: `{` + search + `,"attributes":["displayName"]}`, status: 200, check: func(t *testing.T, r resp) {
			noMeta(t, first(r))
		}},
		{name: "PATCH with attributes leaves meta out", method: "PATCH", path: "/Users/$uid?attributes=displayName",
			body: patchBody(`{"op":"replace","path":"displayName","value":"D"}`), status: 200, check: func(t *testing.T, r resp) {
				noMeta(t, r.body)
				if r.body["displayName"] != "D" {
					t.Errorf("displayName %v", r.body["displayName"])
				}
			}},
		{name: "attributes=meta returns all of meta", method: "GET", path: "/Users/$uid?attributes=meta", status: 200, check: func(t *testing.T, r resp) {
			m, _ := r.body["meta"].(map[string]any)
			if m["version"] == nil || m["location"] == nil || m["created"] == nil || r.body["userName"] != nil {
				t.Errorf("body %v", r.body)
			}
		}},
		{name: "attributes=meta.version returns only the version", method: "GET", path: "/Users/$uid?attributes=" + userURN + ":Meta.Version,userName", status: 200, check: func(t *testing.T, r resp) {
			m, _ := r.body["meta"].(map[string]any)
			if len(m) != 1 || m["version"] != r.header.Get("ETag") {
				t.Errorf("meta %v, ETag %q", r.body["meta"], r.header.Get("ETag"))
			}
		}},
		{name: "excludedAttributes alone keeps meta", method: "GET", path: "/Users/$uid?excludedAttributes=emails", status: 200, check: func(t *testing.T, r resp) {
			if r.body["meta"] == nil || r.body["emails"] != nil {
				t.Errorf("body %v", r.body)
			}
		}},
		{name: "group GET with members excluded keeps meta", method: "GET", path: "/Groups/$gid?excludedAttributes=members", status: 200, check: func(t *testing.T, r resp) {
			if r.body["meta"] == nil || r.body["members"] != nil {
				t.Errorf("body %v", r.body)
			}
		}},
	}
	runProbe(t, tests)
}

// probeCase is one request of a probe table: its answer's status, and on
// errors the scimType and a substring of the detail.
type probeCase struct {
	name, method, path, body string
	header                   []string // name, value, ...; $uetag is the user's ETag
	status                   int
	scimType, detail         string // on errors; detail is a substring
	check                    func(t *testing.T, r resp)
}

// runProbe runs each case on a fresh server holding one user ($uid, "u@x",
// with a work email, in the group) and one group ($gid, "G"). A refused
// request must answer a SCIM Error (status as a string) and leave both as
// stored.
func runProbe(t *testing.T, tests []probeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			uid := e.createUser("u@x", map[string]any{"emails": []any{map[string]any{"value": "work@x", "type": "work", "primary": true}}})
			gid := e.createGroup("G", uid)
			userBefore, groupBefore := e.stored(store.TypeUser, uid), e.stored(store.TypeGroup, gid)
			repl := strings.NewReplacer("$uid", uid, "$gid", gid)
			path := repl.Replace(tt.path)
			var body any
			if tt.body != "" {
				body = repl.Replace(tt.body)
			}
			var hdr []string
			for _, h := range tt.header {
				if strings.Contains(h, "$uetag") {
					h = strings.ReplaceAll(h, "$uetag", e.must(200, "GET", "/Users/"+uid, nil).header.Get("ETag"))
				}
				hdr = append(hdr, repl.Replace(h))
			}
			r := e.do(tt.method, path, body, hdr...)
			if r.status != tt.status {
				t.Fatalf("%s %s: status %d, want %d: %.300s", tt.method, path, r.status, tt.status, r.raw)
			}
			if tt.status >= 400 {
				if r.body["status"] != strconv.Itoa(tt.status) {
					t.Errorf("status in the body %v, want %q", r.body["status"], strconv.Itoa(tt.status))
				}
				if !slices.Equal(stringsOf(r.body["schemas"]), []string{"urn:ietf:params:scim:api:messages:2.0:Error"}) {
					t.Errorf("error schemas %v", r.body["schemas"])
				}
				if got, _ := r.body["scimType"].(string); got != tt.scimType || !strings.Contains(r.body["detail"].(string), tt.detail) {
					t.Errorf("scimType %v detail %q, want %q containing %q", r.body["scimType"], r.body["detail"], tt.scimType, tt.detail)
				}
				if got := e.stored(store.TypeUser, uid); mustJSON(t, got) != mustJSON(t, userBefore) {
					t.Errorf("user changed by a refused request: %v", got)
				}
				if got := e.stored(store.TypeGroup, gid); mustJSON(t, got) != mustJSON(t, groupBefore) {
					t.Errorf("group changed by a refused request: %v", got)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func stringsOf(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
