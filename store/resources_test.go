package store

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestResourcesOrderCountDelete(t *testing.T) {
	db := openTest(t)
	err := db.Update(func(tx *Tx) error {
		for _, id := range []string{"c", "a", "b"} {
			if _, err := tx.CreateResource(TypeUser, id, []byte(`{"id":"`+id+`"}`)); err != nil {
				return err
			}
		}
		if _, err := tx.CreateResource(TypeUser, "a", nil); err == nil {
			t.Error("duplicate id accepted")
		}
		return tx.DeleteResource(TypeUser, "a")
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		if n := tx.CountResources(TypeUser); n != 2 {
			t.Errorf("count = %d, want 2", n)
		}
		var got []string
		tx.ScanResources(TypeUser, 0, func(id string, doc []byte) (bool, error) {
			got = append(got, id)
			return true, nil
		})
		if !slices.Equal(got, []string{"c", "b"}) {
			t.Errorf("order = %v, want [c b]", got)
		}
		got = nil
		tx.ScanResources(TypeUser, 1, func(id string, doc []byte) (bool, error) {
			got = append(got, id)
			return true, nil
		})
		if !slices.Equal(got, []string{"b"}) {
			t.Errorf("skip 1 = %v, want [b]", got)
		}
		if _, _, err := tx.GetResource(TypeUser, "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted resource: err = %v", err)
		}
		return nil
	})
}

func TestIndexes(t *testing.T) {
	db := openTest(t)
	db.Update(func(tx *Tx) error {
		if ok, _ := tx.putUserName("Jane@X.com", "1"); !ok {
			t.Error("first claim refused")
		}
		if ok, _ := tx.putUserName("jane@x.COM", "2"); ok {
			t.Error("case-insensitive duplicate accepted")
		}
		if ok, _ := tx.putUserName("JANE@x.com", "1"); !ok {
			t.Error("re-claim by holder refused")
		}
		tx.putIndex(IndexExternalID, TypeUser, "e1", "1")
		tx.putIndex(IndexExternalID, TypeUser, "e1", "2")
		tx.putIndex(IndexExternalID, TypeUser, "E1", "3")
		tx.putIndex(IndexDisplayName, TypeGroup, "Sales", "g1")
		return nil
	})
	db.View(func(tx *Tx) error {
		if id := tx.LookupUserName("JANE@x.com"); id != "1" {
			t.Errorf("userName lookup = %q", id)
		}
		if ids := tx.LookupIndex(IndexExternalID, TypeUser, "e1"); !slices.Equal(ids, []string{"1", "2"}) {
			t.Errorf("externalId e1 = %v (caseExact, not unique)", ids)
		}
		if ids := tx.LookupIndex(IndexDisplayName, TypeGroup, "SALES"); !slices.Equal(ids, []string{"g1"}) {
			t.Errorf("displayName = %v", ids)
		}
		return nil
	})
	db.Update(func(tx *Tx) error {
		tx.deleteUserName("jane@x.com", "2") // not the holder: no effect
		if tx.LookupUserName("jane@x.com") != "1" {
			t.Error("non-holder released the name")
		}
		return tx.deleteIndex(IndexExternalID, TypeUser, "e1", "1")
	})
}

func TestMembers(t *testing.T) {
	db := openTest(t)
	db.Update(func(tx *Tx) error {
		for _, u := range []string{"u1", "u2"} {
			if added, err := tx.AddMember("g", u, []byte(`{}`)); !added || err != nil {
				t.Errorf("add %s: %v %v", u, added, err)
			}
		}
		if added, _ := tx.AddMember("g", "u1", []byte(`{}`)); added {
			t.Error("re-add reported as new")
		}
		tx.AddMember("g2", "u1", nil)
		if removed, _ := tx.RemoveMember("g", "u2"); !removed {
			t.Error("remove u2 not reported")
		}
		if removed, _ := tx.RemoveMember("g", "u9"); removed {
			t.Error("remove of non-member reported")
		}
		return nil
	})
	db.View(func(tx *Tx) error {
		if ids, _ := tx.MemberIDs("g"); !slices.Equal(ids, []string{"u1"}) {
			t.Errorf("members = %v", ids)
		}
		if ids, _ := tx.GroupsOf("u1"); !slices.Equal(ids, []string{"g", "g2"}) {
			t.Errorf("groupsOf u1 = %v", ids)
		}
		if ids, _ := tx.GroupsOf("u2"); len(ids) != 0 {
			t.Errorf("groupsOf u2 = %v", ids)
		}
		return nil
	})
}
