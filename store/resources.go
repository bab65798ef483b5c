package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Resource storage.
//
// Layout (one set of buckets per resource type, typ is TypeUser or TypeGroup):
//
//	res/<typ>    id → record: 8-byte big-endian creation sequence, then the
//	             resource JSON (groups without members, users without groups)
//	order/<typ>  sequence → id: the stable listing order (creation order)
//	count        <typ> → 8-byte big-endian number of resources, so a page
//	             of a large store is answered without counting it
//
// The functions here take the caller's transaction so that one SCIM write
// (resource, indexes, memberships, outbox entries) commits as one unit.

var (
	bucketCount = []byte("count")
)

func resBucketName(typ string) []byte   { return []byte("res/" + typ) }
func orderBucketName(typ string) []byte { return []byte("order/" + typ) }

// ErrNotFound is returned when a resource does not exist.
var ErrNotFound = errors.New("store: resource not found")

// bucket returns the named bucket, creating it in a writable transaction.
// In a read-only transaction a missing bucket yields nil: callers treat it
// as empty.
func bucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	if b := tx.Bucket(name); b != nil || !tx.Writable() {
		return b, nil
	}
	b, err := tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("store: create bucket %s: %w", name, err)
	}
	return b, nil
}

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// GetResource returns the stored JSON of a resource and its creation
// sequence. The returned slice is only valid for the life of tx.
func GetResource(tx *bolt.Tx, typ, id string) (doc []byte, seq uint64, err error) {
	b := tx.Bucket(resBucketName(typ))
	if b == nil {
		return nil, 0, ErrNotFound
	}
	v := b.Get([]byte(id))
	if len(v) < 8 {
		return nil, 0, ErrNotFound
	}
	return v[8:], binary.BigEndian.Uint64(v[:8]), nil
}

// ResourceExists reports whether a resource of typ with id is stored.
func ResourceExists(tx *bolt.Tx, typ, id string) bool {
	b := tx.Bucket(resBucketName(typ))
	return b != nil && b.Get([]byte(id)) != nil
}

// CreateResource stores a new resource and returns its creation sequence.
func CreateResource(tx *bolt.Tx, typ, id string, doc []byte) (uint64, error) {
	res, err := bucket(tx, resBucketName(typ))
	if err != nil {
		return 0, err
	}
	if res.Get([]byte(id)) != nil {
		return 0, fmt.Errorf("store: %s %s already exists", typ, id)
	}
	order, err := bucket(tx, orderBucketName(typ))
	if err != nil {
		return 0, err
	}
	seq, err := order.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := order.Put(u64(seq), []byte(id)); err != nil {
		return 0, err
	}
	if err := putRecord(res, id, seq, doc); err != nil {
		return 0, err
	}
	return seq, addCount(tx, typ, 1)
}

// UpdateResource replaces the JSON of an existing resource.
func UpdateResource(tx *bolt.Tx, typ, id string, doc []byte) error {
	res := tx.Bucket(resBucketName(typ))
	if res == nil {
		return ErrNotFound
	}
	v := res.Get([]byte(id))
	if len(v) < 8 {
		return ErrNotFound
	}
	return putRecord(res, id, binary.BigEndian.Uint64(v[:8]), doc)
}

// DeleteResource removes a resource (not its indexes or memberships: the
// caller knows the indexed values and removes them too).
func DeleteResource(tx *bolt.Tx, typ, id string) error {
	res := tx.Bucket(resBucketName(typ))
	if res == nil {
		return ErrNotFound
	}
	v := res.Get([]byte(id))
	if len(v) < 8 {
		return ErrNotFound
	}
	seq := binary.BigEndian.Uint64(v[:8])
	if err := res.Delete([]byte(id)); err != nil {
		return err
	}
	if order := tx.Bucket(orderBucketName(typ)); order != nil {
		if err := order.Delete(u64(seq)); err != nil {
			return err
		}
	}
	return addCount(tx, typ, -1)
}

func putRecord(b *bolt.Bucket, id string, seq uint64, doc []byte) error {
	rec := make([]byte, 8+len(doc))
	binary.BigEndian.PutUint64(rec, seq)
	copy(rec[8:], doc)
	return b.Put([]byte(id), rec)
}

// CountResources returns the number of stored resources of typ.
func CountResources(tx *bolt.Tx, typ string) int {
	b := tx.Bucket(bucketCount)
	if b == nil {
		return 0
	}
	v := b.Get([]byte(typ))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

func addCount(tx *bolt.Tx, typ string, delta int) error {
	b, err := bucket(tx, bucketCount)
	if err != nil {
		return err
	}
	n := max(CountResources(tx, typ)+delta, 0)
	return b.Put([]byte(typ), u64(uint64(n)))
}

// ScanResources calls fn for each resource of typ in creation order,
// starting after skip resources, until fn returns false. Skipping walks
// keys only (no JSON is read), so a page costs what it returns plus a key
// walk to its start.
func ScanResources(tx *bolt.Tx, typ string, skip int, fn func(id string, doc []byte) (more bool, err error)) error {
	order := tx.Bucket(orderBucketName(typ))
	res := tx.Bucket(resBucketName(typ))
	if order == nil || res == nil {
		return nil
	}
	c := order.Cursor()
	for k, id := c.First(); k != nil; k, id = c.Next() {
		if skip > 0 {
			skip--
			continue
		}
		v := res.Get(id)
		if len(v) < 8 {
			continue // order entry without a record: skip rather than fail a listing
		}
		more, err := fn(string(id), v[8:])
		if err != nil || !more {
			return err
		}
	}
	return nil
}
