package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Why a data file cannot be opened, for callers that explain it to
// people (the start-up messages) without knowing the engine's errors.
var (
	// ErrLocked: another process holds the file's lock.
	ErrLocked = errors.New("data file locked by another process")
	// ErrCorrupt: the file is not a valid data file (bad header,
	// version or checksum).
	ErrCorrupt = errors.New("data file damaged or not a bbolt file")
)

// openError tags bbolt's open errors with ErrLocked or ErrCorrupt,
// keeping bbolt's own error (and message) as what it wraps.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		err = &openFailure{kind: ErrLocked, err: err}
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
		err = &openFailure{kind: ErrCorrupt, err: err}
	}
	return fmt.Errorf("store: open %s: %w", path, err)
}

// openFailure is bbolt's error that also matches its kind (errors.Is).
type openFailure struct{ kind, err error }

func (e *openFailure) Error() string        { return e.err.Error() }
func (e *openFailure) Unwrap() error        { return e.err }
func (e *openFailure) Is(target error) bool { return target == e.kind }

// DB is the scimbridge data file.
type DB struct {
	bolt    *bolt.DB
	updates atomic.Uint64 // Updates committed: when to look at the bucket list (bucketlist.go)
	log     *writeLog     // the write-ahead log (wal.go); nil where bbolt's own fsyncs make commits durable
	closing sync.Once
}

// Open opens (creating if needed) the bbolt file at path for the server:
// read-write, stamped with or checked against SchemaVersion.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	// A log left by a server that did not stop cleanly is replayed first.
	b, err := recoverLog(path, 5*time.Second, mapReserve)
	if err == nil && b == nil {
		b, err = openWritable(path, mapReserve)
	}
	if err != nil {
		return nil, openError(path, err)
	}
	// For DB.Batch: the connectors record their deliveries through it, so
	// concurrent lanes share one commit (and one fsync). IdP writes do not:
	// scim's group commit gathers them into exclusive Updates itself.
	b.MaxBatchDelay = 2 * time.Millisecond
	b.MaxBatchSize = 256
	if err := b.Update(checkSchemaVersion); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	db := &DB{bolt: b}
	// The bucket list's check (bucketlist.go) comes due at the first
	// Update, so a file opens with its list merged.
	db.updates.Store(bucketListCheckEvery - 1)
	if err := db.Update(migrateActivityIndex); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: %s: activity index: %w", path, err)
	}
	if err := db.Update(buildEmailIndex); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: %s: build email index: %w", path, err)
	}
	if err := db.startLog(); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: %s: write-ahead log: %w", path, err)
	}
	return db, nil
}

// openWritable opens path for the server without bbolt's freelist sync.
//
// bbolt's default rewrites the whole list of free pages in every commit:
// one page more per SCIM write's commit on a fresh file, and on a file
// with many free pages (after a large deprovisioning) dozens of pages and
// a sort of them all, which doubles a commit's cost (`go test ./store -run
// '^$' -bench CommitWithFreePages`). Instead bbolt rebuilds the list at
// open by walking the file: tens of milliseconds per 100 MB. A file
// written so opens in any bbolt (an older scimbridge rebuilds the list
// the same way, and writes it again).
//
// bbolt's walk asserts that every page is sound, in a goroutine of its
// own, so a damaged page would crash the process with a panic. walkPages
// reads the same pages first where a damaged one is an error (ErrCorrupt).
//
// mapSize is the address space mapped for the file up front (bbolt's
// InitialMmapSize): while the file fits, bbolt never remaps it, which it
// could not do while the write-ahead log's snapshot is open (wal.go).
// The free-page list is bbolt's hash map: while the snapshot is pinned
// freed pages pile up, and the array list copied all of them at every
// commit (22 KB a PATCH, BenchmarkPatchHandler); the map adds only what
// each commit frees.
func openWritable(path string, mapSize int64) (b *bolt.DB, err error) {
	// An empty file (a first start cut short) is bbolt's to initialise.
	if info, err := os.Stat(path); err == nil && info.Size() > 0 {
		if err := walkPages(path); err != nil {
			return nil, err
		}
	}
	// What the walk cannot see (a page number past the file's last page)
	// bbolt's own walk reports by panicking in this goroutine. The file is
	// then open inside bbolt, holding its lock: closing it lets go.
	var file *os.File
	defer func() {
		if p := recover(); p != nil {
			if file != nil {
				file.Close()
			}
			b, err = nil, &openFailure{kind: ErrCorrupt, err: fmt.Errorf("rebuilding the free page list: %v", p)}
		}
	}()
	if strconv.IntSize < 64 {
		mapSize = 0 // no address space to spare (and no log: startLog)
	}
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, InitialMmapSize: int(mapSize), FreelistType: bolt.FreelistMapType,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		}})
}

// OpenReadOnly opens an existing file for the offline commands (verify,
// compact, plan). It shares the file with other readers but waits at most
// timeout for a writer (a running server) to let go, and refuses a file
// from a newer build as Open does. It never creates or changes the file.
func OpenReadOnly(path string, timeout time.Duration) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// What a server that did not stop cleanly left in its log is applied
	// first: the file alone may be missing it.
	if b, err := recoverLog(path, timeout, 0); err != nil {
		return nil, openError(path, err)
	} else if b != nil {
		b.Close()
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		return nil, openError(path, err)
	}
	// The offline commands exist to look at a file that may be damaged:
	// they say so instead of crashing on the page.
	if err := checkPages(b); err != nil {
		b.Close()
		return nil, openError(path, err)
	}
	if err := b.View(checkSchemaVersion); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return &DB{bolt: b}, nil
}

// CompactTo writes a compacted copy of the file (live data only, pages
// packed) to a new file at path, which must not exist yet.
func (db *DB) CompactTo(path string) error {
	dst, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	if err := bolt.Compact(dst, db.bolt, 64<<20); err != nil {
		dst.Close()
		return fmt.Errorf("store: compact: %w", err)
	}
	return dst.Close()
}

// SchemaVersion is the layout of the buckets this build reads and writes.
// A file written by a newer build is refused rather than misread; an older
// one is migrated here when the layout changes.
//
// 2: activity events are indexed after their transaction (act/log values
// may carry names; meta "activityIndexed" is the index's watermark).
const SchemaVersion = 2

var (
	metaBucket    = []byte("meta")
	schemaVersion = []byte("schemaVersion")
)

// checkSchemaVersion stamps a new file with SchemaVersion and refuses a
// file from a newer build. In a read-only transaction it only checks.
func checkSchemaVersion(tx *bolt.Tx) error {
	b := tx.Bucket(metaBucket)
	if b == nil && tx.Writable() {
		var err error
		if b, err = tx.CreateBucketIfNotExists(metaBucket); err != nil {
			return err
		}
	}
	var v []byte
	if b != nil {
		v = b.Get(schemaVersion)
	}
	if v == nil {
		if !tx.Writable() {
			return nil // never opened by a server: nothing to misread
		}
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

// Close closes the file.
func (db *DB) Close() error {
	var err error
	db.closing.Do(func() { err = db.stopLog() })
	if cerr := db.bolt.Close(); err == nil {
		err = cerr
	}
	return err
}

// Tx is a transaction on the data file. Its methods read and write the
// store's buckets; a write and the queue entries it owes commit together
// because both go through the same Tx. A Tx is valid only inside the
// function it is given to.
type Tx struct {
	btx   boltTx
	after *[]func() // OnCommit's functions, run once the commit is durable; nil in View
}

// Writable reports whether tx can write.
func (tx *Tx) Writable() bool { return tx.btx.Writable() }

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(tx *Tx) error) error {
	return db.bolt.View(func(b *bolt.Tx) error { return fn(&Tx{btx: boltTx{tx: b}}) })
}

// Update runs fn alone in a write transaction, committed (and synced)
// when Update returns. fn runs exactly once; an error rolls it back.
func (db *DB) Update(fn func(tx *Tx) error) error {
	split := false
	var after []func()
	err := db.update(func(tx boltTx) error {
		after = after[:0]
		if err := fn(&Tx{btx: tx, after: &after}); err != nil {
			return err
		}
		split = db.updates.Add(1)%bucketListCheckEvery == 0 && bucketListSplit(tx.tx)
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range after {
		f()
	}
	if split {
		db.mergeBucketList()
	}
	return nil
}

// update runs fn in a write transaction of its own and returns once its
// commit is durable: every write goes through here or Batch, so the
// write-ahead log sees every commit.
func (db *DB) update(fn func(tx boltTx) error) error {
	if err := db.log.err(); err != nil {
		return err
	}
	var rec *txRecord
	err := db.bolt.Update(func(b *bolt.Tx) error {
		rec = db.log.begin(b)
		return fn(boltTx{tx: b, rec: rec})
	})
	if err != nil {
		return err
	}
	return db.log.wait(rec)
}

// Batch runs fn in a write transaction that may share its commit (and its
// fsync) with concurrent callers (bbolt's Batch). fn may run more than
// once if another function in the same batch fails, so it must be
// idempotent and act only through tx: no side effects until Batch
// returns.
func (db *DB) Batch(fn func(tx *Tx) error) error {
	if err := db.log.err(); err != nil {
		return err
	}
	var rec *txRecord
	var after []func()
	err := db.bolt.Batch(func(b *bolt.Tx) error {
		rec = db.log.begin(b)
		after = after[:0] // a batch that failed may run fn again
		return fn(&Tx{btx: boltTx{tx: b, rec: rec}, after: &after})
	})
	if err == nil {
		err = db.log.wait(rec)
	}
	if err != nil {
		return err
	}
	for _, f := range after {
		f()
	}
	return nil
}

// OnCommit runs fn after tx commits (never if it rolls back): the place
// for a side effect of a write, such as waking a worker.
//
// It runs once the commit is durable (after the write-ahead log's flush),
// in the goroutine that called Update or Batch, before that returns: a
// worker woken by it never acts on a change a power cut could still undo.
func (tx *Tx) OnCommit(fn func()) {
	if tx.after != nil {
		*tx.after = append(*tx.after, fn)
	}
}

// WaitDurable returns once every commit made so far is on disk. A reader
// that sends what it read out of the process (a connector delivering a
// queue entry) calls it after its read: a commit is visible to readers
// from bbolt's commit on, a little before the log has flushed it.
func (db *DB) WaitDurable() error {
	if db.log == nil {
		return nil
	}
	tx, err := db.bolt.Begin(false)
	if err != nil {
		return err
	}
	txid := uint64(tx.ID())
	tx.Rollback()
	return db.log.waitThrough(txid)
}

// SetNoSync turns off the fsync of every commit. Only for bulk loads in
// tests and benchmarks: a crash loses what was written meanwhile.
func (db *DB) SetNoSync(on bool) {
	if db.log != nil {
		db.log.syncMu.Lock()
		db.log.noSync = on
		db.log.syncMu.Unlock()
		return
	}
	db.bolt.NoSync = on
}

// WriteTime is the total time commits have spent writing pages to disk
// since the file was opened (for benchmarks: flush cost per commit).
func (db *DB) WriteTime() time.Duration {
	s := db.bolt.Stats().TxStats
	return s.GetWriteTime()
}

// Dump calls fn for every key of every bucket (nested buckets excluded),
// for tests that look for a value anywhere in the file.
func (tx *Tx) Dump(fn func(bucket string, k, v []byte) error) error {
	return tx.btx.ForEach(func(name []byte, b *bucket) error {
		return b.ForEach(func(k, v []byte) error { return fn(string(name), k, v) })
	})
}
