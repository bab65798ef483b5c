package scim

import (
	"testing"
)

// Session 8, fourth probe (filters, PATCH paths, projection;
// docs/notes/scim.md § Session 8: fourth probe). Same runner as
// TestThirdPartyProbe: a fresh server with user $uid (u@x, one work
// email) in group $gid (G) for every case.
func TestFourthProbe(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	noMembers := func(t *testing.T, r resp) {
		t.Helper()
		if l, _ := r.body["members"].([]any); len(l) != 0 {
			t.Errorf("members %v, want none left", r.body["members"])
		}
	}
	runProbe(t, []probeCase{
		// manager.displayName is readOnly (RFC 7643 §4.3, the pinned
		// library's schema): a PATCH naming it is a mutability error (RFC
		// 7644 §3.5.2), and inside a value it is ignored as POST ignores it.
		// It was stored as sent.
		{name: "PATCH add manager.displayName", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"add","path":"` + ent + `:manager.displayName","value":"M"}`), status: 400, scimType: "mutability", detail: "displayName"},
		{name: "PATCH replace manager with a displayName drops it", method: "PATCH", path: "/Users/$uid?attributes=" + ent,
			body: patchBody(`{"op":"replace","path":"` + ent + `:manager","value":{"value":"m1","displayName":"M"}}`), status: 200,
			check: func(t *testing.T, r resp) {
				if m := get(r.body[ent], "manager"); m == nil || get(m, "displayName") != nil || get(m, "value") != "m1" {
					t.Errorf("manager %v, want {value: m1} without displayName", m)
				}
			}},
		{name: "path-less PATCH of the extension with a manager displayName drops it", method: "PATCH", path: "/Users/$uid?attributes=" + ent,
			body: patchBody(`{"op":"add","value":{"` + ent + `":{"manager":{"value":"m1","displayName":"M"}}}}`), status: 200,
			check: func(t *testing.T, r resp) {
				if m := get(r.body[ent], "manager"); m == nil || get(m, "displayName") != nil {
					t.Errorf("manager %v, want no displayName", m)
				}
			}},
		// gt/ge/lt/le on a binary attribute SHALL be 400 invalidFilter (RFC
		// 7644 §3.4.2.2); x509Certificates.value was, x509Certificates
		// (compared by its value) matched as a string.
		{name: "filter x509Certificates gt", method: "GET", path: `/Users?filter=x509Certificates%20gt%20%22a%22`, status: 400, scimType: "invalidFilter", detail: "binary"},
		// Excluding every sub-attribute left empty objects behind
		// ("emails":[{}], "name":{}); an attribute with nothing left is
		// unassigned and not returned (RFC 7643 §2.5).
		{name: "excludedAttributes of every emails sub-attribute", method: "GET", path: "/Users/$uid?excludedAttributes=emails.value,emails.type,emails.primary", status: 200,
			check: func(t *testing.T, r resp) {
				if v, ok := r.body["emails"]; ok {
					t.Errorf("emails %v, want none", v)
				}
			}},
		{name: "excludedAttributes of the only name sub-attribute", method: "PATCH", path: "/Users/$uid?excludedAttributes=name.givenName",
			body: patchBody(`{"op":"add","path":"name.givenName","value":"A"}`), status: 200,
			check: func(t *testing.T, r resp) {
				if v, ok := r.body["name"]; ok {
					t.Errorf("name %v, want none", v)
				}
			}},
		{name: "excludedAttributes of the only extension attribute", method: "PATCH", path: "/Users/$uid?excludedAttributes=" + ent + ":department",
			body: patchBody(`{"op":"add","path":"` + ent + `:department","value":"D"}`), status: 200,
			check: func(t *testing.T, r resp) {
				if v, ok := r.body[ent]; ok {
					t.Errorf("extension %v, want none", v)
				}
			}},
		// Replacing a multi-valued attribute with [] unassigns it (RFC 7643
		// §2.5), as POST and a null value do; it was stored and returned
		// as "emails": [].
		{name: "PATCH replace emails with []", method: "PATCH", path: "/Users/$uid?attributes=emails,userName",
			body: patchBody(`{"op":"replace","path":"emails","value":[]}`), status: 200,
			check: func(t *testing.T, r resp) {
				if v, ok := r.body["emails"]; ok {
					t.Errorf("emails %v, want none", v)
				}
			}},
		{name: "PATCH add [] to absent phoneNumbers stores nothing", method: "PATCH", path: "/Users/$uid?attributes=phoneNumbers,userName",
			body: patchBody(`{"op":"add","path":"phoneNumbers","value":[]}`), status: 200,
			check: func(t *testing.T, r resp) {
				if v, ok := r.body["phoneNumbers"]; ok {
					t.Errorf("phoneNumbers %v, want none", v)
				}
			}},
		{name: "path-less PATCH replace emails with []", method: "PATCH", path: "/Users/$uid?attributes=emails",
			body: patchBody(`{"op":"replace","value":{"emails":[]}}`), status: 200,
			check: func(t *testing.T, r resp) {
				if v, ok := r.body["emails"]; ok {
					t.Errorf("emails %v, want none", v)
				}
			}},

		// A member filter sees the member as GET shows it: type and $ref
		// derived from the resource its id names when the client sent
		// none (RFC 7644 §3.5.2.2: remove every member matching). Only
		// what was stored was matched, so these removed nobody.
		{name: "PATCH remove members[type eq \"User\"]", method: "PATCH", path: "/Groups/$gid?attributes=members",
			body: patchBody(`{"op":"remove","path":"members[type eq \"User\"]"}`), status: 200, check: noMembers},
		{name: "PATCH remove members[$ref ew the user's id]", method: "PATCH", path: "/Groups/$gid?attributes=members",
			body: patchBody(`{"op":"remove","path":"members[$ref ew \"/Users/$uid\"]"}`), status: 200, check: noMembers},
		{name: "PATCH remove members[type eq \"Group\"] keeps the user", method: "PATCH", path: "/Groups/$gid?attributes=members",
			body: patchBody(`{"op":"remove","path":"members[type eq \"Group\"]"}`), status: 200,
			check: func(t *testing.T, r resp) {
				if l, _ := r.body["members"].([]any); len(l) != 1 {
					t.Errorf("members %v, want the user still there", r.body["members"])
				}
			}},

		// Binary values are case exact (RFC 7643 §2.3.6: base64 "QUJD"
		// and "qujd" are different bytes); the filter folded case.
		{name: "PATCH remove x509Certificates by another case keeps it", method: "PATCH", path: "/Users/$uid?attributes=x509Certificates",
			body: patchBody(`{"op":"add","path":"x509Certificates","value":[{"value":"QUJD"}]}`,
				`{"op":"remove","path":"x509Certificates[value eq \"qujd\"]"}`), status: 200,
			check: func(t *testing.T, r resp) {
				if l, _ := r.body["x509Certificates"].([]any); len(l) != 1 {
					t.Errorf("x509Certificates %v, want QUJD kept", r.body["x509Certificates"])
				}
			}},
	})
}
