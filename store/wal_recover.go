package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var errLocked = bolterrors.ErrTimeout

// ErrForeignLog: the write-ahead log next to the data file is not this
// file's (a backup was put in place while a crash's log was left); the
// file is left as it was.
var ErrForeignLog = errors.New("write-ahead log of another data file")

// segmentFile is one log segment read back: its snapshot's meta page and
// its complete records.
type segmentFile struct {
	txid    uint64
	id      [16]byte // the log's id, as the data file holds it
	meta    []byte
	records []logRecord
	torn    bool // it ends in a partial or damaged record
}

type logRecord struct {
	txid    uint64
	payload []byte
}

// readSegment reads the segment of txid in dir. A header that does not
// check out is an error; records are read up to the first one that does
// not (a write cut short).
func readSegment(dir string, txid uint64) (*segmentFile, error) {
	name := filepath.Join(dir, segmentName(txid))
	buf, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if len(buf) < segmentHeader || string(buf[:16]) != segmentMagic {
		return nil, fmt.Errorf("%s: not a log segment", name)
	}
	size := int(binary.LittleEndian.Uint32(buf[16:]))
	if binary.LittleEndian.Uint64(buf[20:]) != txid || size < 1024 || len(buf) < segmentHeader+size {
		return nil, fmt.Errorf("%s: damaged header", name)
	}
	if headerSum(buf, buf[segmentHeader:segmentHeader+size]) != binary.LittleEndian.Uint32(buf[28:]) {
		return nil, fmt.Errorf("%s: damaged header (checksum)", name)
	}
	s := &segmentFile{txid: txid, meta: buf[segmentHeader : segmentHeader+size]}
	copy(s.id[:], buf[32:48])
	rest := buf[segmentHeader+size:]
	for len(rest) > 0 {
		if len(rest) < 16 {
			s.torn = true
			break
		}
		n := int(binary.LittleEndian.Uint32(rest))
		if n < 8 || len(rest) < 8+n || crc32.Checksum(rest[8:8+n], castagnoli) != binary.LittleEndian.Uint32(rest[4:]) {
			s.torn = true
			break
		}
		s.records = append(s.records, logRecord{txid: binary.LittleEndian.Uint64(rest[8:]), payload: rest[16 : 8+n]})
		rest = rest[8+n:]
	}
	return s, nil
}

// recoverLog brings the data file at path to the last commit the log
// holds, if it holds any (see writeLog): the oldest segment's meta page
// into both meta slots, then every record after it replayed in order,
// flushed by bbolt, and the segments removed. It returns the file open
// as openWritable(path, mapSize) opens it (so a start walks its pages
// once), or nil when there was no log.
func recoverLog(path string, timeout time.Duration, mapSize int64) (*bolt.DB, error) {
	dir := logDir(path)
	txids, err := segments(dir)
	if err != nil || len(txids) == 0 {
		return nil, err
	}
	var segs []*segmentFile
	for i, txid := range txids {
		s, err := readSegment(dir, txid)
		if err != nil {
			if i == len(txids)-1 && i > 0 {
				// A checkpoint cut short while writing its new segment:
				// no record was appended to it.
				break
			}
			return nil, fmt.Errorf("%w: write-ahead log: %v", ErrCorrupt, err)
		}
		segs = append(segs, s)
	}
	// The chain of records must run without a gap from the oldest
	// snapshot to the end; only the newest segment may end torn.
	next := segs[0].txid + 1
	for i, s := range segs {
		if s.txid != next-1 {
			return nil, fmt.Errorf("%w: write-ahead log: segment %d follows transaction %d", ErrCorrupt, s.txid, next-1)
		}
		if s.torn && i < len(segs)-1 {
			return nil, fmt.Errorf("%w: write-ahead log: segment %d is damaged before its end", ErrCorrupt, s.txid)
		}
		for _, r := range s.records {
			if r.txid != next {
				return nil, fmt.Errorf("%w: write-ahead log: segment %d holds transaction %d where %d was due", ErrCorrupt, s.txid, r.txid, next)
			}
			next++
		}
	}

	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("store: write-ahead log without its data file: %w", err)
	}
	defer f.Close()
	if err := lockData(f, timeout); err != nil {
		return nil, err
	}
	saved, err := writeMeta(f, segs[0].meta)
	if err != nil {
		return nil, err
	}
	unlockData(f) // bbolt takes the lock itself, on a descriptor of its own
	b, err := openWritable(path, mapSize)
	if err == nil && !sameLog(b, segs[0].id) {
		b.Close()
		err = fmt.Errorf("%w: %s belongs to another data file than %s", ErrForeignLog, dir, path)
	}
	if err != nil {
		// Not this file's log, or the file will not open from it: the
		// file is left as it was.
		if rerr := writeSlots(f, saved); rerr != nil {
			return nil, fmt.Errorf("%w (and putting its meta pages back failed: %v)", err, rerr)
		}
		return nil, err
	}
	if err := replay(b, segs); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: %s: replaying the write-ahead log: %w", path, err)
	}
	if err := removeSegmentsBefore(dir, ^uint64(0)); err != nil {
		b.Close()
		return nil, err
	}
	if err := os.Remove(dir); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// writeMeta writes meta, a saved meta page, into both of the data file's
// meta slots (its header's page id set to each) and flushes them. It
// returns the two slots it overwrote, for putting back.
func writeMeta(f *os.File, meta []byte) (old []byte, err error) {
	n := len(meta)
	old = make([]byte, 2*n)
	if _, err := f.ReadAt(old, 0); err != nil {
		return nil, fmt.Errorf("store: read meta pages: %w", err)
	}
	slots := append(append([]byte(nil), meta...), meta...)
	binary.LittleEndian.PutUint64(slots[0:], 0)
	binary.LittleEndian.PutUint64(slots[n:], 1)
	return old, writeSlots(f, slots)
}

func writeSlots(f *os.File, slots []byte) error {
	if _, err := f.WriteAt(slots, 0); err != nil {
		return fmt.Errorf("store: write meta pages: %w", err)
	}
	return fdatasync(f)
}

// sameLog reports whether b's data file holds the log id id.
func sameLog(b *bolt.DB, id [16]byte) bool {
	same := false
	b.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(metaBucket); m != nil {
			same = bytes.Equal(m.Get(logIDKey), id[:])
		}
		return nil
	})
	return same
}

// replay applies the records in batches of commits, each flushed by bbolt.
func replay(b *bolt.DB, segs []*segmentFile) error {
	const batchBytes = 16 << 20
	var batch []logRecord
	size := 0
	flush := func() error {
		err := b.Update(func(tx *bolt.Tx) error {
			for _, r := range batch {
				if err := applyRecord(tx, r.payload); err != nil {
					return fmt.Errorf("transaction %d: %w", r.txid, err)
				}
			}
			return nil
		})
		batch, size = batch[:0], 0
		return err
	}
	for _, s := range segs {
		for _, r := range s.records {
			batch = append(batch, r)
			if size += len(r.payload); size >= batchBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return flush()
}

var errBadRecord = errors.New("malformed record")

// applyRecord makes the changes of one record (txRecord's encoding).
func applyRecord(tx *bolt.Tx, p []byte) error {
	for len(p) > 0 {
		kind := p[0]
		p = p[1:]
		n, w := binary.Uvarint(p)
		if w <= 0 || n > 64 {
			return errBadRecord
		}
		p = p[w:]
		path := make([][]byte, n)
		var ok bool
		for i := range path {
			if path[i], p, ok = readBytes(p); !ok {
				return errBadRecord
			}
		}
		var key, value []byte
		if key, p, ok = readBytes(p); !ok {
			return errBadRecord
		}
		if value, p, ok = readBytes(p); !ok {
			return errBadRecord
		}
		if err := applyChange(tx, kind, path, key, value); err != nil {
			return err
		}
	}
	return nil
}

func applyChange(tx *bolt.Tx, kind byte, path [][]byte, key, value []byte) error {
	switch kind {
	case opCreateBucket:
		if len(path) == 0 {
			_, err := tx.CreateBucketIfNotExists(key)
			return err
		}
		b, err := walkPath(tx, path)
		if err != nil {
			return err
		}
		_, err = b.CreateBucketIfNotExists(key)
		return err
	case opDeleteBucket:
		if len(path) == 0 {
			return tx.DeleteBucket(key)
		}
		b, err := walkPath(tx, path)
		if err != nil {
			return err
		}
		return b.DeleteBucket(key)
	}
	b, err := walkPath(tx, path)
	if err != nil {
		return err
	}
	switch kind {
	case opPut:
		return b.Put(key, value)
	case opDelete:
		return b.Delete(key)
	case opSetSequence:
		if len(value) != 8 {
			return errBadRecord
		}
		return b.SetSequence(binary.BigEndian.Uint64(value))
	}
	return fmt.Errorf("%w: change of kind %q", errBadRecord, kind)
}

func walkPath(tx *bolt.Tx, path [][]byte) (*bolt.Bucket, error) {
	if len(path) == 0 {
		return nil, errBadRecord
	}
	b := tx.Bucket(path[0])
	for _, name := range path[1:] {
		if b == nil {
			break
		}
		b = b.Bucket(name)
	}
	if b == nil {
		return nil, fmt.Errorf("no bucket %q", path)
	}
	return b, nil
}

func readBytes(p []byte) (b, rest []byte, ok bool) {
	n, w := binary.Uvarint(p)
	if w <= 0 || n > uint64(len(p)-w) {
		return nil, nil, false
	}
	return p[w : w+int(n)], p[w+int(n):], true
}
