package store

import (
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// FuzzReadSegment: whatever a segment file holds (a damaged disk, a
// truncated copy), reading it is an error or a list of records, never a
// panic, and every record it returns is one whose checksum held.
func FuzzReadSegment(f *testing.F) {
	dir := f.TempDir()
	noCheckpoints(f)
	db, err := Open(filepath.Join(dir, "seed.db"))
	if err != nil {
		f.Fatal(err)
	}
	db.update(func(tx boltTx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("b"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	})
	txids, _ := segments(logDir(filepath.Join(dir, "seed.db")))
	seed, _ := os.ReadFile(filepath.Join(logDir(filepath.Join(dir, "seed.db")), segmentName(txids[0])))
	db.Close()
	f.Add(seed, uint64(txids[0]))
	f.Add(seed[:len(seed)-3], uint64(txids[0]))
	f.Add([]byte(segmentMagic), uint64(1))
	f.Fuzz(func(t *testing.T, data []byte, txid uint64) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(txid)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := readSegment(dir, txid)
		if err != nil {
			return
		}
		if s.txid != txid || len(s.meta) < 1024 {
			t.Fatalf("segment %d read as %d with a %d-byte meta page", txid, s.txid, len(s.meta))
		}
	})
}

// FuzzApplyRecord: a record's changes, however malformed, are applied or
// refused with an error, never a panic.
func FuzzApplyRecord(f *testing.F) {
	rec := &txRecord{}
	rec.add(opCreateBucket, nil, []byte("b"), nil)
	top := &bucket{name: []byte("b")}
	rec.add(opPut, top, []byte("k"), []byte("v"))
	rec.add(opCreateBucket, top, []byte("n"), nil)
	rec.add(opPut, &bucket{parent: top, name: []byte("n")}, []byte("k2"), nil)
	rec.add(opSetSequence, top, nil, u64(7))
	rec.add(opDelete, top, []byte("k"), nil)
	rec.add(opDeleteBucket, top, []byte("n"), nil)
	rec.add(opDeleteBucket, nil, []byte("b"), nil)
	f.Add(rec.buf)
	f.Add(rec.buf[:len(rec.buf)/2])
	db, err := bolt.Open(filepath.Join(f.TempDir(), "fuzz.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	f.Fuzz(func(t *testing.T, payload []byte) {
		// Rolled back: each input starts from the same empty file.
		tx, err := db.Begin(true)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_ = applyRecord(tx, payload)
	})
}
