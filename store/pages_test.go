package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A data file with one byte of one page damaged anywhere opens or is
// refused with an error (ErrCorrupt for damaged pages), for the server and
// for the offline commands: never a crash or a hang (bbolt's own walk at
// Open panics in a goroutine of its own), and a refused file is left
// unlocked. The seeds under testdata/fuzz are damage that once got past
// the check: a key out of order, a key or an inline bucket reaching past
// its page, a branch key longer than it was.
//
//	go test ./store -run '^$' -fuzz FuzzOpenDamagedFile -fuzztime 2m
func FuzzOpenDamagedFile(f *testing.F) {
	src := filepath.Join(f.TempDir(), "src.db")
	db, err := Open(src)
	if err != nil {
		f.Fatal(err)
	}
	pad := strings.Repeat("x", 74) // the file the seeds were found on
	for i := range 300 {
		id := fmt.Sprintf("u%04d", i)
		err := db.Update(func(tx *Tx) error {
			_, err := tx.CreateResource(TypeUser, id, []byte(`{"id":"`+id+`","userName":"`+id+`@x","displayName":"`+pad+`"}`))
			return err
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	db.Close()
	clean, err := os.ReadFile(src)
	if err != nil {
		f.Fatal(err)
	}
	pages := uint32(len(clean) / 4096)
	f.Add(uint32(5), uint16(20), byte(0xff))
	f.Fuzz(func(t *testing.T, page uint32, offset uint16, flip byte) {
		raw := append([]byte(nil), clean...)
		raw[int(2+page%(pages-2))*4096+int(offset%4096)] ^= flip | 1
		path := filepath.Join(t.TempDir(), "data.db")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		// Any answer but a crash, a hang or a lock left behind: a damaged
		// byte may also read as another layout version, or a record that
		// does not decode (which Open's migrations report).
		if db, err := Open(path); err == nil {
			db.Close()
		}
		ro, err := OpenReadOnly(path, 100*time.Millisecond)
		if err == nil {
			ro.Close()
		} else if errors.Is(err, ErrLocked) {
			t.Fatalf("OpenReadOnly after Open: %v: a refused file must not stay locked", err)
		}
	})
}
