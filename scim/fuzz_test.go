package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

// FuzzPatch sends arbitrary PATCH bodies to a user and a group: no input
// may cause a 5xx, and the stored resources must stay readable, valid and
// keep their identity.
func FuzzPatch(f *testing.F) {
	seeds := []string{
		patchBody(`{"op":"replace","value":{"active":false}}`),
		patchBody(`{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@b"}`),
		patchBody(`{"op":"Remove","path":"members","value":[{"value":"x"}]}`),
		patchBody(`{"op":"remove","path":"members[value eq \"x\"]"}`),
		patchBody(`{"op":"add","path":"members","value":"string id"}`),
		patchBody(`{"op":"replace","value":{"id":"zzz","displayName":"N","members":[{"value":"m"}]}}`),
		patchBody(`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m"}`),
		patchBody(`{"op":"replace","path":"meta.version","value":"x"}`),
		patchBody(`{"op":"replace","path":"id","value":"x"}`),
		patchBody(`{"op":"replace","path":"schemas","value":[]}`),
		patchBody(`{"op":"add","path":"members[","value":[]}`),
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":null}`,
		`[]`, `{}`, `nul`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	e := newEnv(f, Options{})
	f.Fuzz(func(t *testing.T, body string) {
		e.t = t
		uid := e.createUser("fuzz-" + randomID(t))
		gid := e.createGroup("fuzz-"+randomID(t), uid)
		for _, target := range []struct{ typ, path string }{{store.TypeUser, "/Users/" + uid}, {store.TypeGroup, "/Groups/" + gid}} {
			r := e.do("PATCH", target.path, body)
			if r.status >= 500 {
				t.Fatalf("PATCH %s: %d %s", target.path, r.status, r.raw)
			}
			doc := e.stored(target.typ, path2id(target.path))
			if doc["id"] != path2id(target.path) || metaOf(doc)["version"] == nil {
				t.Fatalf("stored %s lost its identity: %v", target.typ, doc)
			}
			if target.typ == store.TypeUser {
				if _, ok := doc["userName"].(string); !ok {
					t.Fatalf("stored user lost userName: %v", doc)
				}
			}
			g := e.do("GET", target.path, nil)
			if g.status != http.StatusOK {
				t.Fatalf("GET after PATCH: %d %s", g.status, g.raw)
			}
		}
	})
}

// FuzzFilter sends arbitrary filters: a 200 list response or a 400
// invalidFilter, never anything else.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "a"`, `userName sw O`, `externalId eq jyoung`, `emails[type eq "work" and primary eq true]`,
		`not (active eq true) or (name.familyName co "x")`, `meta.created gt 2015-10-10T14:38:21Z`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "S"`, `userName eq`, `((`,
		`members[value eq "x"]`, `groups.display eq "G"`, `id eq "a" and id ne "b"`, `title pr`, `x eq 1.5e3`,
	} {
		f.Add(s)
	}
	e := newEnv(f, Options{})
	uid := e.createUser("filter@x", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "w@x", "primary": true}}})
	e.createGroup("FG", uid)
	f.Fuzz(func(t *testing.T, filter string) {
		e.t = t
		for _, ep := range []string{"/Users", "/Groups"} {
			r := e.do("GET", ep+"?filter="+url.QueryEscape(filter), nil)
			switch {
			case r.status == http.StatusOK:
				if _, ok := r.body["Resources"].([]any); !ok {
					t.Fatalf("%s: no Resources list: %s", ep, r.raw)
				}
			case r.status == http.StatusBadRequest && (r.body["scimType"] == "invalidFilter" || r.body["scimType"] == "invalidValue"):
			default:
				t.Fatalf("%s filter %q: %d %s", ep, filter, r.status, r.raw)
			}
		}
	})
}

func path2id(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

var fuzzSeq int

func randomID(testing.TB) string {
	fuzzSeq++
	b, _ := json.Marshal(fuzzSeq)
	return string(b)
}
