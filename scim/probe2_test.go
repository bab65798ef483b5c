package scim

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

// Session 7, second probe (groups, users, PUT, HTTP; docs/notes/scim.md
// § Session 7: second probe). Same runner as TestThirdPartyProbe: a fresh
// server with user $uid (u@x) in group $gid (G) for every case.
func TestSecondProbe(t *testing.T) {
	long := strings.Repeat("a", 40000)
	runProbe(t, []probeCase{
		// Values the store keeps in bbolt keys: over 32 KiB they were a
		// 500 ("key too large"); a NUL made "G\u0000x" a prefix match of
		// "G" in the displayName index. 400 invalidValue (RFC 7644 §3.12).
		{name: "POST user with a 40,000-byte userName", method: "POST", path: "/Users",
			body: `{"userName":"` + long + `"}`, status: 400, scimType: "invalidValue", detail: "userName"},
		{name: "POST user with a 40,000-byte externalId", method: "POST", path: "/Users",
			body: `{"userName":"n@x","externalId":"` + long + `"}`, status: 400, scimType: "invalidValue", detail: "externalId"},
		{name: "POST user with a 40,000-byte email", method: "POST", path: "/Users",
			body: `{"userName":"n@x","emails":[{"value":"` + long + `"}]}`, status: 400, scimType: "invalidValue", detail: "emails"},
		{name: "POST user with a long displayName (not indexed)", method: "POST", path: "/Users",
			body: `{"userName":"n@x","displayName":"` + long + `"}`, status: 201},
		{name: "POST user with an 8 KiB userName", method: "POST", path: "/Users",
			body: `{"userName":"` + long[:maxIndexedBytes] + `"}`, status: 201},
		{name: "PATCH userName to 40,000 bytes", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","path":"userName","value":"` + long + `"}`), status: 400, scimType: "invalidValue", detail: "userName"},
		{name: "PUT user with a 40,000-byte userName", method: "PUT", path: "/Users/$uid",
			body: `{"userName":"` + long + `"}`, status: 400, scimType: "invalidValue"},
		{name: "POST group with a 40,000-byte displayName", method: "POST", path: "/Groups",
			body: `{"displayName":"` + long + `"}`, status: 400, scimType: "invalidValue", detail: "displayName"},
		{name: "PATCH group displayName to 40,000 bytes", method: "PATCH", path: "/Groups/$gid",
			body: patchBody(`{"op":"replace","value":{"id":"$gid","displayName":"` + long + `"}}`), status: 400, scimType: "invalidValue"},
		{name: "POST group with a 40,000-byte member id", method: "POST", path: "/Groups",
			body: `{"displayName":"H","members":[{"value":"` + long + `"}]}`, status: 400, scimType: "invalidValue", detail: "members"},
		{name: "PATCH add a 40,000-byte member id", method: "PATCH", path: "/Groups/$gid",
			body: patchBody(`{"op":"add","path":"members","value":[{"value":"` + long + `"}]}`), status: 400, scimType: "invalidValue"},
		{name: "POST group whose displayName holds a NUL", method: "POST", path: "/Groups",
			body: `{"displayName":"G\u0000x"}`, status: 400, scimType: "invalidValue", detail: "U+0000"},
		{name: "POST user whose externalId holds a NUL", method: "POST", path: "/Users",
			body: `{"userName":"n@x","externalId":"e\u0000x"}`, status: 400, scimType: "invalidValue"},
		{name: "PATCH email value with a NUL", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"w\u0000@x"}`), status: 400, scimType: "invalidValue"},

		// A lone object for a multi-valued attribute is a list of one (RFC
		// 7643 §2.4), as PATCH already read it; POST/PUT stored the object.
		{name: "POST emails as one object", method: "POST", path: "/Users",
			body: `{"userName":"n@x","emails":{"value":"one@x","type":"work"},"phoneNumbers":{"value":"1"}}`, status: 201,
			check: func(t *testing.T, r resp) {
				l, ok := r.body["emails"].([]any)
				if _, isList := r.body["phoneNumbers"].([]any); !ok || len(l) != 1 || !isList {
					t.Errorf("emails %v phoneNumbers %v, want lists of one", r.body["emails"], r.body["phoneNumbers"])
				}
			}},
		{name: "PUT addresses as one object", method: "PUT", path: "/Users/$uid",
			body: `{"userName":"u@x","addresses":{"type":"work","locality":"L"}}`, status: 200,
			check: func(t *testing.T, r resp) {
				if l, ok := r.body["addresses"].([]any); !ok || len(l) != 1 {
					t.Errorf("addresses %v, want a list of one", r.body["addresses"])
				}
			}},

		// A PATCH refused by the validator names the operation: the
		// library's detail names no attribute (RFC 7644 §3.12 asks a
		// detail a human can act on).
		{name: "PATCH wrong type names its path", method: "PATCH", path: "/Users/$uid",
			body:   patchBody(`{"op":"replace","path":"title","value":"T"},{"op":"Replace","path":"displayName","value":5}`),
			status: 400, scimType: "invalidValue", detail: `replace "displayName": `},
		{name: "path-less PATCH wrong type names its keys", method: "PATCH", path: "/Users/$uid",
			body: patchBody(`{"op":"replace","value":{"title":"T","active":"maybe"}}`), status: 400, scimType: "invalidValue", detail: `"active,title"`},
		{name: "PATCH unknown path names it", method: "PATCH", path: "/Groups/$gid",
			body: patchBody(`{"op":"add","path":"nosuch","value":"x"}`), status: 400, scimType: "invalidPath", detail: `add "nosuch"`},

		// A body that is not JSON says why (it said "not a JSON object"
		// for an empty body, broken JSON and nesting past the decoder's
		// limit alike); still 400 invalidSyntax (RFC 7644 §3.12).
		{name: "POST an empty body", method: "POST", path: "/Users", body: " ", status: 400, scimType: "invalidSyntax", detail: "empty"},
		{name: "POST broken JSON", method: "POST", path: "/Users", body: `{"userName":"x`, status: 400, scimType: "invalidSyntax", detail: "not valid JSON"},
		{name: "POST JSON nested past the limit", method: "POST", path: "/Users",
			body: `{"userName":"n@x","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, status: 400, scimType: "invalidSyntax", detail: "depth"},
		{name: "POST with a byte order mark", method: "POST", path: "/Users", body: "\xef\xbb\xbf" + `{"userName":"n@x"}`, status: 400, scimType: "invalidSyntax", detail: "byte order mark"},
		{name: "POST an array", method: "POST", path: "/Users", body: `[{"userName":"n@x"}]`, status: 400, scimType: "invalidSyntax", detail: "not a JSON object"},
		{name: "POST null", method: "POST", path: "/Users", body: `null`, status: 400, scimType: "invalidSyntax", detail: "not a JSON object"},
		{name: "PATCH broken JSON", method: "PATCH", path: "/Groups/$gid", body: `{"Operations":[`, status: 400, scimType: "invalidSyntax", detail: "not valid JSON"},

		// Query parameter names in another case (attribute names are
		// case-insensitive, RFC 7643 §2.1, and clients carry it over):
		// "Filter=" was ignored and the whole list answered.
		{name: "Filter= in another case filters", method: "GET", path: "/Users?Filter=userName%20eq%20%22nobody%22", status: 200,
			check: total(0)},
		{name: "STARTINDEX and Count in another case page", method: "GET", path: "/Users?STARTINDEX=2&Count=0", status: 200,
			check: func(t *testing.T, r resp) {
				if r.body["startIndex"] != float64(2) || r.body["itemsPerPage"] != float64(0) {
					t.Errorf("startIndex %v itemsPerPage %v, want 2 and 0", r.body["startIndex"], r.body["itemsPerPage"])
				}
			}},
		{name: "Attributes= in another case projects", method: "GET", path: "/Users/$uid?Attributes=userName", status: 200,
			check: func(t *testing.T, r resp) {
				if r.body["emails"] != nil || r.body["userName"] != "u@x" {
					t.Errorf("body %v", r.body)
				}
			}},
		{name: "ExcludedAttributes= on a group", method: "GET", path: "/Groups/$gid?EXCLUDEDATTRIBUTES=members", status: 200,
			check: func(t *testing.T, r resp) {
				if r.body["members"] != nil {
					t.Errorf("members returned: %v", r.body)
				}
			}},
		{name: "FILTER= on /Schemas is refused too", method: "GET", path: "/Schemas?FILTER=id%20eq%20%22x%22", status: 403},
		{name: "filter= as spelled still filters", method: "GET", path: "/Users?count=5&filter=userName%20eq%20%22U@X%22", status: 200,
			check: total(1)},
	})
}

// total checks a list answer's totalResults.
func total(n int) func(t *testing.T, r resp) {
	return func(t *testing.T, r resp) {
		t.Helper()
		if r.body["totalResults"] != float64(n) {
			t.Errorf("totalResults %v, want %d", r.body["totalResults"], n)
		}
	}
}

// TestFilterPlus: a "+" in a filter is a plus when the client writes its
// spaces as %20 (RFC 3986: "+" is an ordinary query character), a space
// when it uses form encoding ("+" for spaces, %2B for a plus). The first
// found nobody, and a match-before-create IdP went on to a 409.
func TestFilterPlus(t *testing.T) {
	e := newEnv(t, Options{})
	e.createUser("john+tag@x")
	e.createUser("john tag@x")
	for _, tt := range []struct{ query, want string }{
		{`filter=userName%20eq%20%22john+tag@x%22`, "john+tag@x"},
		{`filter=userName%20eq%20%22john%2Btag@x%22`, "john+tag@x"},
		{`filter=userName+eq+%22john%2Btag@x%22`, "john+tag@x"},
		{`filter=userName+eq+%22john+tag@x%22`, "john tag@x"},
		{`filter=userName%20eq%20%22john%20tag@x%22`, "john tag@x"},
		{`count=5&Filter=userName%20eq%20%22john+tag@x%22&startIndex=1`, "john+tag@x"},
	} {
		r := e.must(200, "GET", "/Users?"+tt.query, nil)
		l, _ := r.body["Resources"].([]any)
		if len(l) != 1 || l[0].(map[string]any)["userName"] != tt.want {
			t.Errorf("%s: %v, want only %s", tt.query, l, tt.want)
		}
	}
}

// TestIndexedValueAlreadyStored: a value stored before checkIndexed
// existed (a NUL in an externalId) does not block a PATCH of something
// else (Okta's deactivation), but a PATCH may not write a new one.
func TestIndexedValueAlreadyStored(t *testing.T) {
	e := newEnv(t, Options{})
	uid := e.createUser("old@x")
	doc := e.stored(store.TypeUser, uid)
	doc["externalId"] = "a\x00b"
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Update(func(tx *store.Tx) error { return tx.UpdateResource(store.TypeUser, uid, raw) }); err != nil {
		t.Fatal(err)
	}
	e.must(204, "PATCH", "/Users/"+uid, patchBody(`{"op":"replace","value":{"active":false}}`))
	e.must(400, "PATCH", "/Users/"+uid, patchBody(`{"op":"replace","path":"externalId","value":"c\u0000d"}`))
	got := e.stored(store.TypeUser, uid)
	if got["active"] != false || got["externalId"] != "a\x00b" {
		t.Errorf("stored %v", got)
	}
	// The NUL key is what store.Verify (run at cleanup) calls corrupt.
	got["externalId"] = "clean"
	if raw, err = json.Marshal(got); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Update(func(tx *store.Tx) error { return tx.UpdateResource(store.TypeUser, uid, raw) }); err != nil {
		t.Fatal(err)
	}
}
