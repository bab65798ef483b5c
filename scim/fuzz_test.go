package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/scimbridge/scimbridge/scimpath"
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
		verifyStore(t, e.db)
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

// FuzzWriteSequence runs an arbitrary sequence of SCIM writes over a small
// pool of names (so that uniqueness conflicts, case-only renames, shared
// externalIds, re-added and deleted members all happen) and checks after
// every request that nothing answered 5xx and the store agrees with
// itself (store.Verify: resources, order, counts, every index, the email
// index included, both membership directions).
func FuzzWriteSequence(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{0, 0x10, 1, 0x21, 4, 0x35, 7, 0x48, 9, 0x5a, 2, 0x63, 11})
	f.Add([]byte{0, 4, 8, 3, 7, 11, 1, 5, 9, 2, 6, 10, 0x70, 0x81, 0x92})
	names := []string{"ann@x", "ANN@x", "bob@x", "cy@x"}
	groupNames := []string{"Staff", "staff", "Ops"}
	exts := []string{"", "e1", "e2"}
	f.Fuzz(func(t *testing.T, program []byte) {
		if len(program) > 64 {
			program = program[:64]
		}
		e := newEnv(t, Options{})
		var users, groups []string // ids created so far (some deleted since)
		pick := func(ids []string, b byte) string {
			if len(ids) == 0 {
				return "missing-id"
			}
			return ids[int(b)%len(ids)]
		}
		for i, op := range program {
			arg := op >> 4
			name, gname, ext := names[int(arg)%len(names)], groupNames[int(arg)%len(groupNames)], exts[int(arg)%len(exts)]
			u, g := pick(users, arg), pick(groups, arg+1)
			var r resp
			switch op % 12 {
			case 0:
				r = e.do("POST", "/Users", map[string]any{"schemas": []string{scimpath.URNUser}, "userName": name, "externalId": ext,
					"emails": []any{map[string]any{"type": "work", "value": name}, map[string]any{"type": "home", "value": gname + "@x"}}})
				if r.status == http.StatusCreated {
					users = append(users, r.body["id"].(string))
				}
			case 1:
				r = e.do("PUT", "/Users/"+u, map[string]any{"schemas": []string{scimpath.URNUser}, "userName": name, "externalId": ext,
					"emails": []any{map[string]any{"type": "work", "value": ext + "@x"}}})
			case 2:
				r = e.do("PATCH", "/Users/"+u, patchBody(`{"op":"replace","value":{"userName":"`+name+`","externalId":"`+ext+`"}}`,
					`{"op":"add","path":"emails[type eq \"work\"].value","value":"`+name+`"}`))
			case 3:
				r = e.do("DELETE", "/Users/"+u, nil)
			case 4:
				r = e.do("POST", "/Groups", map[string]any{"schemas": []string{scimpath.URNGroup}, "displayName": gname, "externalId": ext,
					"members": []any{map[string]any{"value": u}}})
				if r.status == http.StatusCreated {
					groups = append(groups, r.body["id"].(string))
				}
			case 5:
				r = e.do("PATCH", "/Groups/"+g, patchBody(`{"op":"add","path":"members","value":[{"value":"`+u+`"}]}`))
			case 6:
				r = e.do("PATCH", "/Groups/"+g, patchBody(`{"op":"remove","path":"members[value eq \"`+u+`\"]"}`))
			case 7:
				r = e.do("PATCH", "/Groups/"+g, patchBody(`{"op":"replace","path":"displayName","value":"`+gname+`"}`))
			case 8:
				r = e.do("PUT", "/Groups/"+g, map[string]any{"schemas": []string{scimpath.URNGroup}, "displayName": gname, "externalId": ext,
					"members": []any{map[string]any{"value": u}, map[string]any{"value": pick(users, arg+2)}}})
			case 9:
				r = e.do("DELETE", "/Groups/"+g, nil)
			case 10:
				r = e.do("PATCH", "/Groups/"+g, patchBody(`{"op":"replace","path":"members","value":[{"value":"`+u+`"}]}`))
			case 11:
				r = e.do("PATCH", "/Groups/"+g, patchBody(`{"op":"remove","path":"members"}`))
			}
			if r.status >= 500 {
				t.Fatalf("step %d (op %d): %d %s", i, op%12, r.status, r.raw)
			}
			_ = e.db.View(func(tx *store.Tx) error {
				if problems, _ := tx.Verify(5); len(problems) > 0 {
					t.Fatalf("after step %d (op %d, answered %d): %q", i, op%12, r.status, problems)
				}
				return nil
			})
		}
	})
}
