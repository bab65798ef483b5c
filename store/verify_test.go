package store

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// seedConsistent writes a small store the way scim/ and the dispatcher do.
func seedConsistent(t *testing.T, db *DB) {
	t.Helper()
	err := db.Update(func(tx *Tx) error {
		if err := tx.markIndexReady(IndexEmail, TypeUser); err != nil {
			return err
		}
		if err := tx.putIndex(IndexEmail, TypeUser, "Ann@Work.x", "u1"); err != nil {
			return err
		}
		for _, u := range []struct{ id, name, ext string }{{"u1", "Ann@X", "e1"}, {"u2", "bob@x", ""}} {
			doc := `{"id":"` + u.id + `","userName":"` + u.name + `"`
			if u.id == "u1" {
				doc += `,"emails":[{"type":"work","value":"ann@work.X"}]`
			}
			if u.ext != "" {
				doc += `,"externalId":"` + u.ext + `"`
				if err := tx.putIndex(IndexExternalID, TypeUser, u.ext, u.id); err != nil {
					return err
				}
			}
			if _, err := tx.CreateResource(TypeUser, u.id, []byte(doc+"}")); err != nil {
				return err
			}
			if _, err := tx.putUserName(u.name, u.id); err != nil {
				return err
			}
		}
		if _, err := tx.CreateResource(TypeGroup, "g1", []byte(`{"id":"g1","displayName":"Staff"}`)); err != nil {
			return err
		}
		if err := tx.putIndex(IndexDisplayName, TypeGroup, "Staff", "g1"); err != nil {
			return err
		}
		if _, err := tx.AddMember("g1", "u1", nil); err != nil {
			return err
		}
		if err := tx.Append("webex", &Entry{Type: TypeUser, ID: "u1", Op: "upsert"}); err != nil {
			return err
		}
		if err := tx.PutMapping("webex", TypeUser, "u2", Mapping{TargetID: "t2"}); err != nil {
			return err
		}
		return tx.PutShadow("webex", TypeUser, "u2", Shadow{InScope: true})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Each damage is found, and named so that the line says where to look.
func TestVerify(t *testing.T) {
	put := func(bucket, key, val string) func(tx *Tx) error {
		return func(tx *Tx) error {
			b, err := tx.btx.CreateBucketIfNotExists([]byte(bucket))
			if err != nil {
				return err
			}
			return b.Put([]byte(key), []byte(val))
		}
	}
	del := func(bucket, key string) func(tx *Tx) error {
		return func(tx *Tx) error { return tx.btx.Bucket([]byte(bucket)).Delete([]byte(key)) }
	}
	for _, tt := range []struct {
		name   string
		damage func(tx *Tx) error
		want   string
	}{
		{"consistent", func(*Tx) error { return nil }, ""},
		{"unreadable resource", put("res/User", "u2", "\x00\x00\x00\x00\x00\x00\x00\x02{"), "User u2: stored JSON is unreadable"},
		{"stored id differs", put("res/User", "u2", "\x00\x00\x00\x00\x00\x00\x00\x02"+`{"id":"zz","userName":"bob@x"}`), "User u2: stored id is zz"},
		{"missing order entry", del("order/User", "\x00\x00\x00\x00\x00\x00\x00\x01"), "User u1: missing from the listing order"},
		{"dangling order entry", put("order/Group", "\x00\x00\x00\x00\x00\x00\x00\x09", "g9"), "order/Group: sequence 9 names g9"},
		{"wrong count", put("count", "User", "\x00\x00\x00\x00\x00\x00\x00\x05"), "count of User is 5, but 2 are stored"},
		{"userName not indexed", del("idx/userName", "bob@x"), `User u2: userName "bob@x" is not indexed`},
		{"stale userName", put("idx/userName", "old@x", "u1"), `idx/userName: "old@x" names user u1, whose userName is "Ann@X"`},
		{"index names a deleted user", put("idx/userName", "ghost@x", "u9"), "u9, which does not exist"},
		{"externalId not indexed", del("idx/externalId/User", "e1\x00u1"), `User u1: externalId "e1" is not indexed`},
		{"stale displayName", put("idx/displayName/Group", "old\x00g1", ""), `idx/displayName/Group: "old" names g1, whose displayName is "Staff"`},
		{"one-way membership", del("memberOf", "u1\x00g1"), "members: u1 in group g1 is missing from memberOf"},
		{"email not indexed", del("idx/email/User", "ann@work.x\x00u1"), `User u1: email "ann@work.x" is not indexed`},
		{"stale email", put("idx/email/User", "old@x\x00u1", ""), `idx/email/User: "old@x" names u1, which has no such address`},
		{"member of a missing group", func(tx *Tx) error { _, err := tx.AddMember("g9", "u1", nil); return err }, "members: group g9 (member u1) does not exist"},
		{"queue entry not indexed", func(tx *Tx) error { return tx.btx.Bucket([]byte("qidx/webex")).Delete(idxKey(TypeUser, "u1", 1)) }, "queue/webex: entry 1 (User/u1) is missing from qidx"},
		{"unreadable queue entry", put("queue/webex", string(seqKey(1)), "{"), "queue/webex: entry 0000000000000001 is unreadable"},
		{"reverse mapping missing", del("rmap/webex", "User/t2"), "map/webex: User/u2 maps to target id t2"},
		{"unreadable shadow", put("shadow/webex", "User/u2", "nope"), `shadow/webex: "User/u2" is unreadable`},
	} {
		t.Run(tt.name, func(t *testing.T) { damageAndVerify(t, seedConsistent, tt.damage, tt.want) })
	}
}

// damageAndVerify seeds a new store, damages it and checks that Verify
// names the damage in a line containing want ("": reports nothing).
func damageAndVerify(t *testing.T, seed func(*testing.T, *DB), damage func(tx *Tx) error, want string) {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seed(t, db)
	if err := db.Update(damage); err != nil {
		t.Fatal(err)
	}
	var problems []string
	_ = db.View(func(tx *Tx) error { problems, _ = tx.Verify(0); return nil })
	if want == "" {
		if len(problems) > 0 {
			t.Fatalf("consistent store reported: %q", problems)
		}
		return
	}
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
		t.Errorf("problems %q, want one containing %q", problems, want)
	}
	if testing.Verbose() {
		t.Log(problems)
	}
}

// The limit bounds the lines, not the count.
func TestVerifyLimit(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.Update(func(tx *Tx) error {
		b, _ := tx.btx.CreateBucketIfNotExists([]byte("idx/userName"))
		for _, k := range []string{"a", "b", "c", "d"} {
			_ = b.Put([]byte(k), []byte("nobody"))
		}
		return nil
	})
	_ = db.View(func(tx *Tx) error {
		if lines, n := tx.Verify(2); len(lines) != 2 || n != 4 {
			t.Errorf("Verify(limit 2) = %d lines, %d problems; want 2 and 4", len(lines), n)
		}
		return nil
	})
}
