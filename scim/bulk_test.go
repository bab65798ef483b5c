package scim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

func bulkBody(failOnErrors int, ops ...string) string {
	f := ""
	if failOnErrors > 0 {
		f = fmt.Sprintf(`"failOnErrors":%d,`, failOnErrors)
	}
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],` + f + `"Operations":[` + strings.Join(ops, ",") + `]}`
}

// bulkResults returns the response's operations as (status, scimType).
func bulkResults(t *testing.T, r resp) []map[string]any {
	t.Helper()
	if r.status != http.StatusOK || get(r.body, "schemas").([]any)[0] != "urn:ietf:params:scim:api:messages:2.0:BulkResponse" {
		t.Fatalf("bulk: %d %s", r.status, r.raw)
	}
	var out []map[string]any
	for _, o := range r.body["Operations"].([]any) {
		out = append(out, o.(map[string]any))
	}
	return out
}

func statuses(ops []map[string]any) string {
	var s []string
	for _, o := range ops {
		st := o["status"].(string)
		if resp, ok := o["response"].(map[string]any); ok && resp["scimType"] != nil {
			st += "/" + resp["scimType"].(string)
		}
		s = append(s, st)
	}
	return strings.Join(s, " ")
}

// RFC 7644 §3.7.2's example: a user and a group that names it by bulkId,
// then an update, a PATCH and a delete of existing resources.
func TestBulkRFCExample(t *testing.T) {
	e := newEnv(t, Options{})
	old := e.createUser("old@example.com")
	gone := e.createUser("gone@example.com")
	r := e.do("POST", "/Bulk", bulkBody(0,
		`{"method":"POST","path":"/Users","bulkId":"qwerty","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Alice"}}`,
		`{"method":"POST","path":"/Groups","bulkId":"ytrewq","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Tour Guides","members":[{"type":"User","value":"bulkId:qwerty"}]}}`,
		`{"method":"PUT","path":"/Users/`+old+`","version":"W/\"1\"","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"old@example.com","displayName":"Renewed"}}`,
		`{"method":"PATCH","path":"/Users/`+old+`","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}}`,
		`{"method":"DELETE","path":"/Users/`+gone+`"}`))
	ops := bulkResults(t, r)
	if got := statuses(ops); got != "201 201 200 204 204" {
		t.Fatalf("statuses %s: %s", got, r.raw)
	}
	alice, group := ops[0], ops[1]
	if alice["bulkId"] != "qwerty" || alice["method"] != "POST" || !strings.HasPrefix(alice["location"].(string), "https://scim.example.com/scim/v2/Users/") || alice["version"] != `W/"1"` {
		t.Errorf("POST result %v", alice)
	}
	aliceID := path2id(alice["location"].(string))
	gid := path2id(group["location"].(string))
	if doc := e.stored(store.TypeUser, aliceID); doc["userName"] != "Alice" {
		t.Errorf("Alice stored as %v", doc)
	}
	if m := e.do("GET", "/Groups/"+gid, nil); !strings.Contains(m.raw, `"value":"`+aliceID+`"`) {
		t.Errorf("group members do not name Alice's id: %s", m.raw)
	}
	if doc := e.stored(store.TypeUser, old); doc["displayName"] != "Renewed" || doc["active"] != false {
		t.Errorf("PUT then PATCH stored %v", doc)
	}
	if ops[2]["location"] != "https://scim.example.com/scim/v2/Users/"+old || ops[2]["version"] != `W/"2"` {
		t.Errorf("PUT result %v", ops[2])
	}
	e.must(http.StatusNotFound, "GET", "/Users/"+gone, nil)
}

// References resolve whatever the order; what cannot be resolved fails
// with 409 and takes nothing else down.
func TestBulkReferences(t *testing.T) {
	user := func(bulkID, name string) string {
		return `{"method":"POST","path":"/Users","bulkId":"` + bulkID + `","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name + `"}}`
	}
	group := func(bulkID, name string, members ...string) string {
		var ms []string
		for _, m := range members {
			ms = append(ms, `{"value":"bulkId:`+m+`"}`)
		}
		return `{"method":"POST","path":"/Groups","bulkId":"` + bulkID + `","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"` + name + `","members":[` + strings.Join(ms, ",") + `]}}`
	}
	for _, tt := range []struct {
		name string
		ops  []string
		want string
	}{
		{"forward reference", []string{group("g", "G", "u"), user("u", "u@x")}, "201 201"},
		{"unknown bulkId", []string{group("g", "G", "nobody"), user("u", "u@x")}, "409/invalidValue 201"},
		{"failed POST", []string{user("a", "dup@x"), user("b", "DUP@x"), group("g", "G", "b")}, "201 409/uniqueness 409/invalidValue"},
		{"cycle", []string{group("g1", "G1", "g2"), group("g2", "G2", "g1"), user("u", "u@x")}, "409/invalidValue 409/invalidValue 201"},
		{"duplicate bulkId", []string{user("u", "a@x"), user("u", "b@x"), group("g", "G", "u")}, "201 400/invalidValue 201"},
		{"reference in the path", []string{user("u", "p@x"), `{"method":"PATCH","path":"/Users/bulkId:u","data":{"Operations":[{"op":"replace","path":"displayName","value":"P"}]}}`}, "201 204"},
		{"method and path checks", []string{
			`{"method":"GET","path":"/Users"}`,
			`{"method":"POST","path":"/Users","data":{"userName":"nobulkid@x"}}`,
			`{"method":"POST","path":"/Schemas","bulkId":"s","data":{}}`,
			`{"method":"PUT","path":"/Users","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"}}`,
			`{"method":"PATCH","path":"/Users/x/y","data":{}}`,
			`{"method":"DELETE","path":"/Users/no-such-id"}`,
			`{"method":"PUT","path":"/Users/no-such-id"}`,
		}, "400/invalidSyntax 400/invalidValue 400/invalidPath 400/invalidPath 400/invalidPath 404 400/invalidSyntax"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			ops := bulkResults(t, e.do("POST", "/Bulk", bulkBody(0, tt.ops...)))
			if got := statuses(ops); got != tt.want {
				t.Errorf("statuses %s, want %s", got, tt.want)
			}
		})
	}
}

// A group that names a user created later in the request holds the
// user's real id, and the user's groups name the group.
func TestBulkForwardReferenceStored(t *testing.T) {
	e := newEnv(t, Options{})
	ops := bulkResults(t, e.do("POST", "/Bulk", bulkBody(0,
		`{"method":"POST","path":"/Groups","bulkId":"g","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Early","members":[{"value":"bulkId:u"}]}}`,
		`{"method":"POST","path":"/Users","bulkId":"u","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"late@x"}}`)))
	uid := path2id(ops[1]["location"].(string))
	u := e.must(http.StatusOK, "GET", "/Users/"+uid, nil)
	if !strings.Contains(u.raw, `"display":"Early"`) {
		t.Errorf("user's groups: %s", u.raw)
	}
}

// An operation waiting for a later POST keeps the later operations on the
// same resource waiting too: the result is that of in-order processing
// (the member is added, then the group deleted; not a 404 for the PATCH).
func TestBulkKeepsPerResourceOrder(t *testing.T) {
	e := newEnv(t, Options{})
	gid := e.createGroup("Doomed")
	ops := bulkResults(t, e.do("POST", "/Bulk", bulkBody(0,
		`{"method":"PATCH","path":"/Groups/`+gid+`","data":{"Operations":[{"op":"add","path":"members","value":[{"value":"bulkId:u"}]}]}}`,
		`{"method":"POST","path":"/Users","bulkId":"u","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"m@x"}}`,
		`{"method":"DELETE","path":"/Groups/`+gid+`"}`)))
	if got := statuses(ops); got != "204 201 204" {
		t.Errorf("statuses %s, want 204 201 204", got)
	}
}

// failOnErrors stops the request after that many failures: what follows
// is neither applied nor reported.
func TestBulkFailOnErrors(t *testing.T) {
	e := newEnv(t, Options{})
	e.createUser("taken@x")
	ops := bulkResults(t, e.do("POST", "/Bulk", bulkBody(1,
		`{"method":"POST","path":"/Users","bulkId":"a","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"taken@x"}}`,
		`{"method":"POST","path":"/Users","bulkId":"b","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"never@x"}}`)))
	if got := statuses(ops); got != "409/uniqueness" {
		t.Errorf("statuses %s, want only the first failure", got)
	}
	if r := e.must(http.StatusOK, "GET", `/Users?filter=userName%20eq%20%22never@x%22`, nil); r.body["totalResults"] != float64(0) {
		t.Errorf("operation after failOnErrors was applied: %s", r.raw)
	}
	// Without failOnErrors every operation runs.
	ops = bulkResults(t, e.do("POST", "/Bulk", bulkBody(0,
		`{"method":"POST","path":"/Users","bulkId":"a","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"taken@x"}}`,
		`{"method":"POST","path":"/Users","bulkId":"b","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"never@x"}}`)))
	if got := statuses(ops); got != "409/uniqueness 201" {
		t.Errorf("statuses %s", got)
	}
}

// Whole-request errors are SCIM errors; a version mismatch is the
// operation's own 412.
func TestBulkRequestErrors(t *testing.T) {
	e := newEnv(t, Options{MaxBulkOperations: 2})
	op := `{"method":"DELETE","path":"/Users/x"}`
	r := e.do("POST", "/Bulk", bulkBody(0, op, op, op))
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.raw, "maxOperations (2)") {
		t.Errorf("3 operations over a limit of 2: %d %s", r.status, r.raw)
	}
	for _, body := range []string{`{"Operations":`, `[]`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`} {
		if r := e.do("POST", "/Bulk", body); r.status != http.StatusBadRequest || r.body["scimType"] != "invalidSyntax" {
			t.Errorf("%s: %d %s", body, r.status, r.raw)
		}
	}
	if r := e.do("POST", "/Bulk", bulkBody(0)+``); r.status != http.StatusOK {
		t.Errorf("empty bulk: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/Bulk", `{"failOnErrors":0,"Operations":[]}`); r.status != http.StatusBadRequest {
		t.Errorf("failOnErrors 0: %d %s", r.status, r.raw)
	}
	id := e.createUser("v@x")
	ops := bulkResults(t, e.do("POST", "/Bulk", bulkBody(0,
		`{"method":"PATCH","path":"/Users/`+id+`","version":"W/\"9\"","data":{"Operations":[{"op":"replace","path":"displayName","value":"x"}]}}`)))
	if got := statuses(ops); got != "412" {
		t.Errorf("stale version: %s", got)
	}
	cfg := e.must(http.StatusOK, "GET", "/ServiceProviderConfig", nil)
	if get(cfg.body, "bulk.supported") != true || get(cfg.body, "bulk.maxOperations") != float64(2) {
		t.Errorf("ServiceProviderConfig bulk: %v", cfg.body["bulk"])
	}
	e.must(http.StatusOK, "POST", "/bulk", bulkBody(0)) // endpoint names in any case
}

// FuzzBulk sends arbitrary bulk bodies: never a 5xx, and the store keeps
// agreeing with itself.
func FuzzBulk(f *testing.F) {
	f.Add(bulkBody(0, `{"method":"POST","path":"/Users","bulkId":"u","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"f@x"}}`,
		`{"method":"POST","path":"/Groups","bulkId":"g","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"F","members":[{"value":"bulkId:u"}]}}`))
	f.Add(bulkBody(1, `{"method":"PATCH","path":"/Groups/bulkId:g","data":{"Operations":[{"op":"add","path":"members","value":[{"value":"bulkId:u"}]}]}}`))
	f.Add(bulkBody(0, `{"method":"DELETE","path":"/Users/bulkId:bulkId:"}`, `{"method":"delete","path":"/Users/../Groups"}`))
	f.Add(`{"Operations":[{"method":"POST","path":"/Users","bulkId":"x","data":"bulkId:x"}]}`)
	e := newEnv(f, Options{MaxBulkOperations: 20})
	f.Fuzz(func(t *testing.T, body string) {
		e.t = t
		if r := e.do("POST", "/Bulk", body); r.status >= 500 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		verifyStore(t, e.db)
	})
}
