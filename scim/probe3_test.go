package scim

import (
	"testing"
)

// Session 7, third probe (IdP request sequences, sorting, paging, ETags,
// bulk, error bodies; docs/notes/scim.md § Session 7: third probe). Same
// runner as TestThirdPartyProbe: a fresh server with user $uid (u@x) in
// group $gid (G, version W/"1") for every case.
func TestThirdProbe(t *testing.T) {
	const search = `"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`
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
	})
}
