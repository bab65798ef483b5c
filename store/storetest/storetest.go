// Package storetest is the store's contract as a test suite, in the manner
// of dex's storage/conformance: Run exercises resources and their indexes,
// memberships, queues, mappings, shadows, dead letters, connector state,
// transactions and Verify against any *store.DB. The bbolt store runs it
// (store_test.go); a second storage engine would have to pass it too.
//
// Only tests import this package.
package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/store"
)

// Run runs the suite. open returns a new, empty store for each subtest;
// the subtest closes it.
func Run(t *testing.T, open func(t *testing.T) *store.DB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db *store.DB)
	}{
		{"Resources", testResources},
		{"Indexes", testIndexes},
		{"UserNameConflict", testUserNameConflict},
		{"Memberships", testMemberships},
		{"Queue", testQueue},
		{"Mappings", testMappings},
		{"Shadows", testShadows},
		{"DeadLetters", testDeadLetters},
		{"ConnectorState", testConnectorState},
		{"Transactions", testTransactions},
		{"VerifyFindsDamage", testVerifyFindsDamage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			defer db.Close()
			tt.fn(t, db)
			if tt.name != "VerifyFindsDamage" {
				mustVerify(t, db)
			}
		})
	}
}

func update(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.View(fn); err != nil {
		t.Fatal(err)
	}
}

// mustVerify fails t unless Verify finds the store consistent.
func mustVerify(t *testing.T, db *store.DB) {
	t.Helper()
	view(t, db, func(tx *store.Tx) error {
		if problems, total := tx.Verify(20); total != 0 {
			t.Errorf("Verify found %d problems:\n%s", total, strings.Join(problems, "\n"))
		}
		return nil
	})
}

func user(id, userName string, extra string) []byte {
	return []byte(`{"id":"` + id + `","userName":"` + userName + `"` + extra + `}`)
}

func testResources(t *testing.T, db *store.DB) {
	update(t, db, func(tx *store.Tx) error {
		for i, id := range []string{"u3", "u1", "u2"} {
			seq, err := tx.CreateResource(store.TypeUser, id, user(id, "name-"+id, ""))
			if err != nil {
				return err
			}
			if seq != uint64(i+1) {
				t.Errorf("creation sequence of %s = %d, want %d", id, seq, i+1)
			}
		}
		if _, err := tx.CreateResource(store.TypeUser, "u1", user("u1", "other", "")); err == nil {
			t.Error("second create of u1 succeeded")
		}
		_, err := tx.CreateResource(store.TypeGroup, "g1", []byte(`{"id":"g1","displayName":"G"}`))
		return err
	})
	view(t, db, func(tx *store.Tx) error {
		if n := tx.CountResources(store.TypeUser); n != 3 {
			t.Errorf("CountResources(User) = %d, want 3", n)
		}
		if n := tx.CountResources(store.TypeGroup); n != 1 {
			t.Errorf("CountResources(Group) = %d, want 1", n)
		}
		doc, seq, err := tx.GetResource(store.TypeUser, "u1")
		if err != nil || seq != 2 || !strings.Contains(string(doc), `"name-u1"`) {
			t.Errorf("GetResource(u1) = %s, %d, %v", doc, seq, err)
		}
		if _, _, err := tx.GetResource(store.TypeUser, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetResource(missing) err = %v, want ErrNotFound", err)
		}
		if _, _, err := tx.GetResource(store.TypeGroup, "u1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a user is not a group: err = %v", err)
		}
		if !tx.ResourceExists(store.TypeUser, "u2") || tx.ResourceExists(store.TypeUser, "g1") {
			t.Error("ResourceExists is wrong")
		}
		var order []string
		err = tx.ScanResources(store.TypeUser, 0, func(id string, _ []byte) (bool, error) {
			order = append(order, id)
			return true, nil
		})
		if err != nil || !slices.Equal(order, []string{"u3", "u1", "u2"}) {
			t.Errorf("ScanResources order = %v, %v; want creation order", order, err)
		}
		var page []string
		_ = tx.ScanResources(store.TypeUser, 1, func(id string, _ []byte) (bool, error) {
			page = append(page, id)
			return len(page) < 1, nil
		})
		if !slices.Equal(page, []string{"u1"}) {
			t.Errorf("skip 1, take 1 = %v, want [u1]", page)
		}
		return nil
	})
	update(t, db, func(tx *store.Tx) error {
		if err := tx.UpdateResource(store.TypeUser, "u3", user("u3", "renamed", "")); err != nil {
			return err
		}
		if err := tx.UpdateResource(store.TypeUser, "nobody", user("nobody", "x", "")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateResource(missing) err = %v, want ErrNotFound", err)
		}
		if err := tx.DeleteResource(store.TypeUser, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteResource(missing) err = %v, want ErrNotFound", err)
		}
		return tx.DeleteResource(store.TypeUser, "u1")
	})
	view(t, db, func(tx *store.Tx) error {
		if _, seq, _ := tx.GetResource(store.TypeUser, "u3"); seq != 1 {
			t.Errorf("an update changed the creation sequence to %d", seq)
		}
		if n := tx.CountResources(store.TypeUser); n != 2 {
			t.Errorf("count after delete = %d, want 2", n)
		}
		var order []string
		_ = tx.ScanResources(store.TypeUser, 0, func(id string, _ []byte) (bool, error) {
			order = append(order, id)
			return true, nil
		})
		if !slices.Equal(order, []string{"u3", "u2"}) {
			t.Errorf("order after delete = %v", order)
		}
		return nil
	})
}

// testIndexes checks that writing a resource keeps its indexes: userName
// (unique, case-folded), externalId (exact), group displayName (folded)
// and every email address (folded), through create, update and delete.
func testIndexes(t *testing.T, db *store.DB) {
	update(t, db, func(tx *store.Tx) error {
		if _, err := tx.CreateResource(store.TypeUser, "u1", user("u1", "Ada@Example.com",
			`,"externalId":"E-1","emails":[{"type":"work","value":"Ada@Work.example"},{"type":"home","value":"ada@home.example"}]`)); err != nil {
			return err
		}
		if _, err := tx.CreateResource(store.TypeUser, "u2", user("u2", "bob", `,"externalId":"E-1","emails":[{"value":"ADA@work.example"}]`)); err != nil {
			return err
		}
		_, err := tx.CreateResource(store.TypeGroup, "g1", []byte(`{"id":"g1","displayName":"Sales Team","externalId":"G-1"}`))
		return err
	})
	lookups := func(want map[string][]string) {
		t.Helper()
		view(t, db, func(tx *store.Tx) error {
			got := map[string][]string{
				"userName ada@example.com": nonEmpty(tx.LookupUserName("ADA@example.COM")),
				"userName bob":             nonEmpty(tx.LookupUserName("Bob")),
				"externalId E-1":           tx.LookupIndex(store.IndexExternalID, store.TypeUser, "E-1"),
				"externalId e-1":           tx.LookupIndex(store.IndexExternalID, store.TypeUser, "e-1"),
				"email ada@work":           tx.LookupIndex(store.IndexEmail, store.TypeUser, "ada@WORK.example"),
				"email ada@home":           tx.LookupIndex(store.IndexEmail, store.TypeUser, "ada@home.example"),
				"displayName sales team":   tx.LookupIndex(store.IndexDisplayName, store.TypeGroup, "SALES team"),
				"group externalId G-1":     tx.LookupIndex(store.IndexExternalID, store.TypeGroup, "G-1"),
			}
			for k, w := range want {
				if !slices.Equal(got[k], w) {
					t.Errorf("%s: index holds %v, want %v", k, got[k], w)
				}
			}
			return nil
		})
	}
	lookups(map[string][]string{
		"userName ada@example.com": {"u1"},
		"userName bob":             {"u2"},
		"externalId E-1":           {"u1", "u2"},
		"externalId e-1":           nil, // externalId is caseExact
		"email ada@work":           {"u1", "u2"},
		"email ada@home":           {"u1"},
		"displayName sales team":   {"g1"},
		"group externalId G-1":     {"g1"},
	})
	update(t, db, func(tx *store.Tx) error {
		if err := tx.UpdateResource(store.TypeUser, "u1", user("u1", "ada@example.com", `,"emails":[{"type":"work","value":"ada@work.example"}]`)); err != nil {
			return err
		}
		if err := tx.UpdateResource(store.TypeGroup, "g1", []byte(`{"id":"g1","displayName":"Marketing"}`)); err != nil {
			return err
		}
		return tx.DeleteResource(store.TypeUser, "u2")
	})
	lookups(map[string][]string{
		"userName ada@example.com": {"u1"},
		"userName bob":             nil,
		"externalId E-1":           nil,
		"email ada@work":           {"u1"},
		"email ada@home":           nil,
		"displayName sales team":   nil,
		"group externalId G-1":     nil,
	})
	view(t, db, func(tx *store.Tx) error {
		if ids := tx.LookupIndex(store.IndexDisplayName, store.TypeGroup, "marketing"); !slices.Equal(ids, []string{"g1"}) {
			t.Errorf("renamed group: index holds %v", ids)
		}
		return nil
	})
}

func nonEmpty(id string) []string {
	if id == "" {
		return nil
	}
	return []string{id}
}

// testUserNameConflict checks that a userName another user holds
// (case-insensitively) is refused with a *store.ConflictError, on create
// and on update, and that the refused write changed nothing.
func testUserNameConflict(t *testing.T, db *store.DB) {
	update(t, db, func(tx *store.Tx) error {
		_, err := tx.CreateResource(store.TypeUser, "u1", user("u1", "ada", `,"externalId":"E-1"`))
		if err != nil {
			return err
		}
		_, err = tx.CreateResource(store.TypeUser, "u2", user("u2", "bob", ""))
		return err
	})
	update(t, db, func(tx *store.Tx) error {
		_, err := tx.CreateResource(store.TypeUser, "u3", user("u3", "ADA", `,"externalId":"E-3"`))
		var ce *store.ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, store.ErrConflict) || ce.Attr != "userName" || ce.Value != "ADA" || ce.Holder != "u1" {
			t.Errorf("create with a taken userName: err = %#v", err)
		}
		if tx.ResourceExists(store.TypeUser, "u3") || tx.LookupIndex(store.IndexExternalID, store.TypeUser, "E-3") != nil {
			t.Error("the refused create left a record or an index entry")
		}
		err = tx.UpdateResource(store.TypeUser, "u2", user("u2", "Ada", ""))
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("update to a taken userName: err = %v", err)
		}
		if got := tx.LookupUserName("bob"); got != "u2" {
			t.Errorf("the refused update released bob: %q", got)
		}
		// A user may change the case of its own userName.
		return tx.UpdateResource(store.TypeUser, "u1", user("u1", "ADA", `,"externalId":"E-1"`))
	})
	view(t, db, func(tx *store.Tx) error {
		if got := tx.LookupUserName("ada"); got != "u1" {
			t.Errorf("userName ada names %q, want u1", got)
		}
		return nil
	})
}

func testMemberships(t *testing.T, db *store.DB) {
	update(t, db, func(tx *store.Tx) error {
		for _, g := range []string{"g1", "g2"} {
			if _, err := tx.CreateResource(store.TypeGroup, g, []byte(`{"id":"`+g+`","displayName":"`+g+`"}`)); err != nil {
				return err
			}
		}
		for _, p := range [][2]string{{"g1", "u2"}, {"g1", "u1"}, {"g2", "u1"}} {
			added, err := tx.AddMember(p[0], p[1], []byte(`{"display":"x"}`))
			if err != nil {
				return err
			}
			if !added {
				t.Errorf("AddMember(%s, %s) on a new pair reported not added", p[0], p[1])
			}
		}
		if added, err := tx.AddMember("g1", "u1", []byte(`{"display":"y"}`)); err != nil || added {
			t.Errorf("AddMember again = %v, %v; want false (JSON replaced)", added, err)
		}
		return nil
	})
	view(t, db, func(tx *store.Tx) error {
		ids, err := tx.MemberIDs("g1")
		if err != nil || !slices.Equal(ids, []string{"u1", "u2"}) {
			t.Errorf("MemberIDs(g1) = %v, %v", ids, err)
		}
		groups, err := tx.GroupsOf("u1")
		if err != nil || !slices.Equal(groups, []string{"g1", "g2"}) {
			t.Errorf("GroupsOf(u1) = %v, %v", groups, err)
		}
		var raw string
		_ = tx.Members("g1", func(id string, m []byte) error {
			if id == "u1" {
				raw = string(m)
			}
			return nil
		})
		if raw != `{"display":"y"}` {
			t.Errorf("member JSON = %q, want the replaced one", raw)
		}
		if !tx.IsMember("g2", "u1") || tx.IsMember("g2", "u2") {
			t.Error("IsMember is wrong")
		}
		return nil
	})
	update(t, db, func(tx *store.Tx) error {
		if ok, err := tx.RemoveMember("g1", "u1"); err != nil || !ok {
			t.Errorf("RemoveMember(g1, u1) = %v, %v", ok, err)
		}
		if ok, err := tx.RemoveMember("g1", "u1"); err != nil || ok {
			t.Errorf("RemoveMember twice = %v, %v; want false", ok, err)
		}
		return nil
	})
	view(t, db, func(tx *store.Tx) error {
		if groups, _ := tx.GroupsOf("u1"); !slices.Equal(groups, []string{"g2"}) {
			t.Errorf("GroupsOf(u1) after removal = %v", groups)
		}
		return nil
	})
}

func testQueue(t *testing.T, db *store.DB) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	update(t, db, func(tx *store.Tx) error {
		for i, id := range []string{"u1", "u2", "u1"} {
			e := &store.Entry{Type: store.TypeUser, ID: id, Op: "upsert", EnqueuedAt: t0.Add(time.Duration(i) * time.Second)}
			if err := tx.Append("c", e); err != nil {
				return err
			}
			if e.Seq != uint64(i+1) {
				t.Errorf("Append gave sequence %d, want %d", e.Seq, i+1)
			}
		}
		return tx.Append("other", &store.Entry{Type: store.TypeGroup, ID: "g1", Op: "delete"})
	})
	seqs := func(after uint64, limit int) []uint64 {
		var out []uint64
		view(t, db, func(tx *store.Tx) error {
			return tx.Entries("c", after, limit, func(e *store.Entry) bool { out = append(out, e.Seq); return true })
		})
		return out
	}
	if got := seqs(0, 0); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("Entries = %v, want [1 2 3]", got)
	}
	if got := seqs(1, 1); !slices.Equal(got, []uint64{2}) {
		t.Errorf("Entries(after 1, limit 1) = %v, want [2]", got)
	}
	view(t, db, func(tx *store.Tx) error {
		if !tx.HasPending("c", store.TypeUser, "u1") || tx.HasPending("c", store.TypeGroup, "g1") || !tx.HasPending("other", store.TypeGroup, "g1") {
			t.Error("HasPending is wrong")
		}
		depth, oldest, err := tx.QueueStats("c")
		if err != nil || depth != 3 || !oldest.Equal(t0) {
			t.Errorf("QueueStats = %d, %v, %v", depth, oldest, err)
		}
		if _, err := tx.GetEntry("c", 9); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetEntry(missing) err = %v, want ErrNotFound", err)
		}
		var raw []uint64
		tx.EachRaw("c", 2, func(seq uint64, v []byte) bool {
			if e, err := store.DecodeEntry(v); err != nil || e.Seq != seq {
				t.Errorf("DecodeEntry(%d) = %+v, %v", seq, e, err)
			}
			raw = append(raw, seq)
			return true
		})
		if !slices.Equal(raw, []uint64{1, 2}) {
			t.Errorf("EachRaw(limit 2) = %v", raw)
		}
		return nil
	})
	update(t, db, func(tx *store.Tx) error {
		e, err := tx.GetEntry("c", 1)
		if err != nil {
			return err
		}
		e.Attempts, e.LastError = 2, "boom"
		if err := tx.PutEntry("c", e); err != nil {
			return err
		}
		for _, seq := range []uint64{1, 3} {
			if err := tx.DeleteEntry("c", &store.Entry{Seq: seq, Type: store.TypeUser, ID: "u1"}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, db, func(tx *store.Tx) error {
		if tx.HasPending("c", store.TypeUser, "u1") {
			t.Error("u1 still pending after its entries were deleted (qidx)")
		}
		if tx.LastSeq("c") != 3 {
			t.Errorf("LastSeq = %d, want 3 (sequences are never reused)", tx.LastSeq("c"))
		}
		return nil
	})
	update(t, db, func(tx *store.Tx) error {
		e := &store.Entry{Type: store.TypeUser, ID: "u3", Op: "upsert"}
		if err := tx.Append("c", e); err != nil {
			return err
		}
		if e.Seq != 4 {
			t.Errorf("Append after deletes gave %d, want 4", e.Seq)
		}
		return nil
	})
}

func testMappings(t *testing.T, db *store.DB) {
	update(t, db, func(tx *store.Tx) error {
		if err := tx.PutMapping("c", store.TypeUser, "u1", store.Mapping{TargetID: "t1", Fields: map[string]any{"email": "a@x"}}); err != nil {
			return err
		}
		if err := tx.PutMapping("c", store.TypeUser, "u2", store.Mapping{TargetID: "t2"}); err != nil {
			return err
		}
		return tx.PutMapping("c", store.TypeGroup, "g1", store.Mapping{TargetID: "t1"})
	})
	view(t, db, func(tx *store.Tx) error {
		m, err := tx.GetMapping("c", store.TypeUser, "u1")
		if err != nil || m.TargetID != "t1" || m.Fields["email"] != "a@x" {
			t.Errorf("GetMapping = %+v, %v", m, err)
		}
		if _, err := tx.GetMapping("other", store.TypeUser, "u1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetMapping(other connector) err = %v, want ErrNotFound", err)
		}
		if got := tx.SCIMID("c", store.TypeUser, "t1"); got != "u1" {
			t.Errorf("SCIMID(User t1) = %q", got)
		}
		if got := tx.SCIMID("c", store.TypeGroup, "t1"); got != "g1" {
			t.Errorf("SCIMID(Group t1) = %q (the reverse map is per type)", got)
		}
		var ids []string
		_ = tx.EachMapping("c", store.TypeUser, func(id string, _ store.Mapping) bool { ids = append(ids, id); return true })
		if !slices.Equal(ids, []string{"u1", "u2"}) {
			t.Errorf("EachMapping = %v", ids)
		}
		return nil
	})
	update(t, db, func(tx *store.Tx) error {
		if err := tx.PutMapping("c", store.TypeUser, "u1", store.Mapping{TargetID: "t9"}); err != nil {
			return err
		}
		return tx.DeleteMapping("c", store.TypeUser, "u2")
	})
	view(t, db, func(tx *store.Tx) error {
		if tx.SCIMID("c", store.TypeUser, "t1") != "" || tx.SCIMID("c", store.TypeUser, "t9") != "u1" {
			t.Error("a new target id did not move the reverse mapping")
		}
		if tx.SCIMID("c", store.TypeUser, "t2") != "" {
			t.Error("DeleteMapping left the reverse mapping")
		}
		if m, err := store.Optional(tx.GetMapping("c", store.TypeUser, "u2")); m != nil || err != nil {
			t.Errorf("Optional(GetMapping(deleted)) = %v, %v; want nil, nil", m, err)
		}
		return nil
	})
}

func testShadows(t *testing.T, db *store.DB) {
	update(t, db, func(tx *store.Tx) error {
		if err := tx.PutShadow("c", store.TypeUser, "u1", store.Shadow{InScope: true, Fields: map[string]any{"a": "b"}}); err != nil {
			return err
		}
		return tx.PutShadow("c", store.TypeGroup, "g1", store.Shadow{})
	})
	update(t, db, func(tx *store.Tx) error {
		sh, err := tx.GetShadow("c", store.TypeUser, "u1")
		if err != nil || !sh.InScope || sh.Fields["a"] != "b" {
			t.Errorf("GetShadow = %+v, %v", sh, err)
		}
		n := 0
		if err := tx.Shadows("c", func(typ, id string, _ store.Shadow) error { n++; return nil }); err != nil || n != 2 {
			t.Errorf("Shadows saw %d, %v", n, err)
		}
		if err := tx.DeleteShadow("c", store.TypeUser, "u1"); err != nil {
			return err
		}
		if _, err := tx.GetShadow("c", store.TypeUser, "u1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetShadow(deleted) err = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testDeadLetters(t *testing.T, db *store.DB) {
	var memberID uint64
	update(t, db, func(tx *store.Tx) error {
		if err := tx.PutDeadLetter("c", &store.DeadLetter{ID: 7, Type: store.TypeUser, SCIMID: "u1", Reason: "400"}); err != nil {
			return err
		}
		d := &store.DeadLetter{ID: 7, Type: store.TypeGroup, SCIMID: "g1", Member: "u1", Reason: "member"}
		if err := tx.PutDeadLetter("c", d); err != nil {
			return err
		}
		memberID = d.ID
		return nil
	})
	if memberID == 7 || memberID>>63 != 1 {
		t.Errorf("a second dead letter for sequence 7 got id %d, want a fresh one above every sequence", memberID)
	}
	view(t, db, func(tx *store.Tx) error {
		var reasons []string
		_ = tx.DeadLetters("c", func(d *store.DeadLetter) error { reasons = append(reasons, d.Reason); return nil })
		if !slices.Equal(reasons, []string{"400", "member"}) {
			t.Errorf("DeadLetters = %v, want oldest first", reasons)
		}
		if n := tx.DeadLetterCount("c"); n != 2 {
			t.Errorf("DeadLetterCount = %d", n)
		}
		d, err := tx.GetDeadLetter("c", memberID)
		if err != nil || d.Member != "u1" {
			t.Errorf("GetDeadLetter = %+v, %v", d, err)
		}
		return nil
	})
	update(t, db, func(tx *store.Tx) error { return tx.DeleteDeadLetter("c", 7) })
	view(t, db, func(tx *store.Tx) error {
		if _, err := tx.GetDeadLetter("c", 7); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetDeadLetter(deleted) err = %v, want ErrNotFound", err)
		}
		return nil
	})
	if id, err := store.ParseDeadLetterID("9223372036854775809"); err != nil || id != 1<<63|1 {
		t.Errorf("ParseDeadLetterID = %d, %v", id, err)
	}
}

func testConnectorState(t *testing.T, db *store.DB) {
	a, b := db.State("a"), db.State("b")
	if v, err := a.Get("token"); v != nil || err != nil {
		t.Errorf("absent key = %q, %v", v, err)
	}
	if err := a.Put("token", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := a.Put("token", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Get("token"); string(v) != "two" {
		t.Errorf("Get after Put = %q", v)
	}
	if v, _ := b.Get("token"); v != nil {
		t.Errorf("state leaked between connectors: %q", v)
	}
}

// testTransactions checks the write contract: an error rolls everything
// back (nothing of the write and its queue entries remains), OnCommit runs
// only after a commit, and Batch commits like Update.
func testTransactions(t *testing.T, db *store.DB) {
	boom := errors.New("boom")
	committed := 0
	err := db.Update(func(tx *store.Tx) error {
		tx.OnCommit(func() { committed++ })
		if _, err := tx.CreateResource(store.TypeUser, "u1", user("u1", "ada", "")); err != nil {
			return err
		}
		if err := tx.Append("c", &store.Entry{Type: store.TypeUser, ID: "u1", Op: "upsert"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || committed != 0 {
		t.Errorf("failed Update: err = %v, OnCommit ran %d times", err, committed)
	}
	view(t, db, func(tx *store.Tx) error {
		if tx.ResourceExists(store.TypeUser, "u1") || tx.LookupUserName("ada") != "" || tx.HasPending("c", store.TypeUser, "u1") {
			t.Error("a rolled-back write left something behind")
		}
		if tx.Writable() {
			t.Error("View's transaction is writable")
		}
		return nil
	})
	err = db.Batch(func(tx *store.Tx) error {
		tx.OnCommit(func() { committed++ })
		_, err := tx.CreateResource(store.TypeUser, "u1", user("u1", "ada", ""))
		return err
	})
	if err != nil || committed != 1 {
		t.Errorf("Batch: err = %v, OnCommit ran %d times", err, committed)
	}
	view(t, db, func(tx *store.Tx) error {
		if tx.LookupUserName("ada") != "u1" {
			t.Error("Batch did not commit")
		}
		return nil
	})
}

// testVerifyFindsDamage makes inconsistencies the API allows (it does
// not check that a group exists before adding a member, nor that a
// mapping names a stored resource) and expects Verify to name them.
func testVerifyFindsDamage(t *testing.T, db *store.DB) {
	update(t, db, func(tx *store.Tx) error {
		if _, err := tx.CreateResource(store.TypeUser, "u1", user("u1", "ada", "")); err != nil {
			return err
		}
		_, err := tx.AddMember("g9", "u1", nil)
		return err
	})
	view(t, db, func(tx *store.Tx) error {
		problems, total := tx.Verify(0)
		if total != 1 || len(problems) != 1 || !strings.Contains(problems[0], "group g9 (member u1) does not exist") {
			t.Errorf("Verify = %d %q, want the missing group", total, problems)
		}
		return nil
	})
}
