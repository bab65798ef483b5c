package store

import (
	"encoding/binary"
	"io"

	bolt "go.etcd.io/bbolt"
)

// boltTx is the store's view of a bbolt transaction. In a write
// transaction every change made through it is also written to rec, the
// transaction's record for the write-ahead log (wal.go): the log, not
// bbolt's own fsync, is what makes a commit durable, and recovery replays
// the records. Read methods are bbolt's own.
type boltTx struct {
	tx  *bolt.Tx
	rec *txRecord // nil in a read transaction, or while the log is off
}

func (t boltTx) Writable() bool                     { return t.tx.Writable() }
func (t boltTx) OnCommit(fn func())                 { t.tx.OnCommit(fn) }
func (t boltTx) ID() int                            { return t.tx.ID() }
func (t boltTx) Size() int64                        { return t.tx.Size() }
func (t boltTx) WriteTo(w io.Writer) (int64, error) { return t.tx.WriteTo(w) }

// Bucket is the top-level bucket name, or nil.
func (t boltTx) Bucket(name []byte) *bucket { return wrapBucket(t.tx.Bucket(name), t.rec, nil, name) }

func (t boltTx) CreateBucket(name []byte) (*bucket, error) {
	b, err := t.tx.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	t.rec.add(opCreateBucket, nil, name, nil)
	return wrapBucket(b, t.rec, nil, name), nil
}

func (t boltTx) CreateBucketIfNotExists(name []byte) (*bucket, error) {
	b, err := t.tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	t.rec.add(opCreateBucket, nil, name, nil)
	return wrapBucket(b, t.rec, nil, name), nil
}

func (t boltTx) DeleteBucket(name []byte) error {
	if err := t.tx.DeleteBucket(name); err != nil {
		return err
	}
	t.rec.add(opDeleteBucket, nil, name, nil)
	return nil
}

// ForEach calls fn for each top-level bucket.
func (t boltTx) ForEach(fn func(name []byte, b *bucket) error) error {
	return t.tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		return fn(name, wrapBucket(b, t.rec, nil, name))
	})
}

// bucket is a bbolt bucket whose changes are recorded (see boltTx). It
// offers only the methods the store uses, so a change cannot go around
// the record.
type bucket struct {
	b      *bolt.Bucket
	rec    *txRecord
	parent *bucket // nil for a top-level bucket
	name   []byte  // the store's bucket names are never changed once made
}

func (b *bucket) Get(key []byte) []byte                    { return b.b.Get(key) }
func (b *bucket) Sequence() uint64                         { return b.b.Sequence() }
func (b *bucket) Stats() bolt.BucketStats                  { return b.b.Stats() }
func (b *bucket) Root() uint64                             { return uint64(b.b.Root()) }
func (b *bucket) Writable() bool                           { return b.b.Writable() }
func (b *bucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(fn) }

// appendOnly marks a bucket whose keys only grow (a sequence) for this
// transaction: bbolt then splits its pages full rather than half full,
// since nothing will be inserted between its keys. Half the pages on disk,
// and fewer splits, so fewer dirty pages, per commit. bbolt does not keep
// the setting, so it is set on each transaction's handle.
func appendOnly(b *bucket) *bucket {
	b.b.FillPercent = 1
	return b
}

func wrapBucket(b *bolt.Bucket, rec *txRecord, parent *bucket, name []byte) *bucket {
	if b == nil {
		return nil
	}
	return &bucket{b: b, rec: rec, parent: parent, name: name}
}

func (b *bucket) Put(key, value []byte) error {
	if err := b.b.Put(key, value); err != nil {
		return err
	}
	b.rec.add(opPut, b, key, value)
	return nil
}

func (b *bucket) Delete(key []byte) error {
	if err := b.b.Delete(key); err != nil {
		return err
	}
	b.rec.add(opDelete, b, key, nil)
	return nil
}

func (b *bucket) NextSequence() (uint64, error) {
	n, err := b.b.NextSequence()
	if err != nil {
		return 0, err
	}
	b.rec.add(opSetSequence, b, nil, u64(n))
	return n, nil
}

func (b *bucket) SetSequence(n uint64) error {
	if err := b.b.SetSequence(n); err != nil {
		return err
	}
	b.rec.add(opSetSequence, b, nil, u64(n))
	return nil
}

// Bucket is the nested bucket name, or nil.
func (b *bucket) Bucket(name []byte) *bucket {
	return wrapBucket(b.b.Bucket(name), b.rec, b, name)
}

func (b *bucket) CreateBucket(name []byte) (*bucket, error) {
	c, err := b.b.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	b.rec.add(opCreateBucket, b, name, nil)
	return wrapBucket(c, b.rec, b, name), nil
}

func (b *bucket) CreateBucketIfNotExists(name []byte) (*bucket, error) {
	c, err := b.b.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	b.rec.add(opCreateBucket, b, name, nil)
	return wrapBucket(c, b.rec, b, name), nil
}

func (b *bucket) DeleteBucket(name []byte) error {
	if err := b.b.DeleteBucket(name); err != nil {
		return err
	}
	b.rec.add(opDeleteBucket, b, name, nil)
	return nil
}

func (b *bucket) Cursor() *cursor { return &cursor{c: b.b.Cursor(), b: b} }

// cursor is a bbolt cursor whose Delete is recorded. It remembers the key
// it stands on, which bbolt's cursor does not say.
type cursor struct {
	c   *bolt.Cursor
	b   *bucket
	key []byte
}

func (c *cursor) at(k, v []byte) ([]byte, []byte) { c.key = k; return k, v }

func (c *cursor) First() ([]byte, []byte)        { return c.at(c.c.First()) }
func (c *cursor) Last() ([]byte, []byte)         { return c.at(c.c.Last()) }
func (c *cursor) Next() ([]byte, []byte)         { return c.at(c.c.Next()) }
func (c *cursor) Prev() ([]byte, []byte)         { return c.at(c.c.Prev()) }
func (c *cursor) Seek(s []byte) ([]byte, []byte) { return c.at(c.c.Seek(s)) }

// Delete removes the key the cursor stands on.
func (c *cursor) Delete() error {
	key := c.key
	if c.b.rec != nil {
		key = append([]byte(nil), key...) // the page may change under it
	}
	if err := c.c.Delete(); err != nil {
		return err
	}
	c.b.rec.add(opDelete, c.b, key, nil)
	return nil
}

// The kinds of change a record holds.
const (
	opPut          byte = 'P' // path, key, value
	opDelete       byte = 'D' // path, key
	opCreateBucket byte = 'B' // parent path, name (created if missing)
	opDeleteBucket byte = 'X' // parent path, name
	opSetSequence  byte = 'S' // path, value = the sequence (8 bytes)
)

// txRecord is one write transaction's changes, in order, encoded as the
// log stores them: per change its kind, the bucket path, the key and the
// value, each length-prefixed. A nil record records nothing.
type txRecord struct {
	buf []byte
	n   int // changes

	tx  *bolt.Tx // the transaction recorded
	end uint64   // the log's position after the record, once appended
	err error    // why it was not appended
}

// add records a change in bucket b (nil: the top level).
func (r *txRecord) add(kind byte, b *bucket, key, value []byte) {
	if r == nil {
		return
	}
	r.n++
	r.buf = append(r.buf, kind)
	var path [8]*bucket // from b up; the store nests two deep
	depth := 0
	for ; b != nil && depth < len(path); b = b.parent {
		path[depth] = b
		depth++
	}
	if b != nil {
		panic("store: buckets nested too deep for the log")
	}
	r.buf = binary.AppendUvarint(r.buf, uint64(depth))
	for i := depth - 1; i >= 0; i-- {
		r.buf = appendBytes(r.buf, path[i].name)
	}
	r.buf = appendBytes(r.buf, key)
	r.buf = appendBytes(r.buf, value)
}

func appendBytes(buf, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}
