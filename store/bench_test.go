package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

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
		err := db.bolt.Update(func(tx *bolt.Tx) error {
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
// does. It shows what each extra dirty page of a commit costs on this disk.
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
	for _, pages := range []int{1, 4, 13} {
		b.Run(fmt.Sprintf("pages=%d", pages), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(pages)))
			for range b.N {
				for range pages {
					off := int64(2+rng.IntN(fileSize/4096-2)) * 4096
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
