package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestCompactKeepsDataAndShrinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket([]byte("users"))
		for i := 0; i < 20000; i++ {
			if err := b.Put([]byte(fmt.Sprintf("%06d", i)), bytes.Repeat([]byte("x"), 200)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error { // free most pages
			b := tx.Bucket([]byte("users"))
			for i := 10; i < 20000; i++ {
				if err := b.Delete([]byte(fmt.Sprintf("%06d", i))); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.Stat(path)
	var out bytes.Buffer
	if err := compact(path, &out); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if after.Size() >= before.Size() {
		t.Errorf("not smaller: %d -> %d", before.Size(), after.Size())
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket([]byte("users")).Stats().KeyN; n != 10 {
			t.Errorf("keys after compact = %d, want 10", n)
		}
		return nil
	})
}
