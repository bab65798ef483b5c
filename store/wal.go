package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The write-ahead log (decision 0007, docs/decisions/2026-12-wal.md).
//
// bbolt makes a commit durable by flushing every page it dirtied, a dozen
// pages scattered over the file for a SCIM write, and then its meta page:
// two fdatasyncs of scattered writes, ~1 ms on the disks we measured.
// With the log, bbolt commits to the page cache only (NoSync) and the
// transaction's record (its puts and deletes, txlog.go) is appended to a
// log segment and flushed: one sequential write. The caller is answered
// after that flush.
//
// A checkpoint, every 200 commits or second, flushes the data file itself and starts a
// new segment, whose header holds a copy of the meta page of the
// transaction it starts after. A read transaction of that snapshot stays
// open until the next checkpoint has flushed, so bbolt reuses none of the
// pages the snapshot's tree is made of: after a power cut, whatever
// state the data file's later pages are in, that tree is intact on disk.
// Recovery (at every start with a segment present, so after every kill
// too) writes the oldest segment's saved meta page into both meta slots
// and replays every record after it, in order.
type writeLog struct {
	dir      string
	id       [16]byte // random, per start; the data file holds it too (meta logID)
	data     *os.File // the data file, to read its meta pages
	pageSize int

	mu       sync.Mutex
	appended *sync.Cond    // signalled when next moves
	next     uint64        // the transaction id whose record is appended next
	seg      *os.File      // the segment being appended to
	segTxid  uint64        // the transaction its header's snapshot is of
	end      uint64        // bytes appended to all segments so far (the log's position)
	failed   error         // a write or flush failed: no more writes
	failedCh chan struct{} // closed when failed is set
	closed   bool          // retired or closed: everything appended is on disk

	syncMu sync.Mutex // one flush at a time; waiters behind it find theirs done
	synced uint64     // the position known to be on disk
	noSync bool       // SetNoSync: records are written but not flushed

	// Guarded by bbolt's writer lock (set and read in write transactions):
	cur *txRecord // the record of the open write transaction
	off bool      // the log is closed or retired: bbolt's own fsyncs are back

	since int           // commits appended since the last checkpoint
	due   chan struct{} // wakes the checkpoint loop early (cap 1)

	pin      *bolt.Tx      // the snapshot of the oldest segment's header
	stop     chan struct{} // closes the checkpoint loop
	loopDone chan struct{}
}

// A checkpoint comes due checkpointEvery after the last one, or sooner
// once checkpointAfter commits have been appended: what recovery replays
// at most. The count matters more: while the snapshot is pinned bbolt
// keeps every later commit's freed pages in a list it walks at each
// commit, which at 1,000 commits doubled a commit's CPU (the PATCH
// handler: 233 µs/op at main, 445 with checkpoints only each second, 235
// with one each 50 ms).
var (
	checkpointEvery = time.Second
	checkpointAfter = 200
)

// bbolt must never remap its file while the snapshot is pinned (a writer
// would wait for the next checkpoint, which waits for it), so the file is
// mapped with room to grow (mapReserve), and the log runs only while the
// file's data is under logLimit (it starts only under half of that).
const mapReserve int64 = 16 << 30

var logLimit = mapReserve / 2 // a variable for tests

// ErrLogFailed: a write to the write-ahead log failed; the store takes no
// more writes until it is restarted (which recovers what was answered).
var ErrLogFailed = errors.New("store: write-ahead log failed")

var logIDKey = []byte("logID")

var errLogRetired = errors.New("store: write-ahead log retired")

func logDir(dataPath string) string { return dataPath + ".wal" }

const segmentMagic = "scimbridge-wal\x00\x01"

// segment file layout: magic (16 bytes), page size (4), snapshot txid (8),
// CRC-32C of the header after it and the meta page (4), the log's id
// (16, also in the data file: a log is never replayed into another file
// put in its place), the meta page; then records: length of txid+payload (4),
// CRC-32C of them (4), txid (8), payload (txRecord's encoding).
const segmentHeader = 16 + 4 + 8 + 4 + 16

// frameHeader: a record's length, checksum and txid, before its changes.
const frameHeader = 16

// headerSum is the checksum of a segment's header and meta page.
func headerSum(hdr, meta []byte) uint32 {
	h := crc32.Update(0, castagnoli, hdr[16:28])
	h = crc32.Update(h, castagnoli, hdr[32:48])
	return crc32.Update(h, castagnoli, meta)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func segmentName(txid uint64) string { return fmt.Sprintf("%020d.log", txid) }

// startLog turns the log on for db: a first checkpoint, then bbolt's own
// fsyncs off.
func (db *DB) startLog() error {
	path := db.bolt.Path()
	var size int64
	db.bolt.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	if size > logLimit/2 || strconv.IntSize < 64 {
		return nil // keeps bbolt's own fsyncs: no room to map ahead
	}
	dir := logDir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: create log directory: %w", err)
	}
	data, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	l := &writeLog{dir: dir, data: data, pageSize: db.bolt.Info().PageSize, stop: make(chan struct{}), loopDone: make(chan struct{}), due: make(chan struct{}, 1), failedCh: make(chan struct{})}
	l.appended = sync.NewCond(&l.mu)
	if _, err := rand.Read(l.id[:]); err != nil {
		data.Close()
		return err
	}
	// Committed with bbolt's own fsyncs, before the log starts.
	if err := db.Update(func(tx *Tx) error {
		m, err := tx.btx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		return m.Put(logIDKey, l.id[:])
	}); err != nil {
		data.Close()
		return err
	}
	if err := db.checkpointWith(l); err != nil {
		data.Close()
		return err
	}
	db.log = l
	go db.checkpointLoop(l)
	return nil
}

// begin returns the record of the write transaction b, the same for every
// function of a batch sharing it. Its commit appends the record.
func (l *writeLog) begin(b *bolt.Tx) *txRecord {
	if l == nil || l.off {
		return nil
	}
	if l.cur != nil && l.cur.tx == b {
		return l.cur
	}
	rec := &txRecord{tx: b, buf: make([]byte, frameHeader, 2048)}
	l.cur = rec
	txid := uint64(b.ID())
	b.OnCommit(func() { rec.end, rec.err = l.append(txid, rec) })
	return rec
}

// append writes rec, transaction txid's record, after the record of every
// transaction before it: bbolt runs commit handlers after it lets the
// next writer in, so two may arrive here out of order.
func (l *writeLog) append(txid uint64, rec *txRecord) (uint64, error) {
	// The record's first frameHeader bytes were left for this.
	frame := rec.buf
	binary.LittleEndian.PutUint32(frame[0:], uint32(len(frame)-8))
	binary.LittleEndian.PutUint64(frame[8:], txid)
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(frame[8:], castagnoli))

	l.mu.Lock()
	defer l.mu.Unlock()
	for l.next != txid && l.failed == nil {
		l.appended.Wait()
	}
	if l.failed != nil {
		return 0, l.failed
	}
	if _, err := l.seg.Write(frame); err != nil {
		l.failLocked(err)
		return 0, l.failed
	}
	l.end += uint64(len(frame))
	l.next++
	l.appended.Broadcast()
	if l.since++; l.since == checkpointAfter {
		select {
		case l.due <- struct{}{}:
		default:
		}
	}
	return l.end, nil
}

func (l *writeLog) failLocked(err error) {
	if l.failed == nil {
		l.failed = fmt.Errorf("%w: %v", ErrLogFailed, err)
		close(l.failedCh)
	}
	l.appended.Broadcast()
}

// wait returns once rec's commit is on disk (or the log failed).
func (l *writeLog) wait(rec *txRecord) error {
	if l == nil || rec == nil {
		return nil
	}
	if rec.err != nil {
		return rec.err
	}
	return l.syncTo(rec.end)
}

// waitThrough returns once the commits up to transaction txid are on
// disk.
func (l *writeLog) waitThrough(txid uint64) error {
	l.mu.Lock()
	for l.next <= txid && l.failed == nil && !l.closed {
		l.appended.Wait()
	}
	end, err := l.end, l.failed
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return l.syncTo(end)
}

// syncTo flushes the current segment unless a flush already covered pos.
// Callers queue on syncMu, so one flush answers all who waited meanwhile.
func (l *writeLog) syncTo(pos uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.synced >= pos {
		return nil
	}
	l.mu.Lock()
	seg, end, err := l.seg, l.end, l.failed
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if !l.noSync {
		if err := fdatasync(seg); err != nil {
			l.mu.Lock()
			l.failLocked(err)
			err = l.failed
			l.mu.Unlock()
			return err
		}
	}
	l.synced = end
	return nil
}

// flush is fdatasync, skipped under SetNoSync (benchmarks' CPU ceiling).
func (l *writeLog) flush(f *os.File) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	return l.flushLocked(f)
}

// flushLocked is flush with syncMu held.
func (l *writeLog) flushLocked(f *os.File) error {
	if l.noSync {
		return nil
	}
	return fdatasync(f)
}

// Failed is closed once the write-ahead log has failed (Err says why):
// the store refuses every write from then on, and a restart recovers
// every write it answered. The server exits on it.
func (db *DB) Failed() <-chan struct{} {
	if db.log == nil {
		return nil
	}
	return db.log.failedCh
}

// Err is the write-ahead log's failure, or nil.
func (db *DB) Err() error { return db.log.err() }

// err is the log's failure, if any: writes are refused after one.
func (l *writeLog) err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

func (db *DB) checkpointLoop(l *writeLog) {
	defer close(l.loopDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.due:
		case <-t.C:
		}
		if l.err() != nil {
			return
		}
		if err := db.checkpointWith(l); err != nil {
			if err != errLogRetired {
				l.mu.Lock()
				l.failLocked(err)
				l.mu.Unlock()
			}
			return
		}
	}
}

// checkpointWith starts a new segment after the latest commit, flushes
// the data file, and then lets go of the older segments and snapshot.
func (db *DB) checkpointWith(l *writeLog) error {
	// A write transaction of our own keeps writers out while the segment
	// changes; its id says which commits came before.
	wtx, err := db.bolt.Begin(true)
	if err != nil {
		return err
	}
	txid := uint64(wtx.ID() - 1)
	l.mu.Lock()
	if l.seg == nil {
		l.next = txid + 1 // the log starts here
		db.bolt.NoSync = true
	}
	for l.next <= txid && l.failed == nil {
		l.appended.Wait()
	}
	failed := l.failed
	l.mu.Unlock()
	if failed != nil {
		wtx.Rollback()
		return failed
	}
	if l.seg != nil && wtx.Size() > logLimit {
		// Grown past what the mapping leaves room for: bbolt's own
		// fsyncs from here on.
		err := db.endLog(l, wtx)
		wtx.Rollback()
		if err == nil {
			err = errLogRetired
		}
		return err
	}
	if l.seg != nil && l.segTxid == txid {
		wtx.Rollback() // nothing committed since the last checkpoint
		return nil
	}
	// bbolt allows a read transaction beside our write transaction, which
	// commits nothing (so never remaps the file).
	pin, err := db.bolt.Begin(false)
	if err == nil && uint64(pin.ID()) != txid {
		err = fmt.Errorf("snapshot is of transaction %d, not %d", pin.ID(), txid)
	}
	var meta []byte
	if err == nil {
		meta, err = l.readMeta(txid)
	}
	if err == nil {
		err = l.rotate(txid, meta)
	}
	wtx.Rollback()
	if err != nil {
		if pin != nil {
			pin.Rollback()
		}
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	// The snapshot's tree on disk: from here recovery may start from it.
	if err := l.flush(l.data); err != nil {
		pin.Rollback()
		return fmt.Errorf("store: checkpoint: flush data file: %w", err)
	}
	if err := removeSegmentsBefore(l.dir, txid); err != nil {
		pin.Rollback()
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if l.pin != nil {
		l.pin.Rollback()
	}
	l.pin = pin
	return nil
}

// readMeta reads the meta page bbolt wrote for transaction txid (bbolt
// alternates two slots by txid), checking it names that transaction.
func (l *writeLog) readMeta(txid uint64) ([]byte, error) {
	page := make([]byte, l.pageSize)
	if _, err := l.data.ReadAt(page, int64(txid%2)*int64(l.pageSize)); err != nil {
		return nil, fmt.Errorf("read meta page: %w", err)
	}
	if got := binary.LittleEndian.Uint32(page[metaMagicAt:]); got != boltMagic {
		return nil, fmt.Errorf("meta page %d: magic %#x", txid%2, got)
	}
	if got := binary.LittleEndian.Uint64(page[metaTxidAt:]); got != txid {
		return nil, fmt.Errorf("meta page %d is of transaction %d, not %d", txid%2, got, txid)
	}
	return page, nil
}

// bbolt's meta page: a 16-byte page header, then magic, version, page
// size, flags, root bucket (root, sequence), freelist, high-water mark,
// txid, checksum. Stable since boltdb's first format; an open checks it
// (the checksum) before anything is trusted.
const (
	boltMagic   = 0xED0CDAED
	metaMagicAt = 16
	metaTxidAt  = 16 + 4 + 4 + 4 + 4 + 16 + 8 + 8
)

// rotate starts the segment after txid with meta in its header. The old
// segment is flushed first, so every record before is on disk.
func (l *writeLog) rotate(txid uint64, meta []byte) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seg != nil {
		if err := l.flushLocked(l.seg); err != nil {
			return err
		}
		l.synced = l.end
	}
	hdr := make([]byte, segmentHeader, segmentHeader+len(meta))
	copy(hdr, segmentMagic)
	binary.LittleEndian.PutUint32(hdr[16:], uint32(len(meta)))
	binary.LittleEndian.PutUint64(hdr[20:], txid)
	copy(hdr[32:48], l.id[:])
	binary.LittleEndian.PutUint32(hdr[28:], headerSum(hdr, meta))
	hdr = append(hdr, meta...)
	name := filepath.Join(l.dir, segmentName(txid))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(hdr); err == nil {
		err = l.flushLocked(f)
	}
	if err == nil && !l.noSync {
		err = syncDir(l.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if l.seg != nil {
		l.seg.Close()
	}
	l.seg, l.segTxid, l.since = f, txid, 0
	return nil
}

// stopLog ends the log for a clean close: the data file flushed, bbolt's
// own fsyncs back on, no segment left.
func (db *DB) stopLog() error {
	l := db.log
	if l == nil {
		return nil
	}
	close(l.stop)
	<-l.loopDone
	wtx, err := db.bolt.Begin(true)
	if err != nil {
		return err
	}
	defer wtx.Rollback()
	return db.endLog(l, wtx)
}

// endLog ends the log while wtx keeps writers out.
func (db *DB) endLog(l *writeLog, wtx *bolt.Tx) error {
	if l.off {
		return nil
	}
	txid := uint64(wtx.ID() - 1)
	l.mu.Lock()
	for l.next <= txid && l.failed == nil {
		l.appended.Wait()
	}
	failed := l.failed
	l.mu.Unlock()
	l.off = true
	db.bolt.NoSync = false
	if l.pin != nil {
		l.pin.Rollback()
		l.pin = nil
	}
	if failed != nil {
		// The segments stay: the next start recovers what they hold.
		return failed
	}
	if err := fdatasync(l.data); err != nil {
		return fmt.Errorf("store: flush data file: %w", err)
	}
	l.syncMu.Lock()
	l.mu.Lock()
	l.synced, l.closed = l.end, true
	l.appended.Broadcast()
	l.mu.Unlock()
	l.syncMu.Unlock()
	l.seg.Close()
	l.data.Close()
	if err := removeSegmentsBefore(l.dir, ^uint64(0)); err != nil {
		return err
	}
	return os.Remove(l.dir)
}

// segments lists the log segments in dir by their snapshot's txid.
func segments(dir string) ([]uint64, error) {
	names, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var txids []uint64
	for _, e := range names {
		n, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		txid, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			continue
		}
		txids = append(txids, txid)
	}
	sort.Slice(txids, func(i, j int) bool { return txids[i] < txids[j] })
	return txids, nil
}

func removeSegmentsBefore(dir string, txid uint64) error {
	txids, err := segments(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, t := range txids {
		if t < txid {
			if err := os.Remove(filepath.Join(dir, segmentName(t))); err != nil {
				return err
			}
			removed = true
		}
	}
	if removed {
		return syncDir(dir)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
