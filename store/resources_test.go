package store

import (
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
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
	err := db.Update(func(tx *bolt.Tx) error {
		for _, id := range []string{"c", "a", "b"} {
			if _, err := CreateResource(tx, TypeUser, id, []byte(`{"id":"`+id+`"}`)); err != nil {
				return err
			}
		}
		if _, err := CreateResource(tx, TypeUser, "a", nil); err == nil {
			t.Error("duplicate id accepted")
		}
		return DeleteResource(tx, TypeUser, "a")
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bolt.Tx) error {
		if n := CountResources(tx, TypeUser); n != 2 {
			t.Errorf("count = %d, want 2", n)
		}
		var got []string
		ScanResources(tx, TypeUser, 0, func(id string, doc []byte) (bool, error) {
			got = append(got, id)
			return true, nil
		})
		if !slices.Equal(got, []string{"c", "b"}) {
			t.Errorf("order = %v, want [c b]", got)
		}
		got = nil
		ScanResources(tx, TypeUser, 1, func(id string, doc []byte) (bool, error) {
			got = append(got, id)
			return true, nil
		})
		if !slices.Equal(got, []string{"b"}) {
			t.Errorf("skip 1 = %v, want [b]", got)
		}
		if _, _, err := GetResource(tx, TypeUser, "a"); err != ErrNotFound {
			t.Errorf("deleted resource: err = %v", err)
		}
		return nil
	})
}

func TestIndexes(t *testing.T) {
	db := openTest(t)
	db.Update(func(tx *bolt.Tx) error {
		if ok, _ := PutUserName(tx, "Jane@X.com", "1"); !ok {
			t.Error("first claim refused")
		}
		if ok, _ := PutUserName(tx, "jane@x.COM", "2"); ok {
			t.Error("case-insensitive duplicate accepted")
		}
		if ok, _ := PutUserName(tx, "JANE@x.com", "1"); !ok {
			t.Error("re-claim by holder refused")
		}
		PutIndex(tx, IndexExternalID, TypeUser, "e1", "1")
		PutIndex(tx, IndexExternalID, TypeUser, "e1", "2")
		PutIndex(tx, IndexExternalID, TypeUser, "E1", "3")
		PutIndex(tx, IndexDisplayName, TypeGroup, "Sales", "g1")
		return nil
	})
	db.View(func(tx *bolt.Tx) error {
		if id := LookupUserName(tx, "JANE@x.com"); id != "1" {
			t.Errorf("userName lookup = %q", id)
		}
		if ids := LookupIndex(tx, IndexExternalID, TypeUser, "e1"); !slices.Equal(ids, []string{"1", "2"}) {
			t.Errorf("externalId e1 = %v (caseExact, not unique)", ids)
		}
		if ids := LookupIndex(tx, IndexDisplayName, TypeGroup, "SALES"); !slices.Equal(ids, []string{"g1"}) {
			t.Errorf("displayName = %v", ids)
		}
		return nil
	})
	db.Update(func(tx *bolt.Tx) error {
		DeleteUserName(tx, "jane@x.com", "2") // not the holder: no effect
		if LookupUserName(tx, "jane@x.com") != "1" {
			t.Error("non-holder released the name")
		}
		return DeleteIndex(tx, IndexExternalID, TypeUser, "e1", "1")
	})
}

func TestMembers(t *testing.T) {
	db := openTest(t)
	db.Update(func(tx *bolt.Tx) error {
		for _, u := range []string{"u1", "u2"} {
			if added, err := AddMember(tx, "g", u, []byte(`{}`)); !added || err != nil {
				t.Errorf("add %s: %v %v", u, added, err)
			}
		}
		if added, _ := AddMember(tx, "g", "u1", []byte(`{}`)); added {
			t.Error("re-add reported as new")
		}
		AddMember(tx, "g2", "u1", nil)
		if removed, _ := RemoveMember(tx, "g", "u2"); !removed {
			t.Error("remove u2 not reported")
		}
		if removed, _ := RemoveMember(tx, "g", "u9"); removed {
			t.Error("remove of non-member reported")
		}
		return nil
	})
	db.View(func(tx *bolt.Tx) error {
		if ids, _ := MemberIDs(tx, "g"); !slices.Equal(ids, []string{"u1"}) {
			t.Errorf("members = %v", ids)
		}
		if ids, _ := GroupsOf(tx, "u1"); !slices.Equal(ids, []string{"g", "g2"}) {
			t.Errorf("groupsOf u1 = %v", ids)
		}
		if ids, _ := GroupsOf(tx, "u2"); len(ids) != 0 {
			t.Errorf("groupsOf u2 = %v", ids)
		}
		return nil
	})
}
