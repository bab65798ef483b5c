package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/internal/testkit"
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
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(empty); err != nil {
		t.Errorf("an empty file (a first start cut short): %v, want it initialised", err)
	} else {
		db.Close()
	}
}

// The server's Open rebuilds bbolt's free page list by walking the file
// (the list is not written by commits): a damaged page met on that walk is
// ErrCorrupt, not a panic, and so it is for the offline commands. Its
// commits write no free list, and the file still opens read-only,
// verifies, and opens again with every record.
func TestOpenRebuildsFreeList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const users = 500
	for i := range users {
		id := fmt.Sprintf("u%04d", i)
		err := db.Update(func(tx *Tx) error {
			_, err := tx.CreateResource(TypeUser, id, []byte(`{"id":"`+id+`","userName":"`+id+`@example.com","displayName":"`+strings.Repeat("x", 200)+`"}`))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := db.bolt.Stats(); st.FreePageN+st.PendingPageN == 0 {
		t.Fatalf("no free pages after %d commits: the test needs some", users)
	}
	db.Close()
	// Both meta pages name no free-list page (bbolt's "none": all ones).
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for slot := range 2 {
		if fl := binary.NativeEndian.Uint64(raw[slot*4096+pageHeader+32:]); fl != ^uint64(0) {
			t.Errorf("meta page %d names free-list page %d: commits still write the list", slot, fl)
		}
	}

	if _, problems, _, err := VerifyFile(path, 10); err != nil || len(problems) > 0 {
		t.Errorf("verify: %v %v", problems, err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		if n := tx.CountResources(TypeUser); n != users {
			t.Errorf("reopened: %d users, want %d", n, users)
		}
		return nil
	})
	db.Close()

	testkit.DamageLeafPages(t, path)
	if _, err := Open(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a file with damaged pages: %v, want ErrCorrupt", err)
	}
	// The offline commands (verify, compact, a backup's check) too.
	if _, err := OpenReadOnly(path, time.Second); !errors.Is(err, ErrCorrupt) {
		t.Errorf("read-only, a file with damaged pages: %v, want ErrCorrupt", err)
	}
	if _, _, _, err := VerifyFile(path, 10); !errors.Is(err, ErrCorrupt) {
		t.Errorf("VerifyFile, a file with damaged pages: %v, want ErrCorrupt", err)
	}
}

// CheckPages finds a page damaged under a running server (the admin API's
// verify runs it before Verify, whose reads would panic on the page).
func TestCheckPagesOnTheLiveFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *Tx) error {
		_, err := tx.CreateResource(TypeUser, "u1", []byte(`{"id":"u1","userName":"a@x"}`))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckPages(); err != nil {
		t.Fatalf("sound file: %v", err)
	}
	testkit.DamageLeafPages(t, path)
	if err := db.CheckPages(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged under the server: %v, want ErrCorrupt", err)
	}
}
