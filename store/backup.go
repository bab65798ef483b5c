package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// WriteTo writes a consistent copy of the whole data file to w: one read
// transaction's snapshot (bbolt Tx.WriteTo), taken while writers go on.
// The read transaction lasts as long as w takes, and a long one keeps
// bbolt from reusing freed pages: write to a local file, not a network.
func (db *DB) WriteTo(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Path is the data file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// VerifyFile opens the data file at path read-only (refusing, after a
// second, one a running server holds), checks its layout version and runs
// Verify on it: what a backup must pass before it is trusted. It returns
// the file's layout version with Verify's answer.
func VerifyFile(path string, limit int) (version uint64, problems []string, total int, err error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return 0, nil, 0, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer b.Close()
	err = b.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			return errors.New("no meta bucket: not a scimbridge data file")
		}
		v := meta.Get(schemaVersion)
		if len(v) != 8 {
			return errors.New("meta.schemaVersion is not a version")
		}
		if version = binary.BigEndian.Uint64(v); version > SchemaVersion {
			return fmt.Errorf("layout version %d, this build knows only up to %d", version, SchemaVersion)
		}
		problems, total = Verify(tx, limit)
		return nil
	})
	if err != nil {
		return version, nil, 0, fmt.Errorf("store: %s: %w", path, err)
	}
	return version, problems, total, nil
}
