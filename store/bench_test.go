package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkBareCommit is the floor under every durable SCIM write: one
// bbolt transaction that puts one small key, committed as bbolt always
// commits (dirty pages, fdatasync, meta page, fdatasync). A closed loop of
// n clients that each wait for their own commit shares a commit between
// about n/2 of them (the others are preparing their next request while it
// runs), so n/2 writes per this time bounds its throughput, whatever the
// code above the store does.
//
//	go test ./store -run '^$' -bench BareCommit -count 5
func BenchmarkBareCommit(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var key [8]byte
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint64(key[:], uint64(i))
		err := db.update(func(tx boltTx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("bench"))
			if err != nil {
				return err
			}
			return bk.Put(key[:], []byte("value"))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlush is the disk underneath a commit, without bbolt: write n
// pages at scattered offsets of a file whose blocks are already allocated,
// fdatasync, then one "meta" page and fdatasync again, as bbolt's commit
// does. It shows what each extra dirty page of a commit costs on this disk,
// and that the count of scattered pages is what costs, not their bytes: 13
// contiguous pages flush about as fast as one.
//
//	go test ./store -run '^$' -bench Flush -count 5
func BenchmarkFlush(b *testing.B) {
	const fileSize = 64 << 20
	path := filepath.Join(b.TempDir(), "flush.dat")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zero := make([]byte, 1<<20)
	for off := int64(0); off < fileSize; off += int64(len(zero)) {
		if _, err := f.WriteAt(zero, off); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	page := make([]byte, 4096)
	for _, c := range []struct {
		pages      int
		contiguous bool
	}{{1, false}, {4, false}, {13, false}, {13, true}} {
		pages := c.pages
		b.Run(fmt.Sprintf("pages=%d/contiguous=%v", pages, c.contiguous), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(pages)))
			for range b.N {
				base := int64(2 + rng.IntN(fileSize/4096-2-pages))
				for k := range pages {
					off := int64(2+rng.IntN(fileSize/4096-2)) * 4096
					if c.contiguous {
						off = (base + int64(k)) * 4096
					}
					if _, err := f.WriteAt(page, off); err != nil {
						b.Fatal(err)
					}
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
				if _, err := f.WriteAt(page, 0); err != nil {
					b.Fatal(err)
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCommitWithFreePages is BenchmarkBareCommit on a file that has
// many free pages (most of 100,000 records deleted, as after a large
// deprovisioning), with bbolt's freelist written by every commit (bbolt's
// default) against not written (NoFreelistSync, as Open sets it): a synced
// freelist is sorted and rewritten, every page of it, by each commit. The
// two files take turns, commit by commit, so the disk's moods fall on
// both. It also reports what the unsynced list costs instead: Open's two
// walks of the file (walkPages, then bbolt's rebuild of the list).
//
//	go test ./store -run '^$' -bench CommitWithFreePages -count 5
func BenchmarkCommitWithFreePages(b *testing.B) {
	const records = 100_000
	var key [8]byte
	open := func(path string, synced bool) *bolt.DB {
		db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: !synced})
		if err != nil {
			b.Fatal(err)
		}
		return db
	}
	fill := func(synced bool) (db *bolt.DB, path string) {
		path = filepath.Join(b.TempDir(), "free.db")
		db = open(path, synced)
		value := make([]byte, 500)
		for start := 0; start < records; start += 10_000 {
			err := db.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("res"))
				if err != nil {
					return err
				}
				for i := start; i < start+10_000; i++ {
					binary.BigEndian.PutUint64(key[:], uint64(i))
					if err := bk.Put(key[:], value); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		err := db.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket([]byte("res"))
			for i := range records {
				if i%10 != 0 {
					binary.BigEndian.PutUint64(key[:], uint64(i))
					if err := bk.Delete(key[:]); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return db, path
	}
	synced, _ := fill(true)
	defer synced.Close()
	unsynced, path := fill(false)
	unsynced.Close()
	start := time.Now()
	if err := walkPages(path); err != nil {
		b.Fatal(err)
	}
	walk := time.Since(start)
	start = time.Now()
	unsynced = open(path, false)
	rebuild := time.Since(start)
	defer unsynced.Close()
	free := unsynced.Stats().FreePageN
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}

	var took [2]time.Duration
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint64(key[:], uint64(records+i))
		for j, db := range []*bolt.DB{synced, unsynced} {
			start := time.Now()
			err := db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("res")).Put(key[:], []byte("value"))
			})
			if err != nil {
				b.Fatal(err)
			}
			took[j] += time.Since(start)
		}
	}
	b.ReportMetric(float64(took[0].Microseconds())/float64(b.N), "synced-µs/commit")
	b.ReportMetric(float64(took[1].Microseconds())/float64(b.N), "unsynced-µs/commit")
	b.ReportMetric(float64(free), "free-pages")
	b.ReportMetric(float64(info.Size())/(1<<20), "file-MiB")
	b.ReportMetric(float64(walk.Microseconds())/1000, "walk-ms")
	b.ReportMetric(float64(rebuild.Microseconds())/1000, "rebuild-ms")
}
