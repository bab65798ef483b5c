package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// noCheckpoints keeps the log's first segment for the whole test, so a
// copy of the data file and the log taken at any point is what a kill or
// a power cut would leave.
func noCheckpoints(t testing.TB) {
	t.Helper()
	every, after := checkpointEvery, checkpointAfter
	checkpointEvery, checkpointAfter = time.Hour, 1<<30
	t.Cleanup(func() { checkpointEvery, checkpointAfter = every, after })
}

// openLogged opens a new store with the log on and no checkpoints after
// the first, closed with the test.
func openLogged(t *testing.T) (*DB, string) {
	t.Helper()
	noCheckpoints(t)
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if db.log == nil {
		t.Fatal("the log is off")
	}
	return db, path
}

// dumpFile lists every bucket, key, value and sequence of the bbolt file
// db holds, nested buckets included: two files with the same dump hold
// the same data.
func dumpFile(t *testing.T, db *DB) string {
	t.Helper()
	var out []string
	var walk func(path string, b *bolt.Bucket)
	walk = func(path string, b *bolt.Bucket) {
		out = append(out, fmt.Sprintf("%s seq=%d", path, b.Sequence()))
		b.ForEach(func(k, v []byte) error {
			if v == nil {
				walk(path+"/"+string(k), b.Bucket(k))
			} else if path != "meta" || string(k) != "logID" { // new at every start
				out = append(out, fmt.Sprintf("%s %q=%q", path, k, v))
			}
			return nil
		})
	}
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			walk(string(name), b)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// randomWork makes n write transactions of random changes of every kind
// the log records: puts, deletes (direct and through a cursor), nested
// buckets created and dropped, sequences.
func randomWork(t *testing.T, db *DB, rng *rand.Rand, n int) {
	t.Helper()
	tops := [][]byte{[]byte("wa"), []byte("wb"), []byte("wc")}
	for range n {
		err := db.update(func(tx boltTx) error {
			for range 1 + rng.Intn(8) {
				top, err := tx.CreateBucketIfNotExists(tops[rng.Intn(len(tops))])
				if err != nil {
					return err
				}
				b := top
				if rng.Intn(3) == 0 {
					if b, err = top.CreateBucketIfNotExists([]byte(fmt.Sprintf("n%d", rng.Intn(3)))); err != nil {
						return err
					}
				}
				key := []byte(fmt.Sprintf("k%03d", rng.Intn(200)))
				switch r := rng.Intn(20); {
				case r < 10:
					if err := b.Put(key, bytes.Repeat([]byte{byte('a' + rng.Intn(26))}, rng.Intn(900))); err != nil {
						return err
					}
				case r < 13:
					if err := b.Delete(key); err != nil {
						return err
					}
				case r < 15:
					c := b.Cursor()
					for k, v := c.Seek(key); k != nil && rng.Intn(3) > 0; k, v = c.Next() {
						if v != nil {
							if err := c.Delete(); err != nil {
								return err
							}
						}
					}
				case r < 17:
					if _, err := b.NextSequence(); err != nil {
						return err
					}
				case r < 18:
					if err := b.SetSequence(uint64(rng.Intn(1000))); err != nil {
						return err
					}
				case r < 19:
					name := []byte(fmt.Sprintf("n%d", rng.Intn(3)))
					if err := top.DeleteBucket(name); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
						return err
					}
				default:
					name := tops[rng.Intn(len(tops))]
					if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// storeWork writes through the store's own API: resources, members,
// queue entries and activity, including deletes.
func storeWork(t *testing.T, db *DB, round int) {
	t.Helper()
	for i := range 20 {
		id := fmt.Sprintf("u%d-%d", round, i)
		err := db.Update(func(tx *Tx) error {
			if _, err := tx.CreateResource(TypeUser, id, []byte(`{"userName":"`+id+`"}`)); err != nil {
				return err
			}
			if _, err := tx.AddMember("g1", id, []byte(`{}`)); err != nil {
				return err
			}
			if err := tx.Append("webex", &Entry{Op: "upsert", Type: TypeUser, ID: id}); err != nil {
				return err
			}
			if i%3 == 0 {
				return tx.DeleteResource(TypeUser, id)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err := db.Batch(func(tx *Tx) error {
		return tx.Entries("webex", 0, 5, func(e *Entry) bool {
			tx.DeleteEntry("webex", e)
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyState copies the data file and its log to dir, as a kill leaves
// them (the page cache survives a killed process).
func copyState(t *testing.T, path, dir string) string {
	t.Helper()
	dst := filepath.Join(dir, filepath.Base(path))
	copyFile(t, path, dst)
	if err := os.MkdirAll(logDir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	txids, err := segments(logDir(path))
	if err != nil || len(txids) == 0 {
		t.Fatalf("no log segments (%v)", err)
	}
	for _, txid := range txids {
		copyFile(t, filepath.Join(logDir(path), segmentName(txid)), filepath.Join(logDir(dst), segmentName(txid)))
	}
	return dst
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func reopenDump(t *testing.T, path string) string {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if txids, _ := segments(logDir(path)); len(txids) != 1 {
		t.Errorf("after recovery the log has %d segments, want the new one", len(txids))
	}
	return dumpFile(t, db)
}

// TestLogRecoversAfterKill: a copy of the file and log taken while the
// store runs (what a SIGKILL leaves) opens to exactly the data written.
func TestLogRecoversAfterKill(t *testing.T) {
	db, path := openLogged(t)
	if db.log == nil {
		t.Fatal("the log is off")
	}
	rng := rand.New(rand.NewSource(1))
	for round := range 4 {
		randomWork(t, db, rng, 150)
		storeWork(t, db, round)
		want := dumpFile(t, db)
		got := reopenDump(t, copyState(t, path, t.TempDir()))
		if got != want {
			t.Fatalf("round %d: recovered file differs:\n%s", round, firstDiff(want, got))
		}
	}
}

// TestLogSurvivesPowerCut: after a power cut the data file may hold any
// mix of the pages written since the last checkpoint's flush, old or new,
// the meta pages included; the log holds every answered commit. Recovery
// must still reach exactly the data written. A mix that used a new page
// inside the snapshot's tree would show the snapshot pin failing.
func TestLogSurvivesPowerCut(t *testing.T) {
	db, path := openLogged(t)
	rng := rand.New(rand.NewSource(2))
	randomWork(t, db, rng, 100)
	storeWork(t, db, 0)
	// A checkpoint: the data file on disk is now this copy.
	if err := db.checkpointWith(db.log); err != nil {
		t.Fatal(err)
	}
	flushed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		randomWork(t, db, rng, 200)
		storeWork(t, db, round+1)
	}
	want := dumpFile(t, db)
	latest, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := db.bolt.Info().PageSize
	mixes := map[string]func(page int) bool{ // true: the new page reached the disk
		"nothing new":         func(int) bool { return false },
		"everything new":      func(int) bool { return true },
		"only the meta pages": func(p int) bool { return p < 2 },
		"all but the metas":   func(p int) bool { return p >= 2 },
	}
	for seed := range 6 {
		r := rand.New(rand.NewSource(int64(seed)))
		mixes[fmt.Sprintf("random %d", seed)] = func(int) bool { return r.Intn(2) == 0 }
	}
	changed := 0
	for p := 0; p*pageSize < len(flushed); p++ {
		if !bytes.Equal(flushed[p*pageSize:(p+1)*pageSize], latest[p*pageSize:(p+1)*pageSize]) {
			changed++
		}
	}
	if changed < 20 {
		t.Fatalf("setup: only %d pages changed since the checkpoint", changed)
	}
	for name, fresh := range mixes {
		t.Run(name, func(t *testing.T) {
			dst := copyState(t, path, t.TempDir())
			img := append([]byte(nil), latest...)
			for p := 0; p*pageSize < len(img); p++ {
				if !fresh(p) && (p+1)*pageSize <= len(flushed) {
					copy(img[p*pageSize:], flushed[p*pageSize:(p+1)*pageSize])
				}
			}
			if err := os.WriteFile(dst, img, 0o600); err != nil {
				t.Fatal(err)
			}
			if got := reopenDump(t, dst); got != want {
				t.Fatalf("recovered file differs:\n%s", firstDiff(want, got))
			}
		})
	}
}

// TestLogIgnoresTornTail: a record cut short (never answered) is dropped;
// the commits before it are kept.
func TestLogIgnoresTornTail(t *testing.T) {
	db, path := openLogged(t)
	randomWork(t, db, rand.New(rand.NewSource(3)), 50)
	want := dumpFile(t, db)
	dst := copyState(t, path, t.TempDir())
	txids, _ := segments(logDir(dst))
	seg := filepath.Join(logDir(dst), segmentName(txids[len(txids)-1]))
	for _, tail := range [][]byte{{0x40, 0, 0}, bytes.Repeat([]byte{0xff}, 40), make([]byte, 4096)} {
		f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(tail)
		f.Close()
		img := copyState(t, dst, t.TempDir())
		if got := reopenDump(t, img); got != want {
			t.Fatalf("tail %x: recovered file differs:\n%s", tail[:3], firstDiff(want, got))
		}
	}
}

// TestLogFailureRefusesWrites: once the log cannot be written, no write
// is answered as done, and a restart recovers every one that was.
func TestLogFailureRefusesWrites(t *testing.T) {
	noCheckpoints(t)
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	randomWork(t, db, rand.New(rand.NewSource(4)), 30)
	want := dumpFile(t, db)
	db.log.mu.Lock()
	db.log.seg.Close() // the next append fails
	db.log.mu.Unlock()
	put := func() error {
		return db.Update(func(tx *Tx) error {
			_, err := tx.CreateResource(TypeUser, "late", []byte(`{}`))
			return err
		})
	}
	if err := put(); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("write after the log failed: %v, want ErrLogFailed", err)
	}
	select {
	case <-db.Failed():
	default:
		t.Fatal("Failed() not closed after the log failed")
	}
	if !errors.Is(db.Err(), ErrLogFailed) {
		t.Fatalf("Err() = %v", db.Err())
	}
	if err := put(); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("second write: %v, want ErrLogFailed", err)
	}
	if err := db.Close(); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Close: %v, want ErrLogFailed", err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := dumpFile(t, db); got != want {
		t.Fatalf("after restart:\n%s", firstDiff(want, got))
	}
}

// TestLogCheckpoints: checkpoints keep one segment (two while one is
// being replaced), and a clean close leaves none.
func TestLogCheckpoints(t *testing.T) {
	old := checkpointEvery
	checkpointEvery = 20 * time.Millisecond
	t.Cleanup(func() { checkpointEvery = old })
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(5))
	first, _ := segments(logDir(path))
	for range 10 {
		randomWork(t, db, rng, 20)
		time.Sleep(30 * time.Millisecond)
	}
	later, _ := segments(logDir(path))
	if len(later) == 0 || len(later) > 2 || later[0] == first[0] {
		t.Errorf("segments %v after checkpoints (first %v)", later, first)
	}
	want := dumpFile(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(logDir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("log directory after a clean close: %v", err)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := dumpFile(t, ro); got != want {
		t.Fatalf("after close:\n%s", firstDiff(want, got))
	}
}

// TestReadOnlyOpenRecovers: the offline commands apply a log left behind
// before they read the file.
func TestReadOnlyOpenRecovers(t *testing.T) {
	db, path := openLogged(t)
	randomWork(t, db, rand.New(rand.NewSource(6)), 40)
	want := dumpFile(t, db)
	dst := copyState(t, path, t.TempDir())
	// The worst case: the data file as it was when the log started.
	ro, err := OpenReadOnly(dst, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := dumpFile(t, ro); got != want {
		t.Fatalf("read-only open:\n%s", firstDiff(want, got))
	}
	if _, err := os.Stat(logDir(dst)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("log directory after recovery: %v", err)
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant %.200s\ngot  %.200s\n(%d vs %d lines)", i, a, b, len(w), len(g))
		}
	}
	return "(no difference)"
}

// TestLogRefusesAnotherFile: a log left beside a data file that was
// replaced (a backup put in place) is not replayed into it, and the file
// is left as it was.
func TestLogRefusesAnotherFile(t *testing.T) {
	noCheckpoints(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "data.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	randomWork(t, db, rand.New(rand.NewSource(7)), 30)
	dst := copyState(t, path, t.TempDir())

	other := filepath.Join(t.TempDir(), "other.db")
	odb, err := Open(other)
	if err != nil {
		t.Fatal(err)
	}
	randomWork(t, odb, rand.New(rand.NewSource(8)), 30)
	want := dumpFile(t, odb)
	if err := odb.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, other, dst) // the "backup" put in place, the log left
	before, _ := os.ReadFile(dst)
	if _, err := Open(dst); !errors.Is(err, ErrForeignLog) {
		t.Fatalf("Open with another file's log: %v", err)
	}
	if after, _ := os.ReadFile(dst); !bytes.Equal(before, after) {
		t.Fatal("the refused file was changed")
	}
	// With the log moved aside it opens as it is.
	if err := os.Rename(logDir(dst), dst+".wal-aside"); err != nil {
		t.Fatal(err)
	}
	if got := reopenDump(t, dst); got != want {
		t.Fatalf("the put-in-place file:\n%s", firstDiff(want, got))
	}
}

// TestOnCommitRunsWhenDurable: OnCommit's functions run after the log
// has flushed the commit, and WaitDurable covers every commit before it.
func TestOnCommitRunsWhenDurable(t *testing.T) {
	noCheckpoints(t)
	db, err := Open(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := db.log
	position := func() (synced, end uint64) {
		l.syncMu.Lock()
		defer l.syncMu.Unlock()
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.synced, l.end
	}
	for i := range 3 {
		ran := false
		write := func(tx *Tx) error {
			tx.OnCommit(func() {
				ran = true
				if synced, end := position(); synced < end {
					t.Errorf("OnCommit ran at %d with the log flushed to %d", end, synced)
				}
			})
			_, err := tx.CreateResource(TypeUser, fmt.Sprintf("u%d", i), []byte(`{}`))
			return err
		}
		if i == 1 {
			err = db.Batch(write)
		} else {
			err = db.Update(write)
		}
		if err != nil || !ran {
			t.Fatalf("write %d: %v, OnCommit ran: %v", i, err, ran)
		}
	}
	// A commit whose writer has not waited yet: WaitDurable flushes it.
	l.cur = nil
	var rec *txRecord
	if err := db.bolt.Update(func(b *bolt.Tx) error {
		rec = l.begin(b)
		_, err := boltTx{tx: b, rec: rec}.CreateBucketIfNotExists([]byte("late"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if synced, end := position(); synced >= end {
		t.Fatal("setup: the commit was flushed already")
	}
	if err := db.WaitDurable(); err != nil {
		t.Fatal(err)
	}
	if synced, end := position(); synced < end {
		t.Errorf("after WaitDurable the log is flushed to %d of %d", synced, end)
	}
}

// TestLogRetiresWhenLarge: a file that grows past logLimit goes back to
// bbolt's own fsyncs at the next checkpoint, keeping its data.
func TestLogRetiresWhenLarge(t *testing.T) {
	noCheckpoints(t)
	old := logLimit
	logLimit = 1 << 20
	t.Cleanup(func() { logLimit = old })
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if db.log == nil || db.log.off {
		t.Fatal("setup: the log is off")
	}
	rng := rand.New(rand.NewSource(9))
	for {
		var size int64
		db.bolt.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
		if size > 2<<20 {
			break
		}
		for range 20 {
			if err := db.Update(func(tx *Tx) error {
				_, err := tx.CreateResource(TypeUser, fmt.Sprint(rng.Int63()), []byte(`{"x":"`+strings.Repeat("x", 3000)+`"}`))
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.checkpointWith(db.log); !errors.Is(err, errLogRetired) {
		t.Fatalf("checkpoint of a large file: %v", err)
	}
	if !db.log.off || db.bolt.NoSync {
		t.Fatalf("after retiring: off=%v NoSync=%v", db.log.off, db.bolt.NoSync)
	}
	if _, err := os.Stat(logDir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("log directory after retiring: %v", err)
	}
	randomWork(t, db, rng, 20)
	want := dumpFile(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.log != nil {
		t.Error("a file over the limit opened with the log on")
	}
	if got := dumpFile(t, db); got != want {
		t.Fatalf("after reopening:\n%s", firstDiff(want, got))
	}
}
