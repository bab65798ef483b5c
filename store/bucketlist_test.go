package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// splitBucketList gives db's bucket list the shape a young file's takes:
// split while small buckets sat inline in it, then left in pieces once
// they moved to pages of their own. It returns every key it wrote.
func splitBucketList(t *testing.T, db *DB, buckets int, nameLen int) map[string]int {
	t.Helper()
	keys := map[string]int{}
	put := func(round int) {
		err := db.update(func(tx boltTx) error {
			for i := range buckets {
				name := fmt.Sprintf("t%0*d", nameLen-1, i)
				b, err := tx.CreateBucketIfNotExists([]byte(name))
				if err != nil {
					return err
				}
				// Four records of 200 bytes a round: the first round
				// keeps each bucket inline (under a quarter page), the
				// second moves it out.
				for k := range 4 {
					key := fmt.Sprintf("r%d-%d", round, k)
					if err := b.Put([]byte(key), bytes.Repeat([]byte{'v'}, 200)); err != nil {
						return err
					}
					keys[name]++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(0)
	put(1)
	return keys
}

func bucketListState(t *testing.T, db *DB) (split bool, keys map[string]int) {
	t.Helper()
	keys = map[string]int{}
	err := db.update(func(tx boltTx) error { // tx.Page needs a writer
		split = bucketListSplit(tx.tx)
		return tx.ForEach(func(name []byte, b *bucket) error {
			if name[0] != 't' {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				keys[string(name)]++
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return split, keys
}

func TestMergeBucketList(t *testing.T) {
	cases := []struct {
		name      string
		buckets   int
		nameLen   int
		wantSplit bool // after the merge
	}{
		{"pieces that fit one page are joined", 12, 8, false},
		{"a list too big for one page stays split", 150, 60, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := Open(filepath.Join(t.TempDir(), "data.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.SetNoSync(true)
			want := splitBucketList(t, db, c.buckets, c.nameLen)
			if split, _ := bucketListState(t, db); !split {
				t.Fatal("setup: the bucket list did not split")
			}
			var changed bool
			if err := db.update(func(tx boltTx) (err error) {
				changed, err = mergeBucketList(tx)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if !changed {
				t.Error("mergeBucketList reported no change on a split list")
			}
			split, got := bucketListState(t, db)
			if split != c.wantSplit {
				t.Errorf("split after the merge = %v, want %v", split, c.wantSplit)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("records after the merge:\n%v\nwant\n%v", got, want)
			}
			if err := db.CheckPages(); err != nil {
				t.Errorf("page check after the merge: %v", err)
			}
		})
	}
}

// Update merges a split list by itself, within bucketListCheckEvery
// commits, so a server that never restarts gets the one-page list too.
func TestUpdateMergesSplitBucketList(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetNoSync(true)
	splitBucketList(t, db, 12, 8)
	for range bucketListCheckEvery {
		if err := db.Update(func(tx *Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if split, _ := bucketListState(t, db); split {
		t.Errorf("bucket list still split after %d Updates", bucketListCheckEvery)
	}
}

// Open merges the list of a file closed with it split.
func TestOpenMergesSplitBucketList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetNoSync(true)
	splitBucketList(t, db, 12, 8)
	if split, _ := bucketListState(t, db); !split {
		t.Fatal("setup: the bucket list did not split")
	}
	db.Close()
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if split, _ := bucketListState(t, db); split {
		t.Error("bucket list still split after Open")
	}
}
