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
// second, one a running server holds; and one from a newer build), and
// runs Verify on it: what a backup must pass before it is trusted. It
// returns the file's layout version with Verify's answer.
func VerifyFile(path string, limit int) (version uint64, problems []string, total int, err error) {
	db, err := OpenReadOnly(path, time.Second)
	if err != nil {
		return 0, nil, 0, err
	}
	defer db.Close()
	err = db.View(func(tx *Tx) error {
		meta := tx.btx.Bucket(metaBucket)
		if meta == nil {
			return errors.New("no layout version: not a scimbridge data file")
		}
		if v := meta.Get(schemaVersion); len(v) == 8 {
			version = binary.BigEndian.Uint64(v)
		}
		problems, total = tx.Verify(limit)
		return nil
	})
	if err != nil {
		return 0, nil, 0, fmt.Errorf("store: %s: %w", path, err)
	}
	return version, problems, total, nil
}
