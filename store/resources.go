package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
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

// ErrNotFound is what every Get reports (errors.Is) for a record that is
// not stored. A record that is stored but does not decode is reported
// with another error: it is damage, not absence.
var ErrNotFound = errors.New("not found")

func notFound(what ...string) error {
	return fmt.Errorf("store: %s: %w", strings.Join(what, " "), ErrNotFound)
}

// bucket returns the named bucket, creating it in a writable transaction.
// In a read-only transaction a missing bucket yields nil: callers treat it
// as empty.
func (tx *Tx) bucket(name []byte) (*bucket, error) {
	if b := tx.btx.Bucket(name); b != nil || !tx.btx.Writable() {
		return b, nil
	}
	b, err := tx.btx.CreateBucketIfNotExists(name)
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
func (tx *Tx) GetResource(typ, id string) (doc []byte, seq uint64, err error) {
	b := tx.btx.Bucket(resBucketName(typ))
	if b == nil {
		return nil, 0, notFound(typ, id)
	}
	v := b.Get([]byte(id))
	if v == nil {
		return nil, 0, notFound(typ, id)
	}
	if len(v) < 8 {
		return nil, 0, fmt.Errorf("store: %s %s: record of %d bytes has no sequence", typ, id, len(v))
	}
	return v[8:], binary.BigEndian.Uint64(v[:8]), nil
}

// ResourceExists reports whether a resource of typ with id is stored.
func (tx *Tx) ResourceExists(typ, id string) bool {
	b := tx.btx.Bucket(resBucketName(typ))
	return b != nil && b.Get([]byte(id)) != nil
}

// CreateResource stores a new resource and its index entries, and returns
// its creation sequence. doc is the resource's JSON; a userName another
// user holds is refused with a *ConflictError before anything changes.
func (tx *Tx) CreateResource(typ, id string, doc []byte) (uint64, error) {
	keys, err := indexedOf(typ, id, doc)
	if err != nil {
		return 0, err
	}
	res, err := tx.bucket(resBucketName(typ))
	if err != nil {
		return 0, err
	}
	if res.Get([]byte(id)) != nil {
		return 0, fmt.Errorf("store: %s %s already exists", typ, id)
	}
	if err := tx.reindex(typ, id, indexed{}, keys); err != nil {
		return 0, err
	}
	order, err := tx.bucket(orderBucketName(typ))
	if err != nil {
		return 0, err
	}
	seq, err := appendOnly(order).NextSequence()
	if err != nil {
		return 0, err
	}
	if err := order.Put(u64(seq), []byte(id)); err != nil {
		return 0, err
	}
	if err := putRecord(res, id, seq, doc); err != nil {
		return 0, err
	}
	return seq, tx.addCount(typ, 1)
}

// UpdateResource replaces the JSON of an existing resource and moves its
// index entries to the new values. A userName another user holds is
// refused with a *ConflictError before anything changes.
func (tx *Tx) UpdateResource(typ, id string, doc []byte) error {
	res := tx.btx.Bucket(resBucketName(typ))
	if res == nil {
		return notFound(typ, id)
	}
	v := res.Get([]byte(id))
	if len(v) < 8 {
		return notFound(typ, id)
	}
	old, err := indexedOf(typ, id, v[8:])
	if err != nil {
		return err
	}
	keys, err := indexedOf(typ, id, doc)
	if err != nil {
		return err
	}
	if err := tx.reindex(typ, id, old, keys); err != nil {
		return err
	}
	return putRecord(res, id, binary.BigEndian.Uint64(v[:8]), doc)
}

// Update is a replacement of a resource's JSON prepared outside the write
// transaction: the indexed values of the document it replaces and of the
// new one are read here, not in the serialised commit (two scans of the
// documents, a quarter of a PATCH's CPU inside the commit).
type Update struct {
	typ, id   string
	prev, doc []byte
	old, keys indexed
	err       error
}

// PrepareUpdate prepares replacing typ/id's stored JSON prev with doc. The
// caller must not change either slice afterwards.
func PrepareUpdate(typ, id string, prev, doc []byte) *Update {
	u := &Update{typ: typ, id: id, prev: prev, doc: doc}
	if u.old, u.err = indexedOf(typ, id, prev); u.err == nil {
		u.keys, u.err = indexedOf(typ, id, doc)
	}
	return u
}

// ApplyUpdate is UpdateResource(typ, id, doc) for a prepared update: if
// the stored JSON is still the prepared prev, the index values read then
// are used; otherwise (another write got in between) it is an ordinary
// UpdateResource.
func (tx *Tx) ApplyUpdate(u *Update) error {
	res := tx.btx.Bucket(resBucketName(u.typ))
	if res == nil {
		return notFound(u.typ, u.id)
	}
	v := res.Get([]byte(u.id))
	if len(v) < 8 {
		return notFound(u.typ, u.id)
	}
	if u.err != nil || !bytes.Equal(v[8:], u.prev) {
		return tx.UpdateResource(u.typ, u.id, u.doc)
	}
	if err := tx.reindex(u.typ, u.id, u.old, u.keys); err != nil {
		return err
	}
	return putRecord(res, u.id, binary.BigEndian.Uint64(v[:8]), u.doc)
}

// DeleteResource removes a resource and its index entries (not its
// memberships: the caller reports each one it removes).
func (tx *Tx) DeleteResource(typ, id string) error {
	res := tx.btx.Bucket(resBucketName(typ))
	if res == nil {
		return notFound(typ, id)
	}
	v := res.Get([]byte(id))
	if len(v) < 8 {
		return notFound(typ, id)
	}
	old, err := indexedOf(typ, id, v[8:])
	if err != nil {
		return err
	}
	if err := tx.unindex(typ, id, old); err != nil {
		return err
	}
	seq := binary.BigEndian.Uint64(v[:8])
	if err := tx.keepActivityKey(typ, id, seq); err != nil {
		return err
	}
	if err := res.Delete([]byte(id)); err != nil {
		return err
	}
	if order := tx.btx.Bucket(orderBucketName(typ)); order != nil {
		if err := order.Delete(u64(seq)); err != nil {
			return err
		}
	}
	return tx.addCount(typ, -1)
}

func putRecord(b *bucket, id string, seq uint64, doc []byte) error {
	rec := make([]byte, 8+len(doc))
	binary.BigEndian.PutUint64(rec, seq)
	copy(rec[8:], doc)
	return b.Put([]byte(id), rec)
}

// CountResources returns the number of stored resources of typ.
func (tx *Tx) CountResources(typ string) int {
	b := tx.btx.Bucket(bucketCount)
	if b == nil {
		return 0
	}
	v := b.Get([]byte(typ))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

func (tx *Tx) addCount(typ string, delta int) error {
	b, err := tx.bucket(bucketCount)
	if err != nil {
		return err
	}
	n := max(tx.CountResources(typ)+delta, 0)
	return b.Put([]byte(typ), u64(uint64(n)))
}

// ScanResources calls fn for each resource of typ in creation order,
// starting after skip resources, until fn returns false. Skipping walks
// keys only (no JSON is read), so a page costs what it returns plus a key
// walk to its start.
func (tx *Tx) ScanResources(typ string, skip int, fn func(id string, doc []byte) (more bool, err error)) error {
	order := tx.btx.Bucket(orderBucketName(typ))
	res := tx.btx.Bucket(resBucketName(typ))
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

// Optional turns a Get's ErrNotFound into (nil, nil), for callers to
// whom a missing record is an ordinary state (no mapping yet, no shadow):
//
//	m, err := store.Optional(tx.GetMapping(c, typ, id))
//
// Any other error, such as a record that does not decode, is kept.
func Optional[T any](v *T, err error) (*T, error) {
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return v, err
}
