package store

import (
	"slices"
	"testing"
)

func TestOrderedReads(t *testing.T) {
	db := openTest(t)
	users := map[string]string{"u1": "carol", "u2": "Alice", "u3": "bob", "u4": "dave"}
	var seqs []uint64
	err := db.Update(func(tx *Tx) error {
		for _, id := range []string{"u1", "u2", "u3", "u4"} {
			seq, err := tx.CreateResource(TypeUser, id, []byte(`{"id":"`+id+`","userName":"`+users[id]+`"}`))
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		for _, g := range []struct{ id, name string }{{"g1", "Sales"}, {"g2", "admins"}, {"g3", "sales"}} {
			if _, err := tx.CreateResource(TypeGroup, g.id, []byte(`{"id":"`+g.id+`","displayName":"`+g.name+`"}`)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	collect := func(tx *Tx, after uint64, skip int) (ids []string, got []uint64) {
		tx.ScanResourcesAfter(TypeUser, after, skip, func(seq uint64, id string, doc []byte) (bool, error) {
			ids, got = append(ids, id), append(got, seq)
			return true, nil
		})
		return ids, got
	}
	index := func(tx *Tx, index, typ string, desc bool, skip int) (ids []string) {
		tx.ScanIndexOrder(index, typ, desc, skip, func(id string) (bool, error) {
			ids = append(ids, id)
			return len(ids) < 3, nil
		})
		return ids
	}
	db.View(func(tx *Tx) error {
		if ids, got := collect(tx, 0, 0); !slices.Equal(ids, []string{"u1", "u2", "u3", "u4"}) || !slices.Equal(got, seqs) {
			t.Errorf("from the start: %v %v", ids, got)
		}
		if ids, _ := collect(tx, seqs[1], 0); !slices.Equal(ids, []string{"u3", "u4"}) {
			t.Errorf("after the 2nd: %v", ids)
		}
		if ids, _ := collect(tx, seqs[0], 2); !slices.Equal(ids, []string{"u4"}) {
			t.Errorf("after the 1st, skip 2: %v", ids)
		}
		if got := index(tx, "userName", TypeUser, false, 0); !slices.Equal(got, []string{"u2", "u3", "u1"}) {
			t.Errorf("userName ascending (stops at 3): %v", got)
		}
		if got := index(tx, "userName", TypeUser, true, 1); !slices.Equal(got, []string{"u1", "u3", "u2"}) {
			t.Errorf("userName descending, skip 1: %v", got)
		}
		if got := index(tx, IndexDisplayName, TypeGroup, false, 0); !slices.Equal(got, []string{"g2", "g1", "g3"}) {
			t.Errorf("displayName ascending, ties by id: %v", got)
		}
		return nil
	})
	// OrderState: a create raises both, a delete the count only.
	var c0, c1 int
	var s0, s1 uint64
	db.View(func(tx *Tx) error { c0, s0 = tx.OrderState(TypeUser); return nil })
	db.Update(func(tx *Tx) error {
		if err := tx.DeleteResource(TypeUser, "u2"); err != nil {
			return err
		}
		_, err := tx.CreateResource(TypeUser, "u5", []byte(`{"id":"u5","userName":"eve"}`))
		return err
	})
	db.View(func(tx *Tx) error { c1, s1 = tx.OrderState(TypeUser); return nil })
	if c0 != 4 || c1 != 4 || s1 != s0+1 || c1 == c0+int(s1-s0) {
		t.Errorf("OrderState %d/%d then %d/%d: a delete must show", c0, s0, c1, s1)
	}
}
