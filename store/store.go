// Package store keeps scimbridge's durable state in one bbolt file:
// SCIM resources and their indexes, group memberships, per-connector
// queues (the transactional outbox), id mappings and dead letters.
//
// Every SCIM write and the queue entries it owes the connectors commit in
// one bbolt transaction (see Sink), so an acknowledged write is never lost
// and never delivered without being stored.
package store

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DB is the scimbridge data file.
type DB struct {
	bolt *bolt.DB
}

// Open opens (creating if needed) the bbolt file at path.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Batch shares one commit (and one fsync) between concurrent writers:
	// this is how a durable store keeps up with many IdP clients.
	b.MaxBatchDelay = 2 * time.Millisecond
	b.MaxBatchSize = 256
	if err := b.Update(checkSchemaVersion); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return &DB{bolt: b}, nil
}

// SchemaVersion is the layout of the buckets this build reads and writes.
// A file written by a newer build is refused rather than misread; an older
// one is migrated here when the layout changes.
const SchemaVersion = 1

var (
	metaBucket    = []byte("meta")
	schemaVersion = []byte("schemaVersion")
)

// checkSchemaVersion stamps a new file with SchemaVersion and refuses a
// file from a newer build.
func checkSchemaVersion(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	v := b.Get(schemaVersion)
	if v == nil {
		return b.Put(schemaVersion, u64(SchemaVersion))
	}
	if len(v) != 8 {
		return fmt.Errorf("meta.schemaVersion is %d bytes, not a version", len(v))
	}
	if got := binary.BigEndian.Uint64(v); got > SchemaVersion {
		return fmt.Errorf("data file has layout version %d, this build knows only up to %d: run the newer scimbridge", got, SchemaVersion)
	}
	return nil
}

// Bolt exposes the underlying bbolt handle to packages that keep their own
// buckets in the same file (the connectors' queues and id mappings).
func (db *DB) Bolt() *bolt.DB { return db.bolt }

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Update runs fn in a write transaction that may share its commit with
// concurrent callers (bbolt Batch). fn may run more than once if another
// function in the same batch fails, so it must be idempotent apart from its
// effect on tx.
func (db *DB) Update(fn func(tx *bolt.Tx) error) error { return db.bolt.Batch(fn) }

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(tx *bolt.Tx) error) error { return db.bolt.View(fn) }
