package scim

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// Session 7, third probe (IdP request sequences, sorting, paging, ETags,
// bulk, error bodies; docs/notes/scim.md § Session 7: third probe). Same
// runner as TestThirdPartyProbe: a fresh server with user $uid (u@x) in
// group $gid (G, version W/"1") for every case.
func TestThirdProbe(t *testing.T) {
	const (
		search = `"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`
		rename = `{"op":"replace","path":"displayName","value":"D"}`
	)
	runProbe(t, []probeCase{
		// A SearchRequest member given as null is unassigned (RFC 7643
		// §2.5), as clients that serialise every field of their request
		// type send it: it was 400 "must be a string".
		{name: ".search with every parameter null", method: "POST", path: "/Users/.search",
			body:   `{` + search + `,"filter":null,"startIndex":null,"count":null,"attributes":null,"excludedAttributes":null,"sortBy":null,"sortOrder":null}`,
			status: 200, check: total(1)},
		{name: ".search with a null sortOrder sorts ascending", method: "POST", path: "/Groups/.search",
			body: `{` + search + `,"filter":"displayName eq \"G\"","sortBy":"displayName","sortOrder":null}`, status: 200, check: total(1)},
		{name: ".search with a filter a number is still refused", method: "POST", path: "/Users/.search",
			body: `{` + search + `,"filter":5}`, status: 400, scimType: "invalidFilter"},

		// A BulkRequest without Operations (REQUIRED, RFC 7644 §3.7) was
		// answered 200 with no results, as if it had been done.
		{name: "bulk without Operations", method: "POST", path: "/Bulk",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]}`, status: 400, scimType: "invalidSyntax", detail: "Operations"},
		{name: "bulk with null Operations", method: "POST", path: "/Bulk",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":null}`, status: 400, scimType: "invalidSyntax"},
		{name: "bulk with no operations", method: "POST", path: "/Bulk",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[]}`, status: 200},

		// If-None-Match on a write (RFC 9110 §13.1.2, §13.2.2): a matching
		// tag or "*" for a resource that exists fails the condition, and a
		// method other than GET/HEAD answers 412. It was ignored and the
		// write went through.
		{name: "PATCH with If-None-Match * on an existing user", method: "PATCH", path: "/Users/$uid",
			header: []string{"If-None-Match", "*"}, body: patchBody(rename), status: 412, detail: "If-None-Match"},
		{name: "PATCH with If-None-Match naming the current version", method: "PATCH", path: "/Groups/$gid",
			header: []string{"If-None-Match", `W/"1"`}, body: patchBody(rename), status: 412},
		{name: "PATCH members with If-None-Match naming the current version", method: "PATCH", path: "/Groups/$gid",
			header: []string{"If-None-Match", `W/"0", W/"1"`}, body: patchBody(`{"op":"remove","path":"members"}`), status: 412},
		{name: "PUT with If-None-Match naming the current version", method: "PUT", path: "/Users/$uid",
			header: []string{"If-None-Match", "$uetag"}, body: `{"userName":"u@x"}`, status: 412},
		{name: "DELETE with If-None-Match *", method: "DELETE", path: "/Groups/$gid",
			header: []string{"If-None-Match", "*"}, status: 412},
		{name: "PATCH with If-None-Match naming an old version", method: "PATCH", path: "/Users/$uid",
			header: []string{"If-None-Match", `W/"0"`}, body: patchBody(rename), status: 204},
		{name: "PUT with If-Match and a stale If-None-Match", method: "PUT", path: "/Groups/$gid",
			header: []string{"If-Match", `W/"1"`, "If-None-Match", `W/"0"`}, body: `{"displayName":"G2"}`, status: 200},

		// If-Match on GET (RFC 9110 §13.1.1: an origin server MUST evaluate
		// it; false answers 412). It was ignored.
		{name: "GET with a stale If-Match", method: "GET", path: "/Groups/$gid",
			header: []string{"If-Match", `W/"0"`}, status: 412, detail: "If-Match"},
		{name: "GET with the current If-Match", method: "GET", path: "/Users/$uid",
			header: []string{"If-Match", "$uetag"}, status: 200},
		{name: "GET with If-Match *", method: "GET", path: "/Users/$uid",
			header: []string{"If-Match", "*"}, status: 200},
	})
}

// TestPreconditionHeaderLines: an If-Match or If-None-Match list may come
// as several header lines (RFC 9110 §5.3); only the first was read, so a
// current version on the second line answered 412.
func TestPreconditionHeaderLines(t *testing.T) {
	e := newEnv(t, Options{})
	gid := e.createGroup("G")
	send := func(method, header string, values ...string) int {
		t.Helper()
		req, err := http.NewRequest(method, e.srv.URL+"/scim/v2/Groups/"+gid, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		for _, v := range values {
			req.Header.Add(header, v)
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := send("GET", "If-None-Match", `W/"7"`, `W/"1"`); got != http.StatusNotModified {
		t.Errorf("GET If-None-Match on two lines, the second current: %d, want 304", got)
	}
	if got := send("GET", "If-Match", `W/"7"`, `W/"1"`); got != http.StatusOK {
		t.Errorf("GET If-Match on two lines, the second current: %d, want 200", got)
	}
	if got := send("DELETE", "If-Match", `W/"7"`, `W/"1"`); got != http.StatusNoContent {
		t.Errorf("DELETE If-Match on two lines, the second current: %d, want 204", got)
	}
}

// TestSortMultiValued pins, end to end, RFC 7644 §3.4.2.3 for a
// multi-valued sortBy (the third probe found it right): the primary
// value, else the first, case-insensitively; resources without one last
// ascending and first descending; with a filter and a page too.
func TestSortMultiValued(t *testing.T) {
	e := newEnv(t, Options{})
	email := func(v string, primary bool) map[string]any {
		return map[string]any{"value": v, "type": "work", "primary": primary}
	}
	e.createUser("a", map[string]any{"emails": []any{email("z@x", false), email("B@x", true)}})  // primary B@x
	e.createUser("b", map[string]any{"emails": []any{email("c@x", false), email("a@x", false)}}) // first c@x
	e.createUser("c")                                                                            // none
	e.createUser("d", map[string]any{"emails": []any{email("A@x", false)}})
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"sortBy=emails", []string{"d", "a", "b", "c"}},
		{"sortBy=Emails.Value", []string{"d", "a", "b", "c"}},
		{"sortBy=emails.value&sortOrder=descending", []string{"c", "b", "a", "d"}},
		{"sortBy=emails.value&startIndex=2&count=2", []string{"a", "b"}},
		{"sortBy=emails.value&filter=" + url.QueryEscape(`userName ne "d"`) + "&sortOrder=descending&startIndex=2", []string{"b", "a"}},
	} {
		r := e.must(http.StatusOK, "GET", "/Users?attributes=userName&"+tt.query, nil)
		if got := names(t, r, "userName"); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
}
