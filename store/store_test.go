package store

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *Tx) error {
		if v := tx.btx.Bucket(metaBucket).Get(schemaVersion); string(v) != string(u64(SchemaVersion)) {
			t.Errorf("new file stamped %x, want version %d", v, SchemaVersion)
		}
		return nil
	})
	// A file from a newer build is refused, not misread.
	if err := db.Update(func(tx *Tx) error {
		return tx.btx.Bucket(metaBucket).Put(schemaVersion, u64(SchemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer scimbridge") {
		t.Fatalf("Open of a newer file = %v, want a refusal", err)
	}
}

// The offline commands' read-only open checks the layout version too,
// and never creates a file.
func TestOpenReadOnly(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenReadOnly(filepath.Join(dir, "missing.db"), time.Second); err == nil {
		t.Error("opened a missing file")
	}
	path := filepath.Join(dir, "x.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Tx) error {
		return tx.btx.Bucket(metaBucket).Put(schemaVersion, u64(SchemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := OpenReadOnly(path, time.Second); err == nil || !strings.Contains(err.Error(), "newer scimbridge") {
		t.Errorf("read-only open of a newer file: err = %v", err)
	}
}

// A data file written before the email index existed gets it built when
// it is opened.
func TestEmailIndexBuiltForOlderFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *Tx) error {
		doc := `{"id":"u1","userName":"old","emails":[{"type":"work","value":"old@work.example"}]}`
		if _, err := tx.CreateResource(TypeUser, "u1", []byte(doc)); err != nil {
			return err
		}
		// Back to the layout before the email index.
		if err := tx.btx.DeleteBucket(multiBucketName(IndexEmail, TypeUser)); err != nil {
			return err
		}
		return tx.btx.Bucket(metaBucket).Delete(readyKey(IndexEmail, TypeUser))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *Tx) error {
		if !tx.IndexReady(IndexEmail, TypeUser) {
			t.Error("index not marked ready")
		}
		if ids := tx.LookupIndex(IndexEmail, TypeUser, "OLD@work.example"); !slices.Equal(ids, []string{"u1"}) {
			t.Errorf("index holds %v", ids)
		}
		if _, total := tx.Verify(0); total != 0 {
			t.Errorf("Verify found %d problems", total)
		}
		return nil
	})
}
