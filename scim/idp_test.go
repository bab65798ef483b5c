package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

// Request shapes from ../shared/idp-requests.md (Okta and Entra ID), each
// checked against what the store holds afterwards.

func TestUserPatchIdPShapes(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	tests := []struct {
		name  string
		start map[string]any // extra attributes at creation
		ops   []string
		check func(t *testing.T, doc map[string]any)
		same  bool // the stored resource must not change
	}{
		{
			name: "okta deactivate without path",
			ops:  []string{`{"op":"replace","value":{"active":false}}`},
			check: func(t *testing.T, doc map[string]any) {
				if doc["active"] != false {
					t.Errorf("active = %v, want false", doc["active"])
				}
			},
		},
		{
			name: "entra capitalised Replace displayName",
			ops:  []string{`{"op":"Replace","path":"displayName","value":"Jane Q"}`},
			check: func(t *testing.T, doc map[string]any) {
				if doc["displayName"] != "Jane Q" {
					t.Errorf("displayName = %v", doc["displayName"])
				}
			},
		},
		{
			name: "entra string boolean False",
			ops:  []string{`{"op":"Replace","path":"active","value":"False"}`},
			check: func(t *testing.T, doc map[string]any) {
				if doc["active"] != false {
					t.Errorf("active = %#v, want boolean false", doc["active"])
				}
			},
		},
		{
			name: "entra Add work email creates it",
			ops:  []string{`{"op":"Add","path":"emails[type eq \"work\"].value","value":"new@x.com"}`},
			check: func(t *testing.T, doc map[string]any) {
				emails, _ := doc["emails"].([]any)
				if len(emails) != 1 || get(emails, "0.value") != "new@x.com" || get(emails, "0.type") != "work" {
					t.Errorf("emails = %v", emails)
				}
			},
		},
		{
			name:  "entra Add work email replaces the existing one",
			start: map[string]any{"emails": []any{map[string]any{"type": "work", "value": "old@x.com", "primary": true}, map[string]any{"type": "home", "value": "h@x.com"}}},
			ops:   []string{`{"op":"Add","path":"emails[type eq \"work\"].value","value":"new@x.com"}`},
			check: func(t *testing.T, doc map[string]any) {
				var work []any
				for _, e := range doc["emails"].([]any) {
					if get(e, "type") == "work" {
						work = append(work, get(e, "value"))
					}
				}
				if !reflect.DeepEqual(work, []any{"new@x.com"}) {
					t.Errorf("work emails = %v, want exactly [new@x.com]", work)
				}
				if len(doc["emails"].([]any)) != 2 {
					t.Errorf("home email lost: %v", doc["emails"])
				}
			},
		},
		{
			name: "entra enterprise department by URN path",
			ops:  []string{`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"}`},
			check: func(t *testing.T, doc map[string]any) {
				if extAttr(doc, "department") != "Sales" {
					t.Errorf("department = %v", extAttr(doc, "department"))
				}
				if !slices.Contains(doc["schemas"].([]any), any(ent)) {
					t.Errorf("schemas lacks the extension: %v", doc["schemas"])
				}
			},
		},
		{
			name: "entra bare-string manager",
			ops:  []string{`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"mgr-1"}`},
			check: func(t *testing.T, doc map[string]any) {
				if get(extAttr(doc, "manager"), "value") != "mgr-1" {
					t.Errorf("manager = %v", extAttr(doc, "manager"))
				}
			},
		},
		{
			name:  "entra manager removal",
			start: map[string]any{ent: map[string]any{"manager": map[string]any{"value": "mgr-1"}, "department": "X"}},
			ops:   []string{`{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}`},
			check: func(t *testing.T, doc map[string]any) {
				if extAttr(doc, "manager") != nil || extAttr(doc, "department") != "X" {
					t.Errorf("extension = %v", doc[ent])
				}
			},
		},
		{
			name: "path-less value with dotted and URN keys",
			ops:  []string{`{"op":"replace","value":{"displayName":"D","name.givenName":"G","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"42"}}`},
			check: func(t *testing.T, doc map[string]any) {
				if doc["displayName"] != "D" || get(doc, "name.givenName") != "G" || extAttr(doc, "employeeNumber") != "42" {
					t.Errorf("doc = %v", doc)
				}
			},
		},
		{
			name: "path-less value with a whole extension object (RFC 7644 §3.5.2)",
			ops:  []string{`{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","costCenter":"C"}}}`},
			check: func(t *testing.T, doc map[string]any) {
				if extAttr(doc, "department") != "D" || extAttr(doc, "costCenter") != "C" {
					t.Errorf("extension = %v", doc[ent])
				}
			},
		},
		{
			name:  "path naming the extension",
			start: map[string]any{ent: map[string]any{"department": "X"}},
			ops:   []string{`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"division":"V"}}`},
			check: func(t *testing.T, doc map[string]any) {
				if extAttr(doc, "department") != "X" || extAttr(doc, "division") != "V" {
					t.Errorf("extension = %v", doc[ent])
				}
			},
		},
		{
			name:  "remove the whole extension",
			start: map[string]any{ent: map[string]any{"department": "X", "manager": map[string]any{"value": "m"}}},
			ops:   []string{`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}`},
			check: func(t *testing.T, doc map[string]any) {
				if doc[ent] != nil || slices.Contains(doc["schemas"].([]any), any(ent)) {
					t.Errorf("extension left: %v %v", doc[ent], doc["schemas"])
				}
			},
		},
		{
			name: "phone and address value paths",
			ops: []string{
				`{"op":"Add","path":"phoneNumbers[type eq \"work\"].value","value":"555"}`,
				`{"op":"Add","path":"addresses[type eq \"work\"].streetAddress","value":"1 Main St"}`,
			},
			check: func(t *testing.T, doc map[string]any) {
				if get(doc, "phoneNumbers.0.value") != "555" || get(doc, "addresses.0.streetAddress") != "1 Main St" {
					t.Errorf("doc = %v", doc)
				}
			},
		},
		{
			name: "userName replace moves the index",
			ops:  []string{`{"op":"replace","path":"userName","value":"renamed@x.com"}`},
			check: func(t *testing.T, doc map[string]any) {
				if doc["userName"] != "renamed@x.com" {
					t.Errorf("userName = %v", doc["userName"])
				}
			},
		},
		{
			name: "password is accepted and never stored",
			ops:  []string{`{"op":"replace","path":"password","value":"S3cret!"}`},
			same: true,
			check: func(t *testing.T, doc map[string]any) {
				if _, ok := doc["password"]; ok {
					t.Error("password stored")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			id := e.createUser("jane@x.com", tt.start)
			before := e.stored(store.TypeUser, id)
			e.changes()
			r := e.must(http.StatusNoContent, "PATCH", "/Users/"+id, patchBody(tt.ops...))
			if r.raw != "" {
				t.Errorf("204 with a body: %s", r.raw)
			}
			doc := e.stored(store.TypeUser, id)
			tt.check(t, doc)
			ch := e.changes()
			if tt.same {
				if versionOf(doc) != versionOf(before) || len(ch) != 0 {
					t.Errorf("no-op PATCH: version %s → %s, changes %+v", versionOf(before), versionOf(doc), ch)
				}
				return
			}
			if versionOf(doc) == versionOf(before) {
				t.Errorf("meta.version unchanged: %s", versionOf(doc))
			}
			if len(ch) != 1 || ch[0].Type != store.TypeUser || ch[0].ID != id || ch[0].Before == nil || ch[0].After == nil {
				t.Fatalf("changes = %+v", ch)
			}
			if _, ok := ch[0].After["password"]; ok {
				t.Error("password in change")
			}
		})
	}
}

func TestOktaImportAndDeactivate(t *testing.T) {
	e := newEnv(t, Options{})
	q := "/Users?filter=" + url.QueryEscape(`userName eq "jane@example.com"`) + "&startIndex=1&count=100"
	r := e.must(http.StatusOK, "GET", q, nil)
	if r.body["totalResults"] != 0.0 || r.body["itemsPerPage"] != 0.0 || r.body["startIndex"] != 1.0 {
		t.Errorf("empty search = %s", r.raw)
	}
	if res, ok := r.body["Resources"].([]any); !ok || len(res) != 0 {
		t.Errorf("Resources = %#v, want []", r.body["Resources"])
	}
	id := e.createUser("jane@example.com", map[string]any{
		"name":   map[string]any{"givenName": "Jane", "familyName": "Doe"},
		"emails": []any{map[string]any{"primary": true, "value": "jane@example.com", "type": "work"}},
		"locale": "en-US", "externalId": "okta-1", "groups": []any{}, "password": "hunter2",
	})
	r = e.must(http.StatusConflict, "POST", "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "JANE@example.com"})
	if r.body["scimType"] != "uniqueness" || r.body["status"] != "409" || r.body["detail"] == "" {
		t.Errorf("duplicate = %s", r.raw)
	}
	e.must(http.StatusNoContent, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","value":{"active":false}}`))
	r = e.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`userName eq "JANE@EXAMPLE.COM"`), nil)
	if r.body["totalResults"] != 1.0 || get(r.body, "Resources.0.active") != false || get(r.body, "Resources.0.id") != id {
		t.Errorf("deactivated user search = %s", r.raw)
	}
	if _, ok := e.stored(store.TypeUser, id)["password"]; ok {
		t.Error("password stored")
	}
	if get(r.body, "Resources.0.password") != nil {
		t.Error("password returned")
	}
}

func TestGroupMemberPatches(t *testing.T) {
	type step struct {
		ops         []string
		wantMembers []string // stored member ids afterwards, by user name
		wantAdded   []string
		wantRemoved []string
		wantName    string
	}
	tests := []struct {
		name  string
		start []string // initial members (user names)
		steps []step
	}{
		{"okta add with display", nil, []step{{
			ops:         []string{`{"op":"add","path":"members","value":[{"value":"$u1","display":"u1@x"}]}`},
			wantMembers: []string{"u1"}, wantAdded: []string{"u1"},
		}}},
		{"entra Add with $ref null", []string{"u1"}, []step{{
			ops:         []string{`{"op":"Add","path":"members","value":[{"$ref":null,"value":"$u2"},{"$ref":null,"value":"$u3"}]}`},
			wantMembers: []string{"u1", "u2", "u3"}, wantAdded: []string{"u2", "u3"},
		}}},
		{"okta remove by value filter", []string{"u1", "u2"}, []step{{
			ops:         []string{`{"op":"remove","path":"members[value eq \"$u1\"]"}`},
			wantMembers: []string{"u2"}, wantRemoved: []string{"u1"},
		}}},
		{"entra Remove with value list removes exactly those", []string{"u1", "u2", "u3"}, []step{{
			ops:         []string{`{"op":"Remove","path":"members","value":[{"value":"$u1"},{"value":"$u3"}]}`},
			wantMembers: []string{"u2"}, wantRemoved: []string{"u1", "u3"},
		}}},
		{"remove members without value removes all", []string{"u1", "u2"}, []step{{
			ops:         []string{`{"op":"remove","path":"members"}`},
			wantMembers: nil, wantRemoved: []string{"u1", "u2"},
		}}},
		{"replace members sets them", []string{"u1", "u2"}, []step{{
			ops:         []string{`{"op":"replace","path":"members","value":[{"value":"$u2"},{"value":"$u3"}]}`},
			wantMembers: []string{"u2", "u3"}, wantAdded: []string{"u3"}, wantRemoved: []string{"u1"},
		}}},
		{"path-less replace with members", []string{"u1"}, []step{{
			ops:         []string{`{"op":"replace","value":{"displayName":"Renamed","members":[{"value":"$u2"}]}}`},
			wantMembers: []string{"u2"}, wantAdded: []string{"u2"}, wantRemoved: []string{"u1"}, wantName: "Renamed",
		}}},
		{"okta rename with id does not touch members", []string{"u1", "u2"}, []step{{
			ops:         []string{`{"op":"replace","value":{"id":"$gid","displayName":"New name"}}`},
			wantMembers: []string{"u1", "u2"}, wantName: "New name",
		}}},
		{"okta membership change resent with rename", []string{"u1"}, []step{{
			ops: []string{`{"op":"replace","value":{"id":"$gid","displayName":"G"}}`,
				`{"op":"add","path":"members","value":[{"value":"$u2","display":"u2"}]}`},
			wantMembers: []string{"u1", "u2"}, wantAdded: []string{"u2"},
		}}},
		{"adding an existing member is not a change", []string{"u1"}, []step{{
			ops:         []string{`{"op":"add","path":"members","value":[{"value":"$u1"}]}`},
			wantMembers: []string{"u1"},
		}}},
		{"add then remove in one request cancels", nil, []step{{
			ops: []string{`{"op":"add","path":"members","value":[{"value":"$u1"}]}`,
				`{"op":"remove","path":"members[value eq \"$u1\"]"}`},
			wantMembers: nil,
		}}},
		{"suite bare-string member", nil, []step{{
			ops:         []string{`{"op":"add","path":"members","value":"string id 1"}`},
			wantMembers: []string{"string id 1"}, wantAdded: []string{"string id 1"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			ids := map[string]string{}
			for _, u := range []string{"u1", "u2", "u3"} {
				ids[u] = e.createUser(u + "@x")
			}
			var start []string
			for _, u := range tt.start {
				start = append(start, ids[u])
			}
			gid := e.createGroup("G", start...)
			ids["gid"] = gid
			subst := func(s string) string {
				for k, v := range ids {
					s = replaceAll(s, "$"+k, v)
				}
				return s
			}
			for _, st := range tt.steps {
				e.changes()
				var ops []string
				for _, o := range st.ops {
					ops = append(ops, subst(o))
				}
				e.must(http.StatusNoContent, "PATCH", "/Groups/"+gid, patchBody(ops...))
				doc := e.stored(store.TypeGroup, gid)
				if doc["members"] != nil {
					t.Error("members stored in the group document")
				}
				mapIDs := func(names []string) []string {
					out := []string{}
					for _, n := range names {
						if id, ok := ids[n]; ok {
							out = append(out, id)
						} else {
							out = append(out, n)
						}
					}
					sort.Strings(out)
					return out
				}
				got, _ := doc["_memberIDs"].([]string)
				if got == nil {
					got = []string{}
				}
				if want := mapIDs(st.wantMembers); !reflect.DeepEqual(got, want) {
					t.Errorf("members = %v, want %v", got, want)
				}
				if st.wantName != "" && doc["displayName"] != st.wantName {
					t.Errorf("displayName = %v", doc["displayName"])
				}
				ch := e.changes()
				var added, removed []string
				var userChanges []string
				for _, c := range ch {
					switch c.Type {
					case store.TypeGroup:
						if c.After == nil || c.After["members"] != nil {
							t.Errorf("group change After = %v (must carry no members)", c.After)
						}
						added = append(added, c.MembersAdded...)
						removed = append(removed, c.MembersRemoved...)
					case store.TypeUser:
						userChanges = append(userChanges, c.ID)
					}
				}
				sort.Strings(added)
				sort.Strings(removed)
				if want := mapIDs(st.wantAdded); !reflect.DeepEqual(orEmpty(added), want) {
					t.Errorf("MembersAdded = %v, want %v", added, want)
				}
				if want := mapIDs(st.wantRemoved); !reflect.DeepEqual(orEmpty(removed), want) {
					t.Errorf("MembersRemoved = %v, want %v", removed, want)
				}
				// each existing user whose groups changed is reported
				var wantUsers []string
				for _, id := range append(mapIDs(st.wantAdded), mapIDs(st.wantRemoved)...) {
					if e.exists(store.TypeUser, id) {
						wantUsers = append(wantUsers, id)
					}
				}
				sort.Strings(wantUsers)
				sort.Strings(userChanges)
				if !reflect.DeepEqual(orEmpty(userChanges), orEmpty(wantUsers)) {
					t.Errorf("user changes = %v, want %v", userChanges, wantUsers)
				}
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func replaceAll(s, old, new string) string {
	for {
		i := indexOf(s, old)
		if i < 0 {
			return s
		}
		s = s[:i] + new + s[i+len(old):]
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestEntraGroupReadsAndUserGroups(t *testing.T) {
	e := newEnv(t, Options{})
	u1 := e.createUser("u1@x")
	gid := e.createGroup("Group1", u1)
	r := e.must(http.StatusOK, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Group1"`)+"&excludedAttributes=members", nil)
	if r.body["totalResults"] != 1.0 || get(r.body, "Resources.0.id") != gid || get(r.body, "Resources.0.members") != nil {
		t.Errorf("excludedAttributes=members = %s", r.raw)
	}
	r = e.must(http.StatusOK, "GET", "/Groups/"+gid, nil)
	if get(r.body, "members.0.value") != u1 || get(r.body, "members.0.type") != "User" ||
		get(r.body, "members.0.$ref") != "https://scim.example.com/scim/v2/Users/"+u1 {
		t.Errorf("group = %s", r.raw)
	}
	r = e.must(http.StatusOK, "GET", "/Users/"+u1, nil)
	if get(r.body, "groups.0.value") != gid || get(r.body, "groups.0.display") != "Group1" || get(r.body, "groups.0.type") != "direct" {
		t.Errorf("user groups = %s", r.raw)
	}
	// groups is read-only: a PUT that sends groups does not change them.
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "u1@x", "groups": []any{}}
	e.must(http.StatusOK, "PUT", "/Users/"+u1, body)
	r = e.must(http.StatusOK, "GET", "/Users/"+u1, nil)
	if get(r.body, "groups.0.value") != gid {
		t.Errorf("PUT with groups:[] changed memberships: %s", r.raw)
	}
	// externalId: unquoted (as Microsoft documents), not unique.
	e.createUser("a@x", map[string]any{"externalId": "jyoung"})
	e.createUser("b@x", map[string]any{"externalId": "jyoung"})
	r = e.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`externalId eq jyoung`), nil)
	if r.body["totalResults"] != 2.0 {
		t.Errorf("externalId eq jyoung = %s", r.raw)
	}
}

func TestDeleteUserLeavesGroups(t *testing.T) {
	e := newEnv(t, Options{})
	u1, u2 := e.createUser("u1@x"), e.createUser("u2@x")
	g1, g2 := e.createGroup("G1", u1, u2), e.createGroup("G2", u1)
	e.changes()
	e.must(http.StatusNoContent, "DELETE", "/Users/"+u1, nil)
	if e.exists(store.TypeUser, u1) {
		t.Fatal("user still stored")
	}
	if m := e.stored(store.TypeGroup, g1)["_memberIDs"]; !reflect.DeepEqual(m, []string{u2}) {
		t.Errorf("G1 members = %v", m)
	}
	if m := e.stored(store.TypeGroup, g2)["_memberIDs"]; m != nil && len(m.([]string)) != 0 {
		t.Errorf("G2 members = %v", m)
	}
	ch := e.changes()
	if len(ch) != 3 {
		t.Fatalf("changes = %+v", ch)
	}
	gotGroups := []string{ch[0].ID, ch[1].ID}
	sort.Strings(gotGroups)
	wantGroups := []string{g1, g2}
	sort.Strings(wantGroups)
	for _, c := range ch[:2] {
		if c.Type != store.TypeGroup || !reflect.DeepEqual(c.MembersRemoved, []string{u1}) {
			t.Errorf("group change = %+v", c)
		}
	}
	if !reflect.DeepEqual(gotGroups, wantGroups) {
		t.Errorf("groups reported = %v, want %v", gotGroups, wantGroups)
	}
	if last := ch[2]; last.Type != store.TypeUser || last.ID != u1 || last.After != nil || last.Before == nil {
		t.Errorf("last change = %+v, want the user's delete", last)
	}
	e.must(http.StatusNotFound, "GET", "/Users/"+u1, nil)
	// the userName is free again
	e.createUser("u1@x")
}

func TestCreateGroupChanges(t *testing.T) {
	e := newEnv(t, Options{})
	u1 := e.createUser("u1@x")
	e.changes()
	gid := e.createGroup("G", u1, "not-a-user")
	ch := e.changes()
	if len(ch) != 2 || ch[0].Type != store.TypeGroup || ch[0].ID != gid || ch[0].Before != nil ||
		!reflect.DeepEqual(ch[0].MembersAdded, []string{u1, "not-a-user"}) || ch[0].After["members"] != nil {
		t.Fatalf("changes = %+v", ch)
	}
	if ch[1].Type != store.TypeUser || ch[1].ID != u1 || get(ch[1].After, "groups.0.value") != gid || ch[1].Before["groups"] != nil {
		t.Errorf("user change = %+v", ch[1])
	}
	b, _ := json.Marshal(ch[1].After)
	if indexOf(string(b), "password") >= 0 {
		t.Error("password in change")
	}
}

// extAttr reads an enterprise extension attribute.
func extAttr(doc map[string]any, name string) any {
	ext, _ := doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
	return ext[name]
}
