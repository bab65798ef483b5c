package store

import (
	"path/filepath"
	"strings"
	"testing"
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
