package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// WriteTo's copy is a data file VerifyFile accepts, with its layout
// version; a bbolt file that no server opened is not a backup.
func TestWriteToAndVerifyFile(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Path() != filepath.Join(dir, "live.db") {
		t.Errorf("Path = %s", db.Path())
	}
	var buf bytes.Buffer
	n, err := db.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("WriteTo: %d bytes (buffer %d), %v", n, buf.Len(), err)
	}
	copyPath := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	version, problems, total, err := VerifyFile(copyPath, 10)
	if err != nil || total != 0 || len(problems) != 0 || version != SchemaVersion {
		t.Errorf("VerifyFile(copy) = %d %q %d %v", version, problems, total, err)
	}

	bare := filepath.Join(dir, "bare.db")
	b, err := bolt.Open(bare, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, _, _, err := VerifyFile(bare, 10); err == nil || !strings.Contains(err.Error(), "not a scimbridge data file") {
		t.Errorf("VerifyFile(bare bbolt file) = %v", err)
	}
	if _, _, _, err := VerifyFile(filepath.Join(dir, "missing.db"), 10); err == nil {
		t.Error("VerifyFile(missing) = nil")
	}
}
