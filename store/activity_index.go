package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Deferred indexing. A write's transaction appends its event to act/log
// only (one append: the log's last page), and IndexActivity files events
// into act/res, act/name and act/rname later, in batches, recording the
// last event it filed (the watermark, meta "activityIndexed") in the same
// transaction. Readers take the index up to the watermark and scan the
// unindexed tail (events after it), so a timeline is exactly as true as
// the data at every moment; a crash loses nothing (the tail is in the log)
// and never files an event twice (the watermark commits with the index).
//
// An act/log value is
//
//	time (8, unix ns) + flags|len(key) (2) + key [+ names] + data
//
// where the top bit of the length word says a names block follows the key:
// uvarint count, then each name as uvarint length + bytes (as the writer
// gave them; folded when filed). Events without names, and every event of
// a file written before deferred indexing, have no block.
const (
	actNamesFlag = 0x8000
	actKeyMax    = 0x7fff
)

var actIndexedKey = []byte("activityIndexed")

func encodeActivity(t time.Time, key string, names []string, data []byte) []byte {
	size := 10 + len(key) + len(data)
	if len(names) > 0 {
		size += binary.MaxVarintLen16
		for _, n := range names {
			size += binary.MaxVarintLen32 + len(n)
		}
	}
	v := make([]byte, 10, size)
	binary.BigEndian.PutUint64(v, uint64(t.UnixNano()))
	word := uint16(len(key))
	if len(names) > 0 {
		word |= actNamesFlag
	}
	binary.BigEndian.PutUint16(v[8:], word)
	v = append(v, key...)
	if len(names) > 0 {
		v = binary.AppendUvarint(v, uint64(len(names)))
		for _, n := range names {
			v = binary.AppendUvarint(v, uint64(len(n)))
			v = append(v, n...)
		}
	}
	return append(v, data...)
}

// decodeActivityValue reads an act/log value, and the names it carries
// when withNames.
func decodeActivityValue(seq uint64, v []byte, withNames bool) (ActivityRecord, []string, error) {
	if len(v) < 10 {
		return ActivityRecord{}, nil, fmt.Errorf("store: activity event %d is %d bytes", seq, len(v))
	}
	word := binary.BigEndian.Uint16(v[8:])
	n := int(word &^ actNamesFlag)
	if len(v) < 10+n {
		return ActivityRecord{}, nil, fmt.Errorf("store: activity event %d is cut short", seq)
	}
	typ, id, ok := strings.Cut(string(v[10:10+n]), "/")
	if !ok {
		return ActivityRecord{}, nil, fmt.Errorf("store: activity event %d names no resource", seq)
	}
	rest := v[10+n:]
	var names []string
	if word&actNamesFlag != 0 {
		count, w := binary.Uvarint(rest)
		if w <= 0 {
			return ActivityRecord{}, nil, fmt.Errorf("store: activity event %d: bad names block", seq)
		}
		rest = rest[w:]
		for range count {
			l, w := binary.Uvarint(rest)
			if w <= 0 || uint64(len(rest)-w) < l {
				return ActivityRecord{}, nil, fmt.Errorf("store: activity event %d: bad names block", seq)
			}
			if withNames {
				names = append(names, string(rest[w:w+int(l)]))
			}
			rest = rest[w+int(l):]
		}
	}
	return ActivityRecord{Seq: seq, Time: time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC(), Type: typ, ID: id, Data: rest}, names, nil
}

// activityOf reports whether the act/log value v is an event of the
// resource key ("typ/id"), without decoding it.
func activityOf(v, key []byte) bool {
	if len(v) < 10 {
		return false
	}
	n := int(binary.BigEndian.Uint16(v[8:]) &^ actNamesFlag)
	return n == len(key) && len(v) >= 10+n && bytes.Equal(v[10:10+n], key)
}

// activityNamed reports whether the act/log value v carries a name that
// files as folded (indexName), reading the names block in place.
func activityNamed(v []byte, folded string) bool {
	if len(v) < 10 || binary.BigEndian.Uint16(v[8:])&actNamesFlag == 0 {
		return false
	}
	n := 10 + int(binary.BigEndian.Uint16(v[8:])&^actNamesFlag)
	if len(v) < n {
		return false
	}
	rest := v[n:]
	count, w := binary.Uvarint(rest)
	if w <= 0 {
		return false
	}
	rest = rest[w:]
	for range count {
		l, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < l {
			return false
		}
		name := rest[w : w+int(l)]
		rest = rest[w+int(l):]
		if indexName(string(name)) == folded {
			return true
		}
	}
	return false
}

// indexName is a name as act/name keeps it ("" when it is not kept).
func indexName(n string) string {
	n = Fold(strings.TrimSpace(n))
	if strings.Contains(n, "\x00") {
		return ""
	}
	return n
}

// activityWatermark is the last event filed in act/res and act/name. A
// file written before deferred indexing has no mark: everything it logged
// is indexed.
func (tx *Tx) activityWatermark(lb *bucket) uint64 {
	if m := tx.btx.Bucket(metaBucket); m != nil {
		if v := m.Get(actIndexedKey); len(v) == 8 {
			return binary.BigEndian.Uint64(v)
		}
	}
	if lb == nil {
		return 0
	}
	return lb.Sequence()
}

// activityTail calls fn with each unindexed event (after the watermark),
// newest first, until fn returns false.
func (tx *Tx) activityTail(lb *bucket, fn func(seq uint64, v []byte) bool) {
	w := tx.activityWatermark(lb)
	if w >= lb.Sequence() {
		return
	}
	c := lb.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		seq := binary.BigEndian.Uint64(k)
		if seq <= w || !fn(seq, v) {
			return
		}
	}
}

// UnindexedActivity is how many events IndexActivity has still to file.
func (tx *Tx) UnindexedActivity() int {
	lb := tx.btx.Bucket(actLogBucket)
	if lb == nil {
		return 0
	}
	w := tx.activityWatermark(lb)
	if s := lb.Sequence(); s > w {
		return int(s - w)
	}
	return 0
}

// IndexActivity files up to limit unindexed events (limit <= 0: all) in
// act/res and, for the names they carry, act/name and act/rname, and moves
// the watermark past them. It returns how many it filed. Run in a
// transaction of its own (or DB.Batch: it reads the watermark it moves).
func (tx *Tx) IndexActivity(limit int) (int, error) {
	lb := tx.btx.Bucket(actLogBucket)
	if lb == nil {
		return 0, nil
	}
	w := tx.activityWatermark(lb)
	if w >= lb.Sequence() {
		return 0, nil
	}
	rb, err := tx.actBucket(actResBucket)
	if err != nil {
		return 0, err
	}
	n, last := 0, w
	c := lb.Cursor()
	for k, v := c.Seek(seqKey(w + 1)); k != nil && (limit <= 0 || n < limit); k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		r, names, err := decodeActivityValue(seq, v, true)
		if err != nil {
			return n, err
		}
		if err := rb.Put(append(tx.actPrefix(r.Type, r.ID), k...), nil); err != nil {
			return n, err
		}
		if err := tx.putActivityNames(r.Type, r.ID, names); err != nil {
			return n, err
		}
		last = seq
		n++
	}
	if n == 0 {
		return 0, nil
	}
	return n, tx.setActivityWatermark(last)
}

func (tx *Tx) setActivityWatermark(seq uint64) error {
	m, err := tx.actBucket(metaBucket)
	if err != nil {
		return err
	}
	return m.Put(actIndexedKey, u64(seq))
}

// migrateActivityIndex marks an older file's log as fully indexed (it was
// indexed as it was written) and stamps the layout version that defers
// indexing, so an older build refuses the file instead of missing the
// unindexed tail. Open runs it.
func migrateActivityIndex(tx *Tx) error {
	m, err := tx.actBucket(metaBucket)
	if err != nil {
		return err
	}
	if m.Get(actIndexedKey) == nil {
		var seq uint64
		if lb := tx.btx.Bucket(actLogBucket); lb != nil {
			seq = lb.Sequence()
		}
		if err := m.Put(actIndexedKey, u64(seq)); err != nil {
			return err
		}
	}
	if v := m.Get(schemaVersion); len(v) == 8 && binary.BigEndian.Uint64(v) < SchemaVersion {
		return m.Put(schemaVersion, u64(SchemaVersion))
	}
	return nil
}
