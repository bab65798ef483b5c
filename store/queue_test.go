package store

import (
	"path/filepath"
	"testing"
	"time"
)

func openQueueDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustUpdate(t *testing.T, db *DB, fn func(tx *Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestQueueOrderIndexAndStats(t *testing.T) {
	db := openQueueDB(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	entries := []*Entry{
		{Type: TypeUser, ID: "u1", Op: "upsert", EnqueuedAt: t0},
		{Type: TypeGroup, ID: "g1", Op: "upsert", MembersAdded: []string{"u1"}, EnqueuedAt: t0.Add(time.Second)},
		{Type: TypeUser, ID: "u1", Op: "delete", EnqueuedAt: t0.Add(2 * time.Second)},
		{Type: TypeUser, ID: "u10", Op: "upsert", EnqueuedAt: t0.Add(3 * time.Second)},
	}
	mustUpdate(t, db, func(tx *Tx) error {
		for _, e := range entries {
			if err := tx.Append("c", e); err != nil {
				return err
			}
		}
		return nil
	})
	for i, e := range entries {
		if e.Seq != uint64(i+1) {
			t.Errorf("entry %d: seq %d, want %d", i, e.Seq, i+1)
		}
	}
	_ = db.View(func(tx *Tx) error {
		var seqs []uint64
		if err := tx.Entries("c", 1, 2, func(e *Entry) bool { seqs = append(seqs, e.Seq); return true }); err != nil {
			t.Fatal(err)
		}
		if len(seqs) != 2 || seqs[0] != 2 || seqs[1] != 3 {
			t.Errorf("Entries after 1, limit 2: %v, want [2 3]", seqs)
		}
		depth, oldest, err := tx.QueueStats("c")
		if err != nil || depth != 4 || !oldest.Equal(t0) {
			t.Errorf("stats = %d, %v, %v; want 4, %v", depth, oldest, err, t0)
		}
		tests := []struct {
			typ, id string
			want    bool
		}{
			{TypeUser, "u1", true},
			{TypeUser, "u", false}, // a prefix of u1 and u10 is not pending
			{TypeUser, "u10", true},
			{TypeGroup, "g1", true},
			{TypeGroup, "u1", false},
		}
		for _, tc := range tests {
			if got := tx.HasPending("c", tc.typ, tc.id); got != tc.want {
				t.Errorf("HasPending(%s, %s) = %v, want %v", tc.typ, tc.id, got, tc.want)
			}
		}
		return nil
	})
	// Deleting u1's entries clears its index; u10 stays.
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.DeleteEntry("c", entries[0]); err != nil {
			return err
		}
		return tx.DeleteEntry("c", entries[2])
	})
	_ = db.View(func(tx *Tx) error {
		if tx.HasPending("c", TypeUser, "u1") {
			t.Error("u1 still pending after its entries were deleted")
		}
		if !tx.HasPending("c", TypeUser, "u10") {
			t.Error("u10 no longer pending")
		}
		e, err := tx.GetEntry("c", 4)
		if err != nil || e == nil || e.ID != "u10" {
			t.Errorf("GetEntry(4) = %+v, %v", e, err)
		}
		return nil
	})
}

func TestMappingsBothWays(t *testing.T) {
	db := openQueueDB(t)
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMapping("c", TypeUser, "u1", Mapping{TargetID: "t1", Fields: map[string]any{"a": "b"}}); err != nil {
			return err
		}
		// A new target id replaces the reverse entry of the old one.
		return tx.PutMapping("c", TypeUser, "u1", Mapping{TargetID: "t2"})
	})
	_ = db.View(func(tx *Tx) error {
		m, err := tx.GetMapping("c", TypeUser, "u1")
		if err != nil || m == nil || m.TargetID != "t2" {
			t.Errorf("mapping = %+v, %v", m, err)
		}
		if got := tx.SCIMID("c", TypeUser, "t1"); got != "" {
			t.Errorf("old target id still maps to %q", got)
		}
		if got := tx.SCIMID("c", TypeUser, "t2"); got != "u1" {
			t.Errorf("SCIMID(t2) = %q, want u1", got)
		}
		if m, _ := tx.GetMapping("other", TypeUser, "u1"); m != nil {
			t.Errorf("mapping leaked to another connector: %+v", m)
		}
		return nil
	})
	mustUpdate(t, db, func(tx *Tx) error { return tx.DeleteMapping("c", TypeUser, "u1") })
	_ = db.View(func(tx *Tx) error {
		if m, _ := tx.GetMapping("c", TypeUser, "u1"); m != nil {
			t.Errorf("mapping after delete: %+v", m)
		}
		if got := tx.SCIMID("c", TypeUser, "t2"); got != "" {
			t.Errorf("reverse mapping after delete: %q", got)
		}
		return nil
	})
}

func TestDeadLettersAndShadows(t *testing.T) {
	db := openQueueDB(t)
	mustUpdate(t, db, func(tx *Tx) error {
		for _, d := range []*DeadLetter{
			{ID: 7, Type: TypeUser, SCIMID: "u1", Reason: "bad"},
			{ID: 7, Type: TypeGroup, SCIMID: "g1", Member: "u2", Reason: "member"}, // same seq: gets its own id
			{Type: TypeUser, SCIMID: "u3", Reason: "mapping"},
		} {
			if err := tx.PutDeadLetter("c", d); err != nil {
				return err
			}
		}
		if err := tx.PutShadow("c", TypeUser, "u1", Shadow{InScope: true, Fields: map[string]any{"x": 1.0}}); err != nil {
			return err
		}
		return tx.PutShadow("c", TypeGroup, "g/1", Shadow{})
	})
	_ = db.View(func(tx *Tx) error {
		if n := tx.DeadLetterCount("c"); n != 3 {
			t.Errorf("dead letters = %d, want 3", n)
		}
		var ids []uint64
		_ = tx.DeadLetters("c", func(d *DeadLetter) error { ids = append(ids, d.ID); return nil })
		if len(ids) != 3 || ids[0] != 7 || ids[1] == 7 || ids[2] == 7 {
			t.Errorf("ids = %v, want 7 and two fresh ones", ids)
		}
		got := map[string]bool{}
		_ = tx.Shadows("c", func(typ, id string, s Shadow) error { got[typ+"|"+id] = s.InScope; return nil })
		if len(got) != 2 || !got["User|u1"] || got["Group|g/1"] {
			t.Errorf("shadows = %v", got)
		}
		return nil
	})
	mustUpdate(t, db, func(tx *Tx) error { return tx.DeleteDeadLetter("c", 7) })
	_ = db.View(func(tx *Tx) error {
		if d, _ := tx.GetDeadLetter("c", 7); d != nil {
			t.Errorf("dead letter 7 after delete: %+v", d)
		}
		return nil
	})
}

func TestConnectorState(t *testing.T) {
	db := openQueueDB(t)
	s := db.State("scc")
	if v, err := s.Get("refresh"); v != nil || err != nil {
		t.Fatalf("absent key: %q, %v", v, err)
	}
	if err := s.Put("refresh", []byte("r1")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("refresh"); string(v) != "r1" {
		t.Errorf("Get = %q, want r1", v)
	}
	if v, _ := db.State("webex").Get("refresh"); v != nil {
		t.Errorf("state leaked between connectors: %q", v)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte(`{"seq":1,"type":"User","id":"u1","op":"upsert","fields":{"a":1}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEntry(data)
		if err != nil {
			return
		}
		// What decodes must survive a round trip through the queue.
		db := openQueueDB(t)
		mustUpdate(t, db, func(tx *Tx) error { return tx.Append("c", e) })
		_ = db.View(func(tx *Tx) error {
			got, err := tx.GetEntry("c", e.Seq)
			if err != nil || got == nil || got.Key() != e.Key() {
				t.Errorf("round trip: %+v, %v; want key %q", got, err, e.Key())
			}
			return nil
		})
	})
}
