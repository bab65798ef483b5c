package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Open's failures say why, as store errors, without the engine's types.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	held := filepath.Join(dir, "held.db")
	db, err := Open(held)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := OpenReadOnly(held, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("a file another handle holds: %v, want ErrLocked", err)
	}
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a database "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(junk); !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrLocked) {
		t.Errorf("a file of junk: %v, want ErrCorrupt", err)
	}
}
