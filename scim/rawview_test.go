package scim

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

// TestRawViewMatchesDecodedView: serving the stored bytes gives what the
// decoding path (view, project, encode) gives, for users with and without
// groups, odd characters, extensions and numbers, and groups with and
// without members.
func TestRawViewMatchesDecodedView(t *testing.T) {
	e := newEnv(t, Options{Extensions: nil})
	plain := e.createUser("plain@x")
	odd := e.createUser("odd@x", map[string]any{
		"displayName": `R&D <team> "quoted" \u0026 back\slash é 😀`,
		"name":        map[string]any{"givenName": "A&B", "familyName": "<X>"},
		"emails":      []any{map[string]any{"value": "a&b@x", "type": "work", "primary": true}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"employeeNumber": "12345678901234567890", "department": "R&D"},
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
	})
	member := e.createUser("member@x")
	g1 := e.createGroup("G&1", member, odd)
	g2 := e.createGroup("G2", member)
	empty := e.createGroup("Empty")

	err := e.db.View(func(tx *store.Tx) error {
		for _, c := range []struct {
			d           *resourceDef
			id          string
			withMembers bool
		}{
			{e.s.user, plain, false}, {e.s.user, odd, false}, {e.s.user, member, false},
			{e.s.group, g1, true}, {e.s.group, g1, false}, {e.s.group, g2, true}, {e.s.group, empty, true},
		} {
			raw, _, err := tx.GetResource(c.d.typ, c.id)
			if err != nil {
				return err
			}
			doc, _ := decodeDoc(raw)
			slow, err := e.s.view(tx, c.d, doc, "https://h/scim/v2", c.withMembers)
			if err != nil {
				return err
			}
			slow = e.s.project(c.d, slow, nil, nil)
			var members []any
			if c.withMembers {
				if members, err = e.s.groupMembers(tx, c.id, "https://h/scim/v2"); err != nil {
					return err
				}
			}
			fast, version, ok, err := e.s.rawView([]byte("prefix"), tx, c.d, c.id, raw, "https://h/scim/v2", members)
			if err != nil || !ok {
				t.Fatalf("%s %s: rawView ok=%v err=%v", c.d.typ, c.id, ok, err)
			}
			if string(fast[:6]) != "prefix" {
				t.Fatalf("rawView lost what dst held")
			}
			var got, want any
			if err := json.Unmarshal(fast[6:], &got); err != nil {
				t.Fatalf("%s: rawView gave invalid JSON %v: %s", c.id, err, fast)
			}
			wb, _ := json.Marshal(slow)
			json.Unmarshal(wb, &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s:\nraw     %s\ndecoded %s", c.d.typ, c.id, fast[6:], wb)
			}
			if version != versionOf(slow) {
				t.Errorf("%s: version %q, want %q", c.id, version, versionOf(slow))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnescapeHTML(t *testing.T) {
	for in, want := range map[string]string{
		`"R\u0026D \u003cx\u003e"`: `"R&D <x>"`,
		`"a\\u0026b"`:              `"a\\u0026b"`,
		`"\u00e9\n\"\\"`:           `"\u00e9\n\"\\"`,
		`"end\u003C"`:              `"end<"`,
		`"plain"`:                  `"plain"`,
	} {
		if got := string(unescapeHTML([]byte("x"+in), 1)); got != "x"+want {
			t.Errorf("unescapeHTML(%s) = %s, want x%s", in, got, want)
		}
	}
}

// TestReplaceMeta: splicing a new meta into an encoding gives the bytes a
// whole encoding gives.
func TestReplaceMeta(t *testing.T) {
	for _, src := range []string{
		`{"a":1,"meta":{"version":"W/\"1\""},"z":[1,{"meta":2}]}`,
		`{"meta":{},"userName":"R&D <x>"}`,
		`{"id":"x"}`,
	} {
		var doc map[string]any
		json.Unmarshal([]byte(src), &doc)
		enc, _ := json.Marshal(doc)
		doc["meta"] = map[string]any{"version": `W/"2"`, "lastModified": "2026-01-01T00:00:00.000Z", "x": "a&b"}
		got, err := replaceMeta(enc, doc)
		want, _ := json.Marshal(doc)
		if err != nil || string(got) != string(want) {
			t.Errorf("replaceMeta(%s) = %s, %v; want %s", src, got, err, want)
		}
	}
}

func TestPlainVersionAndString(t *testing.T) {
	for raw, want := range map[string]string{`"W/\"3\""`: `W/"3"`, `"W/\"3-00ff\""`: `W/"3-00ff"`, `"x"`: "x"} {
		if got, ok := plainVersion([]byte(raw)); !ok || got != want {
			t.Errorf("plainVersion(%s) = %q %v", raw, got, ok)
		}
	}
	for _, raw := range []string{`"a\nb"`, `"\u0041"`, `x`, `"`} {
		if _, ok := plainVersion([]byte(raw)); ok {
			t.Errorf("plainVersion(%s) took an escape it does not decode", raw)
		}
	}
	for _, s := range []string{"https://h/scim/v2/Users/1", `a"b`, "é", "a<b&c", "tab\t"} {
		got, _ := appendJSONString(nil, s)
		var back string
		if json.Unmarshal(got, &back) != nil || back != s {
			t.Errorf("appendJSONString(%q) = %s", s, got)
		}
	}
}
