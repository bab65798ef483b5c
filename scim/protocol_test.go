package scim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/store"
)

func TestErrorsAreSCIM(t *testing.T) {
	e := newEnv(t, Options{MaxPayloadBytes: 2048})
	uid := e.createUser("u@x")
	big := `{"userName":"` + strings.Repeat("x", 4096) + `"}`
	tests := []struct {
		name, method, path string
		body               any
		hdr                []string
		status             int
		scimType           string
	}{
		{"unknown route", "GET", "/Nope", nil, nil, 404, ""},
		{"unknown user", "GET", "/Users/does-not-exist", nil, nil, 404, ""},
		{"method not allowed", "DELETE", "/Users", nil, nil, 405, ""},
		{"bad token", "GET", "/Users", nil, []string{"Authorization", "Bearer wrong"}, 401, ""},
		{"no token", "GET", "/Users", nil, []string{"Authorization", ""}, 401, ""},
		{"basic auth", "GET", "/Users", nil, []string{"Authorization", "Basic dGVzdC10b2tlbg=="}, 401, ""},
		{"body too large", "POST", "/Users", big, nil, 413, ""},
		{"not JSON", "POST", "/Users", "{nope", nil, 400, "invalidSyntax"},
		{"wrong content type", "POST", "/Users", `{"userName":"a"}`, []string{"Content-Type", "text/plain"}, 415, ""},
		{"missing userName", "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`, nil, 400, "invalidValue"},
		{"invalid filter", "GET", "/Users?filter=" + url.QueryEscape(`userName eq`), nil, nil, 400, "invalidFilter"},
		{"garbage filter", "GET", "/Users?filter=" + url.QueryEscape(`((userName`), nil, nil, 400, "invalidFilter"},
		{"bad count", "GET", "/Users?count=ten", nil, nil, 400, "invalidValue"},
		{"patch unknown op", "PATCH", "/Users/" + uid, patchBody(`{"op":"merge","path":"userName","value":"x"}`), nil, 400, "invalidSyntax"},
		{"patch no operations", "PATCH", "/Users/" + uid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`, nil, 400, "invalidValue"},
		{"patch unknown path", "PATCH", "/Users/" + uid, patchBody(`{"op":"replace","path":"nosuch","value":"x"}`), nil, 400, ""},
		{"patch missing user", "PATCH", "/Users/nope", patchBody(`{"op":"replace","path":"userName","value":"x"}`), nil, 404, ""},
		{"put missing user", "PUT", "/Users/nope", `{"userName":"x"}`, nil, 404, ""},
		{"delete missing", "DELETE", "/Groups/nope", nil, nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.body, tt.hdr...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.raw)
			}
			if get(r.body, "schemas.0") != errorSchema || r.body["status"] != itoaInt(tt.status) || r.body["detail"] == "" {
				t.Errorf("not a SCIM error body: %s", r.raw)
			}
			if tt.scimType != "" && r.body["scimType"] != tt.scimType {
				t.Errorf("scimType = %v, want %s", r.body["scimType"], tt.scimType)
			}
			if tt.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	// The stored user is untouched by the failed requests.
	if doc := e.stored(store.TypeUser, uid); doc["userName"] != "u@x" || versionOf(doc) != `W/"1"` {
		t.Errorf("user changed by failed requests: %v", doc)
	}
}

func itoaInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestETags(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.createUser("u@x")
	r := e.must(http.StatusOK, "GET", "/Users/"+id, nil)
	v1 := r.header.Get("ETag")
	if v1 != `W/"1"` || get(r.body, "meta.version") != v1 {
		t.Fatalf("ETag %q, meta.version %v", v1, get(r.body, "meta.version"))
	}
	r = e.do("GET", "/Users/"+id, nil, "If-None-Match", v1)
	if r.status != http.StatusNotModified || r.raw != "" {
		t.Errorf("If-None-Match current: %d %s", r.status, r.raw)
	}
	e.must(http.StatusPreconditionFailed, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"displayName","value":"x"}`), "If-Match", `W/"7"`)
	e.must(http.StatusPreconditionFailed, "PUT", "/Users/"+id, `{"userName":"u@x"}`, "If-Match", `W/"7"`)
	e.must(http.StatusPreconditionFailed, "DELETE", "/Users/"+id, nil, "If-Match", `W/"7"`)
	if doc := e.stored(store.TypeUser, id); doc["displayName"] != nil {
		t.Fatal("412 PATCH was applied")
	}
	e.must(http.StatusNoContent, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"displayName","value":"x"}`), "If-Match", v1)
	r = e.must(http.StatusOK, "GET", "/Users/"+id, nil, "If-None-Match", v1)
	if v2 := r.header.Get("ETag"); v2 == v1 || v2 == "" {
		t.Errorf("version after write = %q", v2)
	}
	e.must(http.StatusNoContent, "DELETE", "/Users/"+id, nil, "If-Match", "*")
}

// TestUserETagFollowsGroups: a user's groups are part of what GET shows,
// so its ETag changes when it joins or leaves a group or a group it is in
// is renamed, though the user itself is not written; conditional requests
// use that served version.
func TestUserETagFollowsGroups(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.createUser("u@x")
	gid := e.createGroup("Staff")
	etag := func() string {
		r := e.must(http.StatusOK, "GET", "/Users/"+id, nil)
		v := r.header.Get("ETag")
		if get(r.body, "meta.version") != v {
			t.Fatalf("ETag %q, meta.version %v", v, get(r.body, "meta.version"))
		}
		return v
	}
	seen := map[string]string{}
	step := func(name string) string {
		t.Helper()
		v := etag()
		if prev, dup := seen[v]; dup {
			t.Errorf("%s: ETag %s is the one from %s", name, v, prev)
		}
		seen[v] = name
		return v
	}
	v0 := step("created")
	e.must(http.StatusNoContent, "PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+id+`"}]}`))
	v1 := step("joined")
	if r := e.do("GET", "/Users/"+id, nil, "If-None-Match", v0); r.status != http.StatusOK || get(r.body, "groups") == nil {
		t.Errorf("If-None-Match with the version before joining: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/Users/"+id, nil, "If-None-Match", v1); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match current: %d %s", r.status, r.raw)
	}
	e.must(http.StatusNoContent, "PATCH", "/Groups/"+gid, patchBody(`{"op":"replace","path":"displayName","value":"Staff 2"}`))
	v2 := step("group renamed")
	e.must(http.StatusPreconditionFailed, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"displayName","value":"x"}`), "If-Match", v1)
	if doc := e.stored(store.TypeUser, id); doc["displayName"] != nil {
		t.Fatal("412 PATCH was applied")
	}
	e.must(http.StatusNoContent, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"displayName","value":"x"}`), "If-Match", v2)
	v3 := step("user patched")
	if !strings.HasPrefix(v3, `W/"2-`) {
		t.Errorf("version after the user's second write = %s, want W/\"2-…\"", v3)
	}
	e.must(http.StatusNoContent, "PATCH", "/Groups/"+gid, patchBody(`{"op":"remove","path":"members[value eq \"`+id+`\"]"}`))
	if v := step("left"); v != `W/"2"` {
		t.Errorf("version with no groups = %s, want the stored W/\"2\"", v)
	}
	e.must(http.StatusOK, "PUT", "/Users/"+id, `{"userName":"u@x"}`, "If-Match", `W/"2"`)
}

func TestConcurrentCreateOneWins(t *testing.T) {
	e := newEnv(t, Options{})
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Same@X.com"}`
			if i%2 == 1 {
				body = strings.Replace(body, "Same@X.com", "same@x.COM", 1)
			}
			statuses[i] = e.do("POST", "/Users", body).status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", s)
		}
	}
	if created != 1 {
		t.Errorf("%d creates succeeded, want exactly 1 (%v)", created, statuses)
	}
	var n int
	e.db.View(func(tx *store.Tx) error { n = tx.CountResources(store.TypeUser); return nil })
	if n != 1 {
		t.Errorf("%d users stored", n)
	}
}

func TestGroupDisplayNameUniqueness(t *testing.T) {
	e := newEnv(t, Options{})
	e.createGroup("Sales")
	e.must(http.StatusConflict, "POST", "/Groups", `{"displayName":"SALES"}`)
	off := false
	e2 := newEnv(t, Options{UniqueGroupDisplayName: &off})
	e2.createGroup("Sales")
	e2.createGroup("sales")
	r := e2.must(http.StatusOK, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Sales"`), nil)
	if r.body["totalResults"] != 2.0 {
		t.Errorf("displayName eq with uniqueness off: %s", r.raw)
	}
}

func TestListPagination(t *testing.T) {
	e := newEnv(t, Options{MaxResults: 3})
	var ids []string
	for i := range 5 {
		ids = append(ids, e.createUser("user"+string(rune('a'+i))+"@x"))
	}
	tests := []struct {
		query            string
		total, per, from int
		first            string
	}{
		{"", 5, 3, 1, ids[0]},
		{"?startIndex=2&count=2", 5, 2, 2, ids[1]},
		{"?startIndex=5&count=2", 5, 1, 5, ids[4]},
		{"?startIndex=9", 5, 0, 9, ""},
		{"?count=0", 5, 0, 1, ""},
		{"?startIndex=0&count=-1", 5, 0, 1, ""},
		{"?count=100", 5, 3, 1, ids[0]},
		{"?filter=" + url.QueryEscape(`userName sw "user"`) + "&startIndex=4", 5, 2, 4, ids[3]},
		{"?filter=" + url.QueryEscape(`id eq "`+ids[2]+`"`), 1, 1, 1, ids[2]},
		{"?filter=" + url.QueryEscape(`meta.created gt 2015-10-10T14:38:21.8617979-07:00`), 5, 3, 1, ids[0]},
		{"?filter=" + url.QueryEscape(`userName sw O`), 0, 0, 1, ""},
	}
	for _, tt := range tests {
		r := e.must(http.StatusOK, "GET", "/Users"+tt.query, nil)
		res, _ := r.body["Resources"].([]any)
		if r.body["totalResults"] != float64(tt.total) || r.body["itemsPerPage"] != float64(tt.per) ||
			r.body["startIndex"] != float64(tt.from) || len(res) != tt.per || res == nil {
			t.Errorf("%s: total %v per %v start %v len %d", tt.query, r.body["totalResults"], r.body["itemsPerPage"], r.body["startIndex"], len(res))
			continue
		}
		if tt.first != "" && get(res, "0.id") != tt.first {
			t.Errorf("%s: first = %v, want %s", tt.query, get(res, "0.id"), tt.first)
		}
	}
	// trailing slash and .search answer the same
	r := e.must(http.StatusOK, "GET", "/Users/?filter="+url.QueryEscape(`userName eq "userb@x"`), nil)
	if get(r.body, "Resources.0.id") != ids[1] {
		t.Errorf("trailing slash: %s", r.raw)
	}
	r = e.must(http.StatusOK, "POST", "/Users/.search", map[string]any{
		"schemas": []string{searchSchema}, "filter": `userName eq "userb@x"`, "attributes": []string{"userName"},
	})
	if get(r.body, "Resources.0.id") != ids[1] || get(r.body, "Resources.0.active") != nil || get(r.body, "Resources.0.userName") != "userb@x" {
		t.Errorf(".search: %s", r.raw)
	}
}

func TestCustomExtensionAndStrict(t *testing.T) {
	const acme = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
	ext := []Extension{{URN: acme, Name: "Acme", Attributes: []ExtensionField{
		{Name: "badge"}, {Name: "level", Type: "integer"}, {Name: "tags", MultiValued: true},
	}}}
	e := newEnv(t, Options{Extensions: ext})
	id := e.createUser("u@x", map[string]any{acme: map[string]any{"badge": "B-7", "level": 3, "tags": []string{"a"}}, "favouriteColour": "blue"})
	doc := e.stored(store.TypeUser, id)
	if get(doc[acme], "badge") != "B-7" || get(doc[acme], "level") != 3.0 {
		t.Errorf("extension stored as %v", doc[acme])
	}
	if doc["favouriteColour"] != nil {
		t.Error("undeclared attribute stored")
	}
	if n := strings.Count(e.log.String(), "favouriteColour"); n != 1 {
		t.Errorf("warned %d times about favouriteColour, want 1", n)
	}
	e.createUser("v@x", map[string]any{"favouriteColour": "red"})
	if n := strings.Count(e.log.String(), "favouriteColour"); n != 1 {
		t.Errorf("warned %d times after a second user, want once per name", n)
	}
	r := e.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(acme+`:badge eq "b-7"`), nil)
	if r.body["totalResults"] != 1.0 {
		t.Errorf("filter on extension: %s", r.raw)
	}
	e.must(http.StatusNoContent, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"`+acme+`:badge","value":"B-8"}`))
	if get(e.stored(store.TypeUser, id)[acme], "badge") != "B-8" {
		t.Error("PATCH of extension attribute not stored")
	}
	r = e.must(http.StatusOK, "GET", "/Schemas", nil)
	if !strings.Contains(r.raw, acme) || !strings.Contains(r.raw, "badge") {
		t.Error("/Schemas lacks the custom extension")
	}
	strict := newEnv(t, Options{Extensions: ext, StrictAttributes: true})
	r = strict.must(http.StatusBadRequest, "POST", "/Users", map[string]any{"userName": "x@x", "favouriteColour": "blue", acme: map[string]any{"nope": 1}})
	if detail, _ := r.body["detail"].(string); !strings.Contains(detail, "favouriteColour") || !strings.Contains(detail, acme+":nope") {
		t.Errorf("strict detail = %q", detail)
	}
}

func TestWriteResponses(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.must(http.StatusCreated, "POST", "/Users", `{"userName":"u@x","password":"hunter2","active":"True",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m-1"}}`)
	id := r.body["id"].(string)
	loc := "https://scim.example.com/scim/v2/Users/" + id
	if r.header.Get("Location") != loc || get(r.body, "meta.location") != loc {
		t.Errorf("Location %q, meta.location %v", r.header.Get("Location"), get(r.body, "meta.location"))
	}
	if r.body["password"] != nil || strings.Contains(r.raw, "hunter2") {
		t.Error("password returned")
	}
	if r.body["active"] != true || get(extAttr(r.body, "manager"), "value") != "m-1" {
		t.Errorf("create normalisation: %s", r.raw)
	}
	var raw []byte
	e.db.View(func(tx *store.Tx) error {
		return tx.Dump(func(_ string, _, v []byte) error { raw = append(raw, v...); return nil })
	})
	if strings.Contains(string(raw), "hunter2") {
		t.Error("password in the data file")
	}
	// PATCH answers 200 with the resource when attributes are asked for.
	r = e.must(http.StatusOK, "PATCH", "/Users/"+id+"?attributes=displayName", patchBody(`{"op":"replace","path":"displayName","value":"D"}`))
	if r.body["displayName"] != "D" || r.body["id"] != id || r.body["userName"] != nil {
		t.Errorf("PATCH with attributes: %s", r.raw)
	}
	r = e.must(http.StatusOK, "GET", "/Users/"+id+"?attributes="+url.QueryEscape(`emails[type eq "work"],userName`), nil)
	if r.body["userName"] != "u@x" || r.body["displayName"] != nil {
		t.Errorf("attributes with a filter: %s", r.raw)
	}
}

// TestDiscoveryGolden pins the JSON shapes of the discovery endpoints.
func TestDiscoveryGolden(t *testing.T) {
	e := newEnv(t, Options{MaxResults: 200, MaxPayloadBytes: 1 << 20})
	for _, tc := range []struct{ path, file string }{
		{"/ServiceProviderConfig", "service_provider_config.json"},
		{"/ResourceTypes", "resource_types.json"},
	} {
		r := e.must(http.StatusOK, "GET", tc.path, nil)
		got, _ := json.MarshalIndent(r.body, "", "  ")
		testkit.Golden(t, tc.file, append(got, '\n'))
	}
	alias := e.must(http.StatusOK, "GET", "/serviceConfiguration", nil)
	if alias.body["patch"] == nil || get(alias.body, "etag.supported") != true || get(alias.body, "bulk.supported") != true {
		t.Errorf("serviceConfiguration: %s", alias.raw)
	}
	// Endpoint names in another letter case (Microsoft's suite asks for /users).
	e.must(http.StatusOK, "GET", "/users", nil)
	// A filter on a discovery list is 403 (RFC 7644 §4; the library's
	// evaluator would panic on it anyway), other parameters are ignored.
	e.must(http.StatusForbidden, "GET", "/Schemas?filter="+url.QueryEscape(`id eq 5`), nil)
	e.must(http.StatusOK, "GET", "/Schemas?count=1", nil)
	r := e.must(http.StatusOK, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", nil)
	if r.body["id"] != "urn:ietf:params:scim:schemas:core:2.0:User" || !strings.Contains(r.raw, "User Account") {
		t.Errorf("schema: %.300s", r.raw)
	}
	e.must(http.StatusNotFound, "GET", "/Schemas/urn:nope", nil)
}

// TestUserGolden pins the JSON shape of a user as GET returns it.
func TestUserGolden(t *testing.T) {
	e := newEnv(t, Options{})
	gid := e.createGroup("Staff")
	id := e.createUser("jane@example.com", map[string]any{
		"name":       map[string]any{"givenName": "Jane", "familyName": "Doe"},
		"emails":     []any{map[string]any{"Primary": true, "value": "jane@example.com", "type": "work"}},
		"externalId": "ext-1",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"Department": "R&D"},
	})
	e.must(http.StatusNoContent, "PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+id+`"}]}`))
	r := e.must(http.StatusOK, "GET", "/Users/"+id, nil)
	got, _ := json.MarshalIndent(r.body, "", "  ")
	norm := strings.NewReplacer(id, "USER-ID", gid, "GROUP-ID").Replace(string(got))
	norm = regexp.MustCompile(`\d{4}-\d\d-\d\dT[0-9:.]+Z`).ReplaceAllString(norm, "TIME")
	norm = regexp.MustCompile(`-[0-9a-f]{16}\\"`).ReplaceAllString(norm, `-GROUPS-DIGEST\"`) // depends on the random group id
	testkit.Golden(t, "user.json", []byte(norm+"\n"))
}

func TestEachResource(t *testing.T) {
	e := newEnv(t, Options{})
	uid := e.createUser("u@x")
	gid := e.createGroup("G", uid, "other")
	got := map[string]map[string]any{}
	err := e.db.View(func(tx *store.Tx) error {
		return e.s.EachResource(tx, func(typ, id string, res map[string]any) error {
			got[typ+"/"+id] = res
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || get(got["User/"+uid], "groups.0.value") != gid {
		t.Fatalf("EachResource = %v", got)
	}
	members, _ := got["Group/"+gid]["members"].([]any)
	if len(members) != 2 || get(members, "0.value") != "other" && get(members, "1.value") != "other" {
		t.Errorf("group members = %v", members)
	}
}

type failingAwaiter struct{ recordSink }

func (failingAwaiter) Await(_ context.Context, typ, id string) error {
	return errors.New("target down")
}

func TestAwaitFailureKeepsWrite(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.sink = failingAwaiter{}
	r := e.do("POST", "/Users", `{"userName":"sync@x"}`)
	if r.status != http.StatusBadGateway || !strings.Contains(r.raw, "target down") {
		t.Fatalf("POST with failing delivery: %d %s", r.status, r.raw)
	}
	res := e.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`userName eq "sync@x"`), nil)
	if res.body["totalResults"] != 1.0 {
		t.Errorf("write not kept: %s", res.raw)
	}
}

// Concurrent PATCHes of one user are all applied (no lost update), though
// each is computed outside the write transaction.
func TestConcurrentPatchesNoLostUpdate(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.createUser("c@x")
	var wg sync.WaitGroup
	const n = 20
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := `{"op":"add","path":"emails[type eq \"t` + itoaInt(i) + `\"].value","value":"v` + itoaInt(i) + `@x"}`
			if r := e.do("PATCH", "/Users/"+id, patchBody(op)); r.status != http.StatusNoContent {
				t.Errorf("PATCH %d: %d %s", i, r.status, r.raw)
			}
		}()
	}
	wg.Wait()
	doc := e.stored(store.TypeUser, id)
	if emails, _ := doc["emails"].([]any); len(emails) != n {
		t.Errorf("%d emails stored, want %d: %v", len(emails), n, emails)
	}
	if v := versionOf(doc); v != `W/"21"` {
		t.Errorf("version = %s, want W/\"21\"", v)
	}
}

func TestCreateDetailsAndMemberDisplay(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.must(http.StatusBadRequest, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"active":true}`)
	if r.body["detail"] != "userName is required" {
		t.Errorf("detail = %v", r.body["detail"])
	}
	uid := e.createUser("m@x")
	r = e.must(http.StatusCreated, "POST", "/Groups", `{"displayName":"G","members":[{"value":"`+uid+`","displayName":"Mary"}]}`)
	if get(r.body, "members.0.display") != "Mary" || get(r.body, "members.0.value") != uid {
		t.Errorf("member display from displayName: %s", r.raw)
	}
	if strings.Contains(e.log.String(), "displayName") {
		t.Errorf("members.displayName reported as unknown: %s", e.log.String())
	}
}

// A required string that is empty or blank is missing: 400 invalidValue
// naming it, nothing stored (an empty userName used to be stored without
// an index entry, and a PUT of one answered 500).
func TestRequiredAttributesMustNotBeEmpty(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.createUser("a@x")
	gid := e.createGroup("G")
	for _, tt := range []struct{ method, path, body, attr string }{
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":""}`, "userName"},
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"  "}`, "userName"},
		{"PUT", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":""}`, "userName"},
		{"POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":""}`, "displayName"},
		{"PUT", "/Groups/" + gid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":" "}`, "displayName"},
	} {
		r := e.do(tt.method, tt.path, tt.body)
		if r.status != http.StatusBadRequest || r.body["scimType"] != "invalidValue" || !strings.HasPrefix(r.body["detail"].(string), tt.attr+" is required") {
			t.Errorf("%s %s %s: %d %s", tt.method, tt.path, tt.body, r.status, r.raw)
		}
	}
	if n := e.must(http.StatusOK, "GET", "/Users", nil).body["totalResults"]; n != float64(1) {
		t.Errorf("%v users stored, want 1", n)
	}
	if doc := e.stored(store.TypeUser, id); doc["userName"] != "a@x" {
		t.Errorf("user after refused PUTs: %v", doc)
	}
}

// Entra can match users on their work email: the filter is answered from
// the email index (every address, case folded) and still applied whole,
// so the type must match too; the index follows PATCH and DELETE.
func TestEmailFilterUsesIndex(t *testing.T) {
	e := newEnv(t, Options{})
	ann := e.createUser("ann", map[string]any{"emails": []any{
		map[string]any{"type": "work", "value": "Ann@Work.example", "primary": true},
		map[string]any{"type": "home", "value": "ann@home.example"},
	}})
	e.createUser("bob", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "bob@work.example"}}})
	find := func(filter string) []string {
		t.Helper()
		r := e.must(http.StatusOK, "GET", "/Users"+filterQuery(filter)+"&attributes=id", nil)
		var ids []string
		for _, x := range r.body["Resources"].([]any) {
			ids = append(ids, x.(map[string]any)["id"].(string))
		}
		return ids
	}
	for _, tt := range []struct {
		filter string
		want   []string
	}{
		{`emails[type eq "work"].value eq "ann@work.example"`, []string{ann}},
		{`emails[type eq "work" and value eq "ANN@WORK.EXAMPLE"]`, []string{ann}},
		{`emails.value eq "ann@home.example"`, []string{ann}},
		{`emails[type eq "work"].value eq "ann@home.example"`, nil}, // indexed, but not a work address
		{`emails[type eq "work"].value eq "nobody@example"`, nil},
	} {
		if got := find(tt.filter); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.filter, got, tt.want)
		}
	}
	e.must(http.StatusNoContent, "PATCH", "/Users/"+ann, patchBody(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"ann.new@work.example"}`))
	if got := find(`emails[type eq "work"].value eq "ann@work.example"`); len(got) != 0 {
		t.Errorf("old address still finds %v", got)
	}
	if got := find(`emails[type eq "work"].value eq "ann.new@work.example"`); !slices.Equal(got, []string{ann}) {
		t.Errorf("new address finds %v", got)
	}
	e.must(http.StatusNoContent, "DELETE", "/Users/"+ann, nil)
	if got := find(`emails.value eq "ann@home.example"`); len(got) != 0 {
		t.Errorf("deleted user still found: %v", got)
	}
}
