package store

import (
	"encoding/binary"
	"path/filepath"
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
