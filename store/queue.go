package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// Entry is one queue entry: what one committed write owes one connector.
// Fields are the connector's mapped fields after the write (nil on a
// delete); the dispatcher coalesces a resource's pending entries.
type Entry struct {
	Seq            uint64         `json:"seq"`
	Type           string         `json:"type"`
	ID             string         `json:"id"`
	Op             string         `json:"op"` // "upsert" or "delete"
	Fields         map[string]any `json:"fields,omitempty"`
	Prev           map[string]any `json:"prev,omitempty"` // fields enqueued before this entry (for keyless deletes)
	MembersAdded   []string       `json:"membersAdded,omitempty"`
	MembersRemoved []string       `json:"membersRemoved,omitempty"`
	LeftScope      bool           `json:"leftScope,omitempty"`
	EnqueuedAt     time.Time      `json:"enqueuedAt"`
	Attempts       int            `json:"attempts,omitempty"`
	NextAttempt    time.Time      `json:"nextAttempt,omitzero"`
	LastError      string         `json:"lastError,omitempty"`
	Unauthorized   int            `json:"unauthorized,omitempty"` // consecutive 401s
}

// Key is the entry's resource key, "Type/ID".
func (e *Entry) Key() string { return e.Type + "/" + e.ID }

func queueBucket(connector string) []byte { return []byte("queue/" + connector) }

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// Append adds e to the connector's queue and sets e.Seq.
func (tx *Tx) Append(connector string, e *Entry) error {
	b, err := tx.btx.CreateBucketIfNotExists(queueBucket(connector))
	if err != nil {
		return err
	}
	appendOnly(b)
	if e.Seq, err = b.NextSequence(); err != nil {
		return err
	}
	idx, err := tx.btx.CreateBucketIfNotExists(idxBucket(connector))
	if err != nil {
		return err
	}
	if err := idx.Put(idxKey(e.Type, e.ID, e.Seq), nil); err != nil {
		return err
	}
	return putEntry(b, e)
}

func putEntry(b *bucket, e *Entry) error {
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("store: encode queue entry: %w", err)
	}
	return b.Put(seqKey(e.Seq), v)
}

// The index qidx/<connector> holds "Type/ID/" + seq for every entry, so
// "has this resource pending entries?" is one seek, whatever the depth.
func idxBucket(connector string) []byte { return []byte("qidx/" + connector) }

func idxKey(typ, id string, seq uint64) []byte {
	return append([]byte(typ+"/"+id+"/"), seqKey(seq)...)
}

// HasPending reports whether the resource has entries in the connector's queue.
func (tx *Tx) HasPending(connector, typ, id string) bool {
	b := tx.btx.Bucket(idxBucket(connector))
	if b == nil {
		return false
	}
	prefix := []byte(typ + "/" + id + "/")
	k, _ := b.Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8
}

// PutEntry rewrites an existing entry (attempts, next attempt, last error).
func (tx *Tx) PutEntry(connector string, e *Entry) error {
	b, err := tx.btx.CreateBucketIfNotExists(queueBucket(connector))
	if err != nil {
		return err
	}
	return putEntry(b, e)
}

// DeleteEntry removes the entry (a no-op when absent).
func (tx *Tx) DeleteEntry(connector string, e *Entry) error {
	b := tx.btx.Bucket(queueBucket(connector))
	if b == nil {
		return nil
	}
	if idx := tx.btx.Bucket(idxBucket(connector)); idx != nil {
		if err := idx.Delete(idxKey(e.Type, e.ID, e.Seq)); err != nil {
			return err
		}
	}
	return b.Delete(seqKey(e.Seq))
}

// GetEntry returns the entry with seq, or ErrNotFound.
func (tx *Tx) GetEntry(connector string, seq uint64) (*Entry, error) {
	b := tx.btx.Bucket(queueBucket(connector))
	if b == nil {
		return nil, ErrNotFound
	}
	v := b.Get(seqKey(seq))
	if v == nil {
		return nil, ErrNotFound
	}
	var e Entry
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, fmt.Errorf("store: decode queue entry %d: %w", seq, err)
	}
	return &e, nil
}

// Entries calls fn for up to limit entries (0 = all) in sequence order,
// starting after the sequence after; fn returning false stops.
func (tx *Tx) Entries(connector string, after uint64, limit int, fn func(e *Entry) bool) error {
	b := tx.btx.Bucket(queueBucket(connector))
	if b == nil {
		return nil
	}
	c := b.Cursor()
	n := 0
	for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("store: decode queue entry: %w", err)
		}
		n++
		if !fn(&e) || (limit > 0 && n >= limit) {
			return nil
		}
	}
	return nil
}

// QueueStats returns the depth of the connector's queue and the enqueue
// time of its oldest entry (zero when empty).
func (tx *Tx) QueueStats(connector string) (depth int, oldest time.Time, err error) {
	b := tx.btx.Bucket(queueBucket(connector))
	if b == nil {
		return 0, time.Time{}, nil
	}
	depth = b.Stats().KeyN
	if _, v := b.Cursor().First(); v != nil {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return 0, time.Time{}, fmt.Errorf("store: decode queue entry: %w", err)
		}
		oldest = e.EnqueuedAt
	}
	return depth, oldest, nil
}

// EachRaw calls fn with the sequence and encoded value of up to limit
// entries (0 = all) in order; fn returning false stops. Callers that keep
// decoded entries (the dispatcher caches them) decode only new ones.
func (tx *Tx) EachRaw(connector string, limit int, fn func(seq uint64, v []byte) bool) {
	b := tx.btx.Bucket(queueBucket(connector))
	if b == nil {
		return
	}
	c := b.Cursor()
	n := 0
	for k, v := c.First(); k != nil; k, v = c.Next() {
		n++
		if !fn(binary.BigEndian.Uint64(k), v) || (limit > 0 && n >= limit) {
			return
		}
	}
}

// DecodeEntry decodes a value EachRaw returned.
func DecodeEntry(v []byte) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, fmt.Errorf("store: decode queue entry: %w", err)
	}
	return &e, nil
}

// LastSeq is the highest sequence ever given in the connector's queue.
func (tx *Tx) LastSeq(connector string) uint64 {
	if b := tx.btx.Bucket(queueBucket(connector)); b != nil {
		return b.Sequence()
	}
	return 0
}
