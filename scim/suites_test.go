package scim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

// The checks of the identity providers' published SCIM test suites that
// idp_test.go and protocol_test.go do not already make:
//
//   - Okta's "Okta SCIM 2.0 SPEC Test" Runscope collection (the JSON
//     linked from developer.okta.com/docs/guides/scim-provisioning-
//     integration-prepare, "Test your SCIM API"; a copy is kept in
//     BerriAI/litellm tests/scim_tests/scim_e2e_test.json) and its CRUD
//     suite (developer.okta.com .../scim-provisioning-integration-test).
//   - Microsoft Entra's SCIM validation tests (AzureAD/SCIMReferenceCode,
//     Microsoft.SCIM.LogicAppValidationTemplate: SCIMTests_Workflow.json,
//     SCIM-Validation-Test-Overview.md) and the request shapes and
//     requirements of learn.microsoft.com "Tutorial: Develop and plan
//     provisioning for a SCIM endpoint"
//     (MicrosoftDocs/entra-docs use-scim-to-provision-users-and-groups.md).

// suiteStep is one request of a suite run in order against one server;
// vars are filled in by earlier steps ($name in path, body and headers).
type suiteStep struct {
	name   string
	method string
	path   string
	body   string
	hdr    []string
	status int
	check  func(t *testing.T, e *env, r resp, vars map[string]string)
}

func runSuite(t *testing.T, e *env, vars map[string]string, steps []suiteStep) {
	t.Helper()
	subst := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "$"+k, v)
		}
		return s
	}
	for _, st := range steps {
		var body any
		if st.body != "" {
			body = subst(st.body)
		}
		hdr := make([]string, len(st.hdr))
		for i, h := range st.hdr {
			hdr[i] = subst(h)
		}
		r := e.do(st.method, subst(st.path), body, hdr...)
		if r.status != st.status {
			t.Fatalf("%s: %s %s: status %d, want %d: %s", st.name, st.method, subst(st.path), r.status, st.status, r.raw)
		}
		if st.check != nil {
			t.Run(st.name, func(t *testing.T) { st.check(t, e, r, vars) })
		}
	}
}

func isNumber(v any) bool { _, ok := v.(float64); return ok }

func notEmpty(t *testing.T, doc any, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if v := get(doc, p); v == nil || v == "" {
			t.Errorf("%s is empty in %v", p, doc)
		}
	}
}

func listShape(t *testing.T, r resp) []any {
	t.Helper()
	if !slices.Contains(r.body["schemas"].([]any), any(listSchema)) {
		t.Errorf("schemas = %v", r.body["schemas"])
	}
	for _, k := range []string{"itemsPerPage", "startIndex", "totalResults"} {
		if !isNumber(r.body[k]) {
			t.Errorf("%s = %#v, want a number", k, r.body[k])
		}
	}
	res, ok := r.body["Resources"].([]any)
	if !ok {
		t.Errorf("Resources = %#v, want a list", r.body["Resources"])
	}
	return res
}

func errorShape(t *testing.T, r resp, status int) {
	t.Helper()
	if get(r.body, "schemas.0") != errorSchema || r.body["status"] != fmt.Sprint(status) || r.body["detail"] == "" || r.body["detail"] == nil {
		t.Errorf("not a SCIM error body with status %q: %s", fmt.Sprint(status), r.raw)
	}
}

func filterQuery(f string) string { return "?filter=" + url.QueryEscape(f) }

// TestOktaSpecSuite runs the steps of the "Okta SCIM 2.0 SPEC Test"
// collection in its order. Already covered elsewhere: the empty search
// shape, 409 on a duplicate in another case, 401/404 bodies
// (TestOktaImportAndDeactivate, TestErrorsAreSCIM); they are part of the
// sequence here because later steps depend on the earlier ones.
func TestOktaSpecSuite(t *testing.T) {
	e := newEnv(t, Options{})
	// The collection assumes the app already has a user (its first step
	// reads Resources[0]); Okta created it.
	seed := e.createUser("seed.user@example.com", map[string]any{
		"name":   map[string]any{"givenName": "Seed", "familyName": "User"},
		"emails": []any{map[string]any{"primary": true, "value": "seed.user@example.com", "type": "work"}},
	})
	vars := map[string]string{
		"seed": seed,
		// randomUsername keeps Okta's mixed case: the CRUD checks compare
		// userName as sent (RFC 7643 §4.1.1: caseExact false is for
		// matching, the value is kept as given).
		"userName":  "Runscope.User.8kF2@Example.com",
		"userCaps":  "RUNSCOPE.USER.8KF2@EXAMPLE.COM",
		"email":     "runscope.user.8kf2@example.com",
		"given":     "Runscope",
		"family":    "Tester",
		"invalid":   "abcdefgh@example.com",
		"unknownID": "010101001010101010",
	}
	okta := []string{"Accept", "application/scim+json", "Accept-Charset", "utf-8", "User-Agent", "OKTA SCIM Integration"}
	realistic := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"$userName","name":{"givenName":"$given","familyName":"$family"},` +
		`"emails":[{"primary":true,"value":"$email","type":"work"}],"displayName":"$given $family","active":true}`
	runSuite(t, e, vars, []suiteStep{
		{name: "Test Users endpoint", method: "GET", path: "/Users?count=1&startIndex=1", hdr: okta, status: 200,
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				res := listShape(t, r)
				if len(res) != 1 || r.body["itemsPerPage"] != 1.0 {
					t.Fatalf("count=1 returned %d resources, itemsPerPage %v", len(res), r.body["itemsPerPage"])
				}
				notEmpty(t, res[0], "id", "name.familyName", "name.givenName", "userName", "emails.0.value")
				if get(res[0], "active") != true {
					t.Errorf("active = %v", get(res[0], "active"))
				}
				vars["ISVUserid"] = get(res[0], "id").(string)
			}},
		{name: "Get Users/{{id}}", method: "GET", path: "/Users/$ISVUserid", hdr: okta, status: 200,
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				notEmpty(t, r.body, "id", "name.familyName", "name.givenName", "userName", "active", "emails.0.value")
				if r.body["id"] != vars["ISVUserid"] {
					t.Errorf("id = %v", r.body["id"])
				}
			}},
		{name: "Test invalid User by username", method: "GET", path: "/Users" + filterQuery(`userName eq "abcdefgh@example.com"`), hdr: okta, status: 200,
			check: func(t *testing.T, e *env, r resp, _ map[string]string) {
				if res := listShape(t, r); r.body["totalResults"] != 0.0 || len(res) != 0 {
					t.Errorf("totalResults %v, %d resources", r.body["totalResults"], len(res))
				}
			}},
		{name: "Test invalid User by ID", method: "GET", path: "/Users/$unknownID", hdr: okta, status: 404,
			check: func(t *testing.T, e *env, r resp, _ map[string]string) { errorShape(t, r, 404) }},
		{name: "Make sure random user doesn't exist", method: "GET", path: "/Users?filter=userName%20eq%20%22$email%22", hdr: okta, status: 200,
			check: func(t *testing.T, e *env, r resp, _ map[string]string) {
				if listShape(t, r); r.body["totalResults"] != 0.0 {
					t.Errorf("totalResults = %v", r.body["totalResults"])
				}
			}},
		// Okta sends this one as Content-Type application/json.
		{name: "Create Okta user with realistic values", method: "POST", path: "/Users", body: realistic,
			hdr: []string{"Content-Type", "application/json", "Accept", "application/scim+json; charset=utf-8"}, status: 201,
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				if r.body["active"] != true || r.body["userName"] != vars["userName"] ||
					get(r.body, "name.familyName") != vars["family"] || get(r.body, "name.givenName") != vars["given"] ||
					!slices.Contains(r.body["schemas"].([]any), any("urn:ietf:params:scim:schemas:core:2.0:User")) {
					t.Errorf("created = %s", r.raw)
				}
				notEmpty(t, r.body, "id")
				vars["idUserOne"], _ = r.body["id"].(string)
				doc := e.stored(store.TypeUser, vars["idUserOne"])
				if doc["userName"] != vars["userName"] || get(doc, "emails.0.value") != vars["email"] || doc["displayName"] != "Runscope Tester" {
					t.Errorf("stored = %v", doc)
				}
			}},
		{name: "Verify that user was created", method: "GET", path: "/Users/$idUserOne", hdr: okta, status: 200,
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				if r.body["userName"] != vars["userName"] || get(r.body, "name.familyName") != vars["family"] || get(r.body, "name.givenName") != vars["given"] {
					t.Errorf("user = %s", r.raw)
				}
			}},
		// The collection resends the same values (emails[0].value = userName).
		{name: "Expect failure when recreating user with same values", method: "POST", path: "/Users",
			body: strings.Replace(realistic, `"value":"$email"`, `"value":"$userName"`, 1), hdr: []string{"Content-Type", "application/json"}, status: 409,
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				errorShape(t, r, 409)
				if r.body["scimType"] != "uniqueness" {
					t.Errorf("scimType = %v", r.body["scimType"])
				}
				r2 := e.must(200, "GET", "/Users"+filterQuery(`userName eq "`+vars["userName"]+`"`), nil)
				if r2.body["totalResults"] != 1.0 {
					t.Errorf("after the 409: %s", r2.raw)
				}
			}},
		// The collection asserts only 200; RFC 7643 §4.1.1 (caseExact false)
		// makes the user the match.
		{name: "Username Case Sensitivity Check", method: "GET", path: "/Users?filter=userName%20eq%20%22$userCaps%22", hdr: okta, status: 200,
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				if listShape(t, r); r.body["totalResults"] != 1.0 || get(r.body, "Resources.0.id") != vars["idUserOne"] {
					t.Errorf("case-insensitive userName = %s", r.raw)
				}
			}},
		{name: "Verify Groups endpoint", method: "GET", path: "/Groups", hdr: okta, status: 200,
			check: func(t *testing.T, e *env, r resp, _ map[string]string) {
				if res := listShape(t, r); r.body["totalResults"] != 0.0 || len(res) != 0 {
					t.Errorf("groups = %s", r.raw)
				}
			}},
		{name: "Check status 401", method: "GET", path: "/Users?filter=userName%20eq%20%22$userCaps%22",
			hdr: append([]string{"Authorization", "non-token"}, okta...), status: 401,
			check: func(t *testing.T, e *env, r resp, _ map[string]string) { errorShape(t, r, 401) }},
		{name: "Check status 404", method: "GET", path: "/Users/00919288221112222", hdr: okta, status: 404,
			check: func(t *testing.T, e *env, r resp, _ map[string]string) { errorShape(t, r, 404) }},
	})
}

// TestOktaCRUDSuite follows the Runscope CRUD suite: create, update the
// first name, deactivate, reactivate, unassign (deactivate again), each
// verified with a GET and in the store. Okta's profile update for custom
// apps is a PUT of the whole user as GET returned it (id, meta, groups).
func TestOktaCRUDSuite(t *testing.T) {
	e := newEnv(t, Options{})
	gid := e.createGroup("Okta Staff")
	vars := map[string]string{"gid": gid}
	runSuite(t, e, vars, []suiteStep{
		{name: "create", method: "POST", path: "/Users", status: 201,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"crud.user@example.com","name":{"givenName":"Crud","familyName":"User"},` +
				`"emails":[{"primary":true,"value":"crud.user@example.com","type":"work"}],"displayName":"Crud User","locale":"en-US","externalId":"00u1crud","groups":[],"password":"1mz050nq","active":true}`,
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				vars["id"] = r.body["id"].(string)
				e.must(204, "PATCH", "/Groups/"+vars["gid"], patchBody(`{"op":"add","path":"members","value":[{"value":"`+vars["id"]+`","display":"crud.user@example.com"}]}`))
				vars["etag"] = e.must(200, "GET", "/Users/"+vars["id"], nil).header.Get("ETag")
			}},
		{name: "update firstName by PUT of the GET", method: "PUT", path: "/Users/$id", status: 200, hdr: []string{"If-Match", "$etag"},
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"$id","userName":"crud.user@example.com","name":{"givenName":"Changed","familyName":"User"},` +
				`"emails":[{"primary":true,"value":"crud.user@example.com","type":"work"}],"displayName":"Changed User","locale":"en-US","externalId":"00u1crud",` +
				`"groups":[{"value":"$gid","display":"Okta Staff"}],"active":true,"meta":{"resourceType":"User","version":"W/\"1\""}}`,
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				doc := e.stored(store.TypeUser, vars["id"])
				if get(doc, "name.givenName") != "Changed" || doc["groups"] != nil || doc["password"] != nil || versionOf(doc) != `W/"2"` {
					t.Errorf("stored after PUT = %v", doc)
				}
				if get(r.body, "name.givenName") != "Changed" || get(r.body, "groups.0.value") != vars["gid"] {
					t.Errorf("PUT answer = %s", r.raw)
				}
			}},
		{name: "deactivate", method: "PATCH", path: "/Users/$id", status: 204,
			body: patchBody(`{"op":"replace","value":{"active":false}}`),
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				if e.stored(store.TypeUser, vars["id"])["active"] != false {
					t.Error("not deactivated")
				}
				g := e.must(200, "GET", "/Users/"+vars["id"], nil)
				if g.body["active"] != false || get(g.body, "name.givenName") != "Changed" {
					t.Errorf("deactivated user = %s", g.raw)
				}
			}},
		{name: "reactivate", method: "PATCH", path: "/Users/$id", status: 204,
			body: patchBody(`{"op":"replace","value":{"active":true}}`),
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				if e.stored(store.TypeUser, vars["id"])["active"] != true {
					t.Error("not reactivated")
				}
			}},
		{name: "unassign deactivates, user stays findable", method: "PATCH", path: "/Users/$id", status: 204,
			body: patchBody(`{"op":"replace","value":{"active":false}}`),
			check: func(t *testing.T, e *env, r resp, vars map[string]string) {
				l := e.must(200, "GET", "/Users"+filterQuery(`userName eq "crud.user@example.com"`), nil)
				if l.body["totalResults"] != 1.0 || get(l.body, "Resources.0.active") != false || get(l.body, "Resources.0.groups.0.value") != vars["gid"] {
					t.Errorf("search after unassign = %s", l.raw)
				}
			}},
	})
}

const entURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// TestEntraNullUpdate is the validator's SCIM_Null_Update_Test: phase 1
// replaces every mapped optional attribute with "", phase 2 with null,
// each either one operation per path ("verbose") or one path-less
// operation for the attributes without a filter. After phase 1 a value
// must read back as "" or absent; after phase 2 as absent (the validator
// compares with null). RFC 7643 §2.5: null is unassigned.
func TestEntraNullUpdate(t *testing.T) {
	targets := []string{
		"displayName", "title", "preferredLanguage", "name.givenName", "name.familyName", "name.formatted",
		`emails[type eq "work"].value`, `phoneNumbers[type eq "mobile"].value`, `addresses[type eq "work"].streetAddress`,
		entURN + ":department", entURN + ":employeeNumber", entURN + ":costCenter",
	}
	start := map[string]any{
		"displayName": "D", "title": "T", "preferredLanguage": "en",
		"name":         map[string]any{"givenName": "G", "familyName": "F", "formatted": "G F"},
		"emails":       []any{map[string]any{"type": "work", "primary": true, "value": "w@x.com"}},
		"phoneNumbers": []any{map[string]any{"type": "mobile", "primary": true, "value": "555"}},
		"addresses":    []any{map[string]any{"type": "work", "primary": true, "streetAddress": "1 Main St"}},
		entURN:         map[string]any{"department": "Dep", "employeeNumber": "42", "costCenter": "CC"},
	}
	verbose := func(value string) string {
		var ops []string
		for _, p := range targets {
			ops = append(ops, `{"op":"replace","path":"`+strings.ReplaceAll(p, `"`, `\"`)+`","value":`+value+`}`)
		}
		return patchBody(ops...)
	}
	batch := func(value string) string {
		var ops, kv []string
		for _, p := range targets {
			if strings.Contains(p, "[") {
				ops = append(ops, `{"op":"replace","path":"`+strings.ReplaceAll(p, `"`, `\"`)+`","value":`+value+`}`)
			} else {
				kv = append(kv, `"`+p+`":`+value)
			}
		}
		return patchBody(append(ops, `{"op":"replace","value":{`+strings.Join(kv, ",")+`}}`)...)
	}
	// read follows the validator's lookup of a target in a GET answer.
	read := func(doc map[string]any, p string) (any, bool) {
		switch {
		case strings.HasPrefix(p, "urn:"):
			ext, _ := doc[entURN].(map[string]any)
			v, ok := ext[p[len(entURN)+1:]]
			return v, ok
		case strings.Contains(p, "["):
			attr, rest, _ := strings.Cut(p, "[")
			typ := strings.Split(rest, `"`)[1]
			sub := p[strings.LastIndex(p, ".")+1:]
			list, _ := doc[attr].([]any)
			for _, el := range list {
				if get(el, "type") == typ {
					v, ok := el.(map[string]any)[sub]
					return v, ok
				}
			}
			return nil, false
		case strings.Contains(p, "."):
			a, sub, _ := strings.Cut(p, ".")
			m, _ := doc[a].(map[string]any)
			v, ok := m[sub]
			return v, ok
		}
		v, ok := doc[p]
		return v, ok
	}
	tests := []struct {
		name           string
		phase1, phase2 string
	}{
		{"verbose", verbose(`""`), verbose(`null`)},
		{"path-less batch", batch(`""`), batch(`null`)},
		{"null without the empty-string phase", "", verbose(`null`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			id := e.createUser("scnull@test.com", start)
			if tt.phase1 != "" {
				e.must(http.StatusNoContent, "PATCH", "/Users/"+id, tt.phase1)
				g := e.must(http.StatusOK, "GET", "/Users/"+id, nil)
				for _, p := range targets {
					if v, _ := read(g.body, p); v != nil && v != "" {
						t.Errorf("phase 1: %s = %#v, want empty", p, v)
					}
				}
			}
			e.must(http.StatusNoContent, "PATCH", "/Users/"+id, tt.phase2)
			g := e.must(http.StatusOK, "GET", "/Users/"+id, nil)
			doc := e.stored(store.TypeUser, id)
			for _, p := range targets {
				if v, ok := read(g.body, p); ok {
					t.Errorf("phase 2: %s = %#v in the answer, want absent", p, v)
				}
				if v, ok := read(doc, p); ok {
					t.Errorf("phase 2: %s = %#v stored, want absent", p, v)
				}
			}
			if strings.Contains(g.raw, ":null") {
				t.Errorf("answer has a null: %s", g.raw)
			}
			// What no target names is kept.
			if doc["userName"] != "scnull@test.com" || doc["active"] != true || get(doc, "emails.0.type") != "work" {
				t.Errorf("stored = %v", doc)
			}
			if slices.Contains(doc["schemas"].([]any), any(entURN)) {
				t.Errorf("empty extension still in schemas: %v", doc["schemas"])
			}
		})
	}
}

// TestEntraPatchClears covers the other ways Entra and RFC 7644 clear a
// value, and what may not be cleared.
func TestEntraPatchClears(t *testing.T) {
	tests := []struct {
		name   string
		start  map[string]any
		ops    []string
		status int
		check  func(t *testing.T, doc map[string]any)
	}{
		// SCIM_Update_Manager_Test's removal: Replace with "".
		{name: "manager replace with empty string removes it", start: map[string]any{entURN: map[string]any{"manager": map[string]any{"value": "m1"}, "department": "D"}},
			ops: []string{`{"op":"replace","path":"` + entURN + `:manager","value":""}`}, status: 204,
			check: func(t *testing.T, doc map[string]any) {
				if _, ok := doc[entURN].(map[string]any)["manager"]; ok || extAttr(doc, "department") != "D" {
					t.Errorf("extension = %v", doc[entURN])
				}
			}},
		{name: "manager Add with empty string removes it", start: map[string]any{entURN: map[string]any{"manager": map[string]any{"value": "m1"}}},
			ops: []string{`{"op":"Add","path":"` + entURN + `:manager","value":""}`}, status: 204,
			check: func(t *testing.T, doc map[string]any) {
				if doc[entURN] != nil || slices.Contains(doc["schemas"].([]any), any(entURN)) {
					t.Errorf("extension left: %v %v", doc[entURN], doc["schemas"])
				}
			}},
		{name: "path-less manager empty string", start: map[string]any{entURN: map[string]any{"manager": map[string]any{"value": "m1"}, "department": "D"}},
			ops: []string{`{"op":"replace","value":{"` + entURN + `:manager":"","displayName":"N"}}`}, status: 204,
			check: func(t *testing.T, doc map[string]any) {
				if extAttr(doc, "manager") != nil || doc["displayName"] != "N" || extAttr(doc, "department") != "D" {
					t.Errorf("doc = %v", doc)
				}
			}},
		{name: "whole extension object with a null attribute", start: map[string]any{entURN: map[string]any{"department": "D", "division": "V"}},
			ops: []string{`{"op":"replace","value":{"` + entURN + `":{"department":null,"costCenter":"C"}}}`}, status: 204,
			check: func(t *testing.T, doc map[string]any) {
				ext := doc[entURN].(map[string]any)
				if _, ok := ext["department"]; ok || ext["costCenter"] != "C" || ext["division"] != "V" {
					t.Errorf("extension = %v", ext)
				}
			}},
		{name: "replace null of an absent attribute is a no-op", ops: []string{`{"op":"replace","path":"title","value":null}`}, status: 204,
			check: func(t *testing.T, doc map[string]any) {
				if versionOf(doc) != `W/"1"` {
					t.Errorf("version = %s, want unchanged", versionOf(doc))
				}
			}},
		{name: "add null stays invalid (RFC 7644 §3.5.2.1)", start: map[string]any{"title": "T"},
			ops: []string{`{"op":"add","path":"title","value":null}`}, status: 400,
			check: func(t *testing.T, doc map[string]any) {
				if doc["title"] != "T" {
					t.Errorf("title = %v", doc["title"])
				}
			}},
		{name: "userName cannot be replaced with null", ops: []string{`{"op":"replace","path":"userName","value":null}`}, status: 400},
		{name: "userName cannot be removed", ops: []string{`{"op":"remove","path":"userName"}`}, status: 400},
		{name: "userName cannot be emptied", ops: []string{`{"op":"Replace","path":"userName","value":""}`}, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			id := e.createUser("clear@x.com", tt.start)
			before := e.stored(store.TypeUser, id)
			r := e.must(tt.status, "PATCH", "/Users/"+id, patchBody(tt.ops...))
			doc := e.stored(store.TypeUser, id)
			if tt.status >= 400 {
				if r.body["scimType"] != "invalidValue" {
					t.Errorf("error = %s", r.raw)
				}
				if versionOf(doc) != versionOf(before) || doc["userName"] != "clear@x.com" {
					t.Errorf("failed PATCH changed the user: %v", doc)
				}
			}
			if tt.check != nil {
				tt.check(t, doc)
			}
		})
	}
	// A group's displayName is required too (RFC 7643 §4.2).
	e := newEnv(t, Options{})
	gid := e.createGroup("Keep")
	for _, op := range []string{`{"op":"remove","path":"displayName"}`, `{"op":"Replace","path":"displayName","value":null}`, `{"op":"replace","value":{"displayName":""}}`} {
		if r := e.must(http.StatusBadRequest, "PATCH", "/Groups/"+gid, patchBody(op)); r.body["scimType"] != "invalidValue" {
			t.Errorf("%s: %s", op, r.raw)
		}
	}
	if doc := e.stored(store.TypeGroup, gid); doc["displayName"] != "Keep" || versionOf(doc) != `W/"1"` {
		t.Errorf("group = %v", doc)
	}
}

// TestEntraManagerSuite is SCIM_Update_Manager_Test: set with Add and a
// bare id, change with a lower-case replace, remove with "", each read
// back with a GET.
func TestEntraManagerSuite(t *testing.T) {
	e := newEnv(t, Options{})
	uid := e.createUser("scmgr-user@test.com")
	m1, m2 := e.createUser("scmgr-mgr@test.com"), e.createUser("scmgr-mgr2@test.com")
	steps := []struct {
		op   string
		want any // manager.value in GET, nil for no manager
	}{
		{`{"op":"Add","path":"` + entURN + `:manager","value":"` + m1 + `"}`, m1},
		{`{"op":"replace","path":"` + entURN + `:manager","value":"` + m2 + `"}`, m2},
		{`{"op":"replace","path":"` + entURN + `:manager","value":""}`, nil},
	}
	for i, st := range steps {
		e.must(http.StatusNoContent, "PATCH", "/Users/"+uid, patchBody(st.op))
		g := e.must(http.StatusOK, "GET", "/Users/"+uid, nil)
		if got := get(extAttr(g.body, "manager"), "value"); got != st.want {
			t.Errorf("step %d: manager.value = %#v, want %#v (%s)", i, got, st.want, g.raw)
		}
		if st.want == nil && (extAttr(g.body, "manager") != nil || extAttr(e.stored(store.TypeUser, uid), "manager") != nil) {
			t.Errorf("step %d: manager left: %s", i, g.raw)
		}
	}
}

// TestEntraPagination is SCIM_User_Pagination_Test and
// SCIM_Group_Pagination_Test: at least 11 resources, pages of 5 followed
// while startIndex + len(Resources) <= totalResults; every page 200 with
// startIndex page*5+1. Added here: no resource is seen twice or missed.
func TestEntraPagination(t *testing.T) {
	e := newEnv(t, Options{})
	want := map[string]map[string]bool{"/Users": {}, "/Groups": {}}
	for i := range 11 {
		want["/Users"][e.createUser(fmt.Sprintf("pag%02d@test.com", i))] = true
		want["/Groups"][e.createGroup(fmt.Sprintf("PagGroup %02d", i))] = true
	}
	for endpoint, ids := range want {
		seen := map[string]bool{}
		next, pages := endpoint+"?startIndex=1&count=5", 0
		for next != "" && pages < 10 {
			r := e.must(http.StatusOK, "GET", next, nil)
			res := listShape(t, r)
			if r.body["startIndex"] != float64(pages*5+1) {
				t.Errorf("%s page %d: startIndex %v", endpoint, pages, r.body["startIndex"])
			}
			for _, x := range res {
				id := get(x, "id").(string)
				if seen[id] || !ids[id] {
					t.Errorf("%s: %s seen twice or unknown", endpoint, id)
				}
				seen[id] = true
			}
			pages++
			start, total := int(r.body["startIndex"].(float64)), int(r.body["totalResults"].(float64))
			next = ""
			if len(res) > 0 && start+len(res) <= total {
				next = fmt.Sprintf("%s?startIndex=%d&count=5", endpoint, start+len(res))
			}
		}
		if pages < 2 || len(seen) != len(ids) {
			t.Errorf("%s: %d pages, %d of %d resources", endpoint, pages, len(seen), len(ids))
		}
	}
}

// TestEntraRequestShapes: the create, read and query requests of
// Microsoft's "Develop and plan provisioning for a SCIM endpoint" page and
// the validator's direct create/update tests.
func TestEntraRequestShapes(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.must(http.StatusCreated, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],`+
		`"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee","active":true,`+
		`"emails":[{"primary":true,"type":"work","value":"Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],"meta":{"resourceType":"User"},`+
		`"name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},"roles":[]}`)
	uid := r.body["id"].(string)
	g := e.must(http.StatusCreated, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],`+
		`"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName","meta":{"resourceType":"Group"}}`)
	gid := g.body["id"].(string)
	e.must(http.StatusNoContent, "PATCH", "/Groups/"+gid, patchBody(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+uid+`"}]}`))

	tests := []struct {
		name, path string
		check      func(t *testing.T, r resp)
	}{
		{"created user has no null values (roles: [] sent)", "/Users/" + uid, func(t *testing.T, r resp) {
			if strings.Contains(r.raw, ":null") || r.body["userName"] != "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee" {
				t.Errorf("user = %s", r.raw)
			}
			if doc := e.stored(store.TypeUser, uid); doc["roles"] != nil || strings.Contains(fmt.Sprint(doc), "<nil>") {
				t.Errorf("stored = %v", doc)
			}
		}},
		{"group created with Microsoft's extra schema URN", "/Groups/" + gid + "?excludedAttributes=members", func(t *testing.T, r resp) {
			if r.body["displayName"] != "displayName" || r.body["members"] != nil || r.body["externalId"] != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" {
				t.Errorf("group = %s", r.raw)
			}
			if s := e.stored(store.TypeGroup, gid)["schemas"]; len(s.([]any)) != 1 {
				t.Errorf("stored schemas = %v", s)
			}
		}},
		// "if user uniqueness is evaluated for both userName and
		// emails[type eq "work"], a GET to /Users with a filter must allow
		// for both userName eq … and emails[type eq "work"].value eq …".
		{"emails[type eq work].value eq (Entra matching)", "/Users" + filterQuery(`emails[type eq "work"].value eq "test_user_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"`), func(t *testing.T, r resp) {
			if r.body["totalResults"] != 1.0 || get(r.body, "Resources.0.id") != uid {
				t.Errorf("list = %s", r.raw)
			}
		}},
		{"the same in RFC 7644 form", "/Users" + filterQuery(`emails[type eq "work" and value eq "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"]`), func(t *testing.T, r resp) {
			if r.body["totalResults"] != 1.0 {
				t.Errorf("list = %s", r.raw)
			}
		}},
		{"emails[type eq home].value eq finds nothing", "/Users" + filterQuery(`emails[type eq "home"].value eq "test_user_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"`), func(t *testing.T, r resp) {
			if r.body["totalResults"] != 0.0 {
				t.Errorf("list = %s", r.raw)
			}
		}},
		{"userName or emails value path", "/Users" + filterQuery(`userName eq "nobody" or emails[type eq "work"].value eq "TEST_USER_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"`), func(t *testing.T, r resp) {
			if r.body["totalResults"] != 1.0 {
				t.Errorf("list = %s", r.raw)
			}
		}},
		{"externalId eq quoted", "/Users" + filterQuery(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`), func(t *testing.T, r resp) {
			if r.body["totalResults"] != 1.0 || get(r.body, "Resources.0.id") != uid {
				t.Errorf("list = %s", r.raw)
			}
		}},
		// "Requests to determine whether a reference attribute has a
		// certain value are requests about the members attribute."
		{"group by id and member", "/Groups" + filterQuery(`id eq "`+gid+`" and members eq "`+uid+`"`) + "&attributes=id", func(t *testing.T, r resp) {
			if r.body["totalResults"] != 1.0 || get(r.body, "Resources.0.id") != gid || get(r.body, "Resources.0.displayName") != nil {
				t.Errorf("list = %s", r.raw)
			}
		}},
		{"group by id and another member", "/Groups" + filterQuery(`id eq "`+gid+`" and members eq "someone-else"`) + "&attributes=id", func(t *testing.T, r resp) {
			if r.body["totalResults"] != 0.0 {
				t.Errorf("list = %s", r.raw)
			}
		}},
		{"/Schemas sends no null values", "/Schemas", func(t *testing.T, r resp) {
			if strings.Contains(r.raw, ":null") {
				t.Errorf("/Schemas has a null")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, e.must(http.StatusOK, "GET", tt.path, nil)) })
	}

	// SCIM_User_Update_Test: every single-valued string attribute PATCHed
	// (capitalised op, as Entra sends it) reads back as sent.
	updates := map[string]string{
		"displayName": "DN", "nickName": "Nick", "title": "Engineer", "userType": "Employee", "preferredLanguage": "en-US",
		"locale": "en-US", "timezone": "Europe/Brussels", "name.givenName": "Given", "name.familyName": "Family", "name.formatted": "Given Family",
		`emails[type eq "work"].value`: "updated@testuser.com", `phoneNumbers[type eq "work"].value`: "555-0100",
		`addresses[type eq "work"].postalCode`: "1000", entURN + ":employeeNumber": "100009", entURN + ":department": "Human Resources US",
	}
	var ops []string
	for p, v := range updates {
		ops = append(ops, `{"op":"Replace","path":"`+strings.ReplaceAll(p, `"`, `\"`)+`","value":"`+v+`"}`)
	}
	slices.Sort(ops)
	e.must(http.StatusNoContent, "PATCH", "/Users/"+uid, patchBody(ops...))
	got := e.must(http.StatusOK, "GET", "/Users/"+uid, nil).body
	doc := e.stored(store.TypeUser, uid)
	for p, v := range updates {
		var path string
		switch {
		case strings.HasPrefix(p, "urn:"):
			if extAttr(got, p[len(entURN)+1:]) != v || extAttr(doc, p[len(entURN)+1:]) != v {
				t.Errorf("%s not updated", p)
			}
			continue
		case strings.HasPrefix(p, "emails"):
			path = "emails.0.value"
		case strings.HasPrefix(p, "phoneNumbers"):
			path = "phoneNumbers.0.value"
		case strings.HasPrefix(p, "addresses"):
			path = "addresses.0.postalCode"
		default:
			path = p
		}
		if get(got, path) != v || get(doc, path) != v {
			t.Errorf("%s = %v (stored %v), want %q", p, get(got, path), get(doc, path), v)
		}
	}
	if emails := doc["emails"].([]any); len(emails) != 1 {
		t.Errorf("work email duplicated: %v", emails)
	}
	// SCIM_Group_Update_Test and "Update Group [Non-member attributes]".
	e.must(http.StatusNoContent, "PATCH", "/Groups/"+gid, patchBody(`{"op":"Replace","path":"displayName","value":"1879db59updatedDisplayName"}`, `{"op":"Replace","path":"externalId","value":"ext-2"}`))
	gd := e.stored(store.TypeGroup, gid)
	if gd["displayName"] != "1879db59updatedDisplayName" || gd["externalId"] != "ext-2" || len(gd["_memberIDs"].([]string)) != 1 {
		t.Errorf("group = %v", gd)
	}
	// Disable User: "a GET and filter request on a disabled User should
	// have attribute active".
	e.must(http.StatusNoContent, "PATCH", "/Users/"+uid, `{"Operations":[{"op":"Replace","path":"active","value":false}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`)
	l := e.must(http.StatusOK, "GET", "/Users"+filterQuery(`userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`), nil)
	if get(l.body, "Resources.0.active") != false {
		t.Errorf("disabled user in a filter = %s", l.raw)
	}
}

// TestEntraSchemaDiscoverability is Schema_Discoverability_Test: /Schemas
// is flattened as the validator does (multi-valued complex attributes as
// attr[type eq "<canonical value>"].sub, complex ones as attr.sub,
// reference-typed ones left out, extension attributes as urn:attr) and
// every attribute of Entra's default SCIM mappings must be found,
// case-insensitively, except id.
func TestEntraSchemaDiscoverability(t *testing.T) {
	e := newEnv(t, Options{})
	flatten := func(sc map[string]any, ext bool) []string {
		var out []string
		for _, a := range sc["attributes"].([]any) {
			am := a.(map[string]any)
			name := am["name"].(string)
			subs, _ := am["subAttributes"].([]any)
			switch {
			case ext:
				out = append(out, sc["id"].(string)+":"+name)
			case name == "manager" || name == "members":
				out = append(out, name)
			case am["type"] == "complex" && am["multiValued"] == true:
				var cvs []any
				var filterable []string
				for _, s := range subs {
					sm := s.(map[string]any)
					switch sm["name"] {
					case "type":
						cvs, _ = sm["canonicalValues"].([]any)
					case "primary":
					default:
						filterable = append(filterable, sm["name"].(string))
					}
				}
				for _, cv := range cvs {
					for _, sub := range filterable {
						out = append(out, fmt.Sprintf(`%s[type eq "%v"].%s`, name, cv, sub))
					}
				}
				if len(cvs) == 0 {
					for _, sub := range append(filterable, "type") {
						out = append(out, name+`[primary eq "True"].`+sub)
					}
				}
			case am["type"] == "complex":
				for _, s := range subs {
					if sm := s.(map[string]any); sm["type"] != "complex" && sm["type"] != "reference" {
						out = append(out, name+"."+sm["name"].(string))
					}
				}
			case am["type"] != "reference":
				out = append(out, name)
			}
		}
		return out
	}
	var user, group []string
	for _, x := range e.must(http.StatusOK, "GET", "/Schemas", nil).body["Resources"].([]any) {
		sc := x.(map[string]any)
		switch sc["id"] {
		case "urn:ietf:params:scim:schemas:core:2.0:User":
			user = append(user, flatten(sc, false)...)
		case "urn:ietf:params:scim:schemas:core:2.0:Group":
			group = append(group, flatten(sc, false)...)
		default:
			user = append(user, flatten(sc, true)...)
		}
	}
	lookup := func(names []string) string { return "|" + strings.ToLower(strings.Join(names, "|")) + "|" }
	// Entra's default attribute mappings for a SCIM app (MicrosoftDocs
	// use-scim-to-provision-users-and-groups.md, attribute tables).
	wantUser := []string{"userName", "active", "displayName", "title", "preferredLanguage", "externalId",
		"name.givenName", "name.familyName", "name.formatted",
		`emails[type eq "work"].value`, `emails[type eq "other"].Value`,
		`phoneNumbers[type eq "work"].value`, `phoneNumbers[type eq "mobile"].value`, `phoneNumbers[type eq "fax"].value`,
		`addresses[type eq "work"].formatted`, `addresses[type eq "work"].streetAddress`, `addresses[type eq "work"].locality`,
		`addresses[type eq "work"].region`, `addresses[type eq "work"].postalCode`, `addresses[type eq "work"].country`,
		`addresses[type eq "other"].Formatted`,
		entURN + ":employeeNumber", entURN + ":department", entURN + ":manager"}
	for _, a := range wantUser {
		if !strings.Contains(lookup(user), "|"+strings.ToLower(a)+"|") {
			t.Errorf("user attribute %s not discoverable", a)
		}
	}
	for _, a := range []string{"displayName", "externalId", "members"} {
		if !strings.Contains(lookup(group), "|"+strings.ToLower(a)+"|") {
			t.Errorf("group attribute %s not discoverable", a)
		}
	}
	// The single-schema endpoint says the same.
	one := e.must(http.StatusOK, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", nil)
	if !strings.Contains(lookup(flatten(one.body, false)), "|externalid|") {
		t.Errorf("/Schemas/…:Group lacks externalId: %s", one.raw)
	}
	if n := strings.Count(e.must(http.StatusOK, "GET", "/Schemas", nil).raw, `"name":"externalId"`); n != 2 {
		t.Errorf("externalId listed %d times, want once in User and once in Group", n)
	}
}
