package store

import (
	"bytes"
	"encoding/binary"
)

// Ordered reads for listing (issue 16): a page continues where the
// previous one ended without walking the keys before it, and a list
// sorted by userName (users) or displayName (groups) reads the index in
// key order instead of sorting the resources.

// OrderState returns what a remembered list position depends on: the
// number of resources of typ and the last creation sequence handed out.
// A create raises both by one, a delete lowers the count only, so
// between two states (c0, s0) and (c1, s1) no resource was deleted
// exactly when c1 == c0 + (s1 - s0): positions in creation order are
// then unchanged.
func (tx *Tx) OrderState(typ string) (count int, lastSeq uint64) {
	count = tx.CountResources(typ)
	if order := tx.btx.Bucket(orderBucketName(typ)); order != nil {
		lastSeq = order.Sequence()
	}
	return count, lastSeq
}

// ScanResourcesAfter is ScanResources starting with the first resource
// created after sequence after (0: from the first), skipping skip more;
// fn also receives each resource's creation sequence.
func (tx *Tx) ScanResourcesAfter(typ string, after uint64, skip int, fn func(seq uint64, id string, doc []byte) (more bool, err error)) error {
	order := tx.btx.Bucket(orderBucketName(typ))
	res := tx.btx.Bucket(resBucketName(typ))
	if order == nil || res == nil {
		return nil
	}
	c := order.Cursor()
	k, id := c.Seek(u64(after + 1))
	for ; k != nil; k, id = c.Next() {
		if skip > 0 {
			skip--
			continue
		}
		v := res.Get(id)
		if len(v) < 8 {
			continue // order entry without a record: skip rather than fail a listing
		}
		more, err := fn(binary.BigEndian.Uint64(k), string(id), v[8:])
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// ScanIndexOrder calls fn with the ids of typ in the order of an index's
// keys (case-folded values, then id), ascending or descending, after
// skipping skip of them, until fn returns false. index is "userName"
// (users) or IndexDisplayName, IndexExternalID, IndexEmail.
func (tx *Tx) ScanIndexOrder(index, typ string, descending bool, skip int, fn func(id string) (more bool, err error)) error {
	unique := index == "userName"
	name := multiBucketName(index, typ)
	if unique {
		name = bucketUserName
	}
	b := tx.btx.Bucket(name)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	first, next := c.First, c.Next
	if descending {
		first, next = c.Last, c.Prev
	}
	for k, v := first(); k != nil; k, v = next() {
		if skip > 0 {
			skip--
			continue
		}
		id := v
		if !unique {
			i := bytes.LastIndexByte(k, 0)
			if i < 0 {
				continue
			}
			id = k[i+1:]
		}
		more, err := fn(string(id))
		if err != nil || !more {
			return err
		}
	}
	return nil
}
