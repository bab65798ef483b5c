package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The activity log: an append-only record of what happened to each
// resource (a SCIM write, a delivery step, an operator's action). The
// store keeps each event's time, resource and the names it is findable by;
// the event itself is opaque bytes encoded by its writer (package
// activitylog), so the log can grow fields without a store change.
//
//	act/log    seq → time (8, unix ns) + len(key) (2) + key ("typ/id") [+ names] + data
//	           (the names block: activity_index.go)
//	act/res    resource prefix + seq → empty: one resource's events, oldest first,
//	           up to the watermark (events after it are filed by IndexActivity)
//	act/gone   typ + "/" + id → creation seq (8) of a deleted resource with events
//	act/name   Fold(name) + "\x00" + typ + "/" + id → empty: names a resource had
//	act/rname  typ + "/" + id + "\x00" + Fold(name) → empty: the same, by resource
//	act/erase  time (8, unix ns) + typ + "/" + id → empty: deleted resources whose
//	           values are erased once the time is older than the retention
//
// A resource's prefix in act/res is 0x01 + typ + "/" + its creation
// sequence (res/<typ>, or act/gone once deleted), so the events of new
// resources append at the end of the index instead of landing on random
// pages (an import's creates cost one more page, not one per create); a
// resource the store never held (an operator action) has 0x02 + typ + "/"
// + id + "/".
//
// act/log's sequence only grows and pruning deletes from its oldest end,
// so its keys are contiguous: the count is last - first + 1.
var (
	actLogBucket   = []byte("act/log")
	actResBucket   = []byte("act/res")
	actNameBucket  = []byte("act/name")
	actRNameBucket = []byte("act/rname")
	actEraseBucket = []byte("act/erase")
	actGoneBucket  = []byte("act/gone")
)

// ActivityRecord is one event of the activity log.
type ActivityRecord struct {
	Seq  uint64 // set by AppendActivity: the event's place in the log
	Time time.Time
	Type string
	ID   string
	// Names are values the resource is findable by (userName, emails,
	// displayName), kept folded until the resource's last event goes.
	Names []string
	Data  []byte // the event as its writer encoded it
}

func actKey(typ, id string) string { return typ + "/" + id }

// actPrefix is the resource's prefix in act/res.
func (tx *Tx) actPrefix(typ, id string) []byte {
	var cseq []byte
	if res := tx.btx.Bucket(resBucketName(typ)); res != nil {
		cseq = res.Get([]byte(id))
	}
	if len(cseq) < 8 {
		cseq = nil
		if g := tx.btx.Bucket(actGoneBucket); g != nil {
			cseq = g.Get([]byte(actKey(typ, id)))
		}
	}
	if len(cseq) >= 8 {
		return append([]byte("\x01"+typ+"/"), cseq[:8]...)
	}
	return []byte("\x02" + typ + "/" + id + "/")
}

// actBucket is the named bucket, created on first use: the transaction's
// cached handle when it exists, without CreateBucketIfNotExists's seek of
// the root on every event.
func (tx *Tx) actBucket(name []byte) (*bucket, error) {
	if b := tx.btx.Bucket(name); b != nil {
		return b, nil
	}
	return tx.btx.CreateBucketIfNotExists(name)
}

// keepActivityKey notes a deleted resource's creation sequence, so its
// events stay under their prefix (DeleteResource calls it).
func (tx *Tx) keepActivityKey(typ, id string, cseq uint64) error {
	if tx.btx.Bucket(actLogBucket) == nil {
		return nil // no log in this file
	}
	if !tx.HasActivity(typ, id) {
		return nil
	}
	g, err := tx.btx.CreateBucketIfNotExists(actGoneBucket)
	if err != nil {
		return err
	}
	return g.Put([]byte(actKey(typ, id)), u64(cseq))
}

// AppendActivity adds r to the log (setting r.Seq). It writes act/log
// only: the event carries r.Names, and IndexActivity files it by resource
// and by those names later, in a transaction of its own (readers see the
// unindexed tail through a scan, so nothing is missing meanwhile).
func (tx *Tx) AppendActivity(r *ActivityRecord) error {
	if r.Type == "" || r.ID == "" {
		return errors.New("store: activity record without a resource")
	}
	key := actKey(r.Type, r.ID)
	if len(key) > actKeyMax {
		return errors.New("store: activity record: resource id too long")
	}
	lb, err := tx.actBucket(actLogBucket)
	if err != nil {
		return err
	}
	appendOnly(lb)
	if r.Seq, err = lb.NextSequence(); err != nil {
		return err
	}
	return lb.Put(seqKey(r.Seq), encodeActivity(r.Time, key, r.Names, r.Data))
}

func (tx *Tx) putActivityNames(typ, id string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	nb, err := tx.actBucket(actNameBucket)
	if err != nil {
		return err
	}
	rb, err := tx.actBucket(actRNameBucket)
	if err != nil {
		return err
	}
	key := actKey(typ, id)
	for _, n := range names {
		if n = indexName(n); n == "" {
			continue
		}
		rk := []byte(key + "\x00" + n)
		if rb.Get(rk) != nil {
			continue
		}
		if err := rb.Put(rk, nil); err != nil {
			return err
		}
		if err := nb.Put([]byte(n+"\x00"+key), nil); err != nil {
			return err
		}
	}
	return nil
}

// dropActivityNames forgets every name of the resource.
func (tx *Tx) dropActivityNames(typ, id string) error {
	nb, rb := tx.btx.Bucket(actNameBucket), tx.btx.Bucket(actRNameBucket)
	if nb == nil || rb == nil {
		return nil
	}
	key := actKey(typ, id)
	prefix := []byte(key + "\x00")
	var names []string
	c := rb.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		names = append(names, string(k[len(prefix):]))
	}
	for _, n := range names {
		if err := rb.Delete([]byte(key + "\x00" + n)); err != nil {
			return err
		}
		if err := nb.Delete([]byte(n + "\x00" + key)); err != nil {
			return err
		}
	}
	return nil
}

// decodeActivity reads an act/log value; the names it carries (for the
// indexer) are skipped.
func decodeActivity(seq uint64, v []byte) (ActivityRecord, error) {
	r, _, err := decodeActivityValue(seq, v, false)
	return r, err
}

// ActivityOf calls fn with the resource's events, newest first, starting
// below the sequence before (0: from the newest); fn returning false
// stops. Data is valid only during fn. It costs the resource's own events.
func (tx *Tx) ActivityOf(typ, id string, before uint64, fn func(r ActivityRecord) bool) error {
	rb, lb := tx.btx.Bucket(actResBucket), tx.btx.Bucket(actLogBucket)
	if lb == nil {
		return nil
	}
	if before == 0 {
		before = ^uint64(0)
	}
	// The unindexed tail first: its events are newer than any indexed.
	stopped := false
	var ferr error
	key := []byte(actKey(typ, id))
	tx.activityTail(lb, func(seq uint64, v []byte) bool {
		if seq >= before || !activityOf(v, key) {
			return true
		}
		r, err := decodeActivity(seq, v)
		if err != nil {
			ferr = err
			return false
		}
		stopped = !fn(r)
		return !stopped
	})
	if ferr != nil || stopped || rb == nil {
		return ferr
	}
	prefix := tx.actPrefix(typ, id)
	c := rb.Cursor()
	var k []byte
	k, _ = c.Seek(append(bytes.Clone(prefix), seqKey(before)...))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev() // the key sought is never stored: start below it
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if len(k) != len(prefix)+8 {
			continue // another resource whose id extends this one's
		}
		seq := binary.BigEndian.Uint64(k[len(prefix):])
		v := lb.Get(k[len(prefix):])
		if v == nil {
			return fmt.Errorf("store: act/res names event %d, which is not in the log", seq)
		}
		r, err := decodeActivity(seq, v)
		if err != nil {
			return err
		}
		if !fn(r) {
			return nil
		}
	}
	return nil
}

// HasActivity reports whether the resource has events in the log.
func (tx *Tx) HasActivity(typ, id string) bool {
	if rb := tx.btx.Bucket(actResBucket); rb != nil {
		prefix := tx.actPrefix(typ, id)
		c := rb.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) == len(prefix)+8 {
				return true
			}
		}
	}
	found := false
	if lb := tx.btx.Bucket(actLogBucket); lb != nil {
		key := []byte(actKey(typ, id))
		tx.activityTail(lb, func(_ uint64, v []byte) bool { found = activityOf(v, key); return !found })
	}
	return found
}

// RecentActivity calls fn with every event, newest first, starting below
// the sequence before (0: from the newest); fn returning false stops.
// Data is valid only during fn.
func (tx *Tx) RecentActivity(before uint64, fn func(r ActivityRecord) bool) error {
	lb := tx.btx.Bucket(actLogBucket)
	if lb == nil {
		return nil
	}
	c := lb.Cursor()
	var k, v []byte
	if before == 0 {
		k, v = c.Last()
	} else if k, v = c.Seek(seqKey(before)); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil; k, v = c.Prev() {
		r, err := decodeActivity(binary.BigEndian.Uint64(k), v)
		if err != nil {
			return err
		}
		if !fn(r) {
			return nil
		}
	}
	return nil
}

// ActivityResources returns the resources (type, id) that had name, as
// recorded in their events, at most limit of them, ordered by type and id.
func (tx *Tx) ActivityResources(name string, limit int) [][2]string {
	folded := Fold(strings.TrimSpace(name))
	var out [][2]string
	seen := map[[2]string]bool{}
	add := func(typ, id string) {
		if k := [2]string{typ, id}; !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if nb := tx.btx.Bucket(actNameBucket); nb != nil {
		prefix := []byte(folded + "\x00")
		c := nb.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			if typ, id, ok := strings.Cut(string(k[len(prefix):]), "/"); ok {
				add(typ, id)
			}
		}
	}
	if lb := tx.btx.Bucket(actLogBucket); lb != nil && folded != "" {
		tx.activityTail(lb, func(seq uint64, v []byte) bool {
			if activityNamed(v, folded) {
				if r, err := decodeActivity(seq, v); err == nil {
					add(r.Type, r.ID)
				}
			}
			return true
		})
	}
	// The same answer as once the tail is indexed: act/name's order.
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// ActivityStats returns the number of events in the log and the time of
// the oldest (zero when empty). Two seeks, whatever the size.
func (tx *Tx) ActivityStats() (count int, oldest time.Time) {
	lb := tx.btx.Bucket(actLogBucket)
	if lb == nil {
		return 0, time.Time{}
	}
	c := lb.Cursor()
	fk, fv := c.First()
	lk, _ := c.Last()
	if fk == nil {
		return 0, time.Time{}
	}
	if r, err := decodeActivity(0, fv); err == nil {
		oldest = r.Time
	}
	return int(binary.BigEndian.Uint64(lk)-binary.BigEndian.Uint64(fk)) + 1, oldest
}

// PruneActivity deletes up to limit of the oldest events: those older
// than before, and any beyond the newest keep (keep <= 0: no bound). A
// resource left without events loses its names. It returns how many it
// deleted; fewer than limit means nothing more is due.
func (tx *Tx) PruneActivity(before time.Time, keep, limit int) (int, error) {
	lb := tx.btx.Bucket(actLogBucket)
	if lb == nil {
		return 0, nil
	}
	rb := tx.btx.Bucket(actResBucket)
	count, _ := tx.ActivityStats()
	indexed := tx.activityWatermark(lb)
	c := lb.Cursor()
	n := 0
	emptied := map[string][2]string{}
	for k, v := c.First(); k != nil && n < limit; k, v = c.First() {
		seq := binary.BigEndian.Uint64(k)
		if seq > indexed {
			break // not indexed yet: IndexActivity first
		}
		r, err := decodeActivity(seq, v)
		if err != nil {
			return n, err
		}
		if !r.Time.Before(before) && (keep <= 0 || count-n <= keep) {
			break
		}
		if rb != nil {
			if err := rb.Delete(append(tx.actPrefix(r.Type, r.ID), seqKey(seq)...)); err != nil {
				return n, err
			}
		}
		if err := c.Delete(); err != nil {
			return n, err
		}
		emptied[actKey(r.Type, r.ID)] = [2]string{r.Type, r.ID}
		n++
	}
	for _, res := range emptied {
		if !tx.HasActivity(res[0], res[1]) {
			if err := tx.dropActivityNames(res[0], res[1]); err != nil {
				return n, err
			}
			if g := tx.btx.Bucket(actGoneBucket); g != nil {
				if err := g.Delete([]byte(actKey(res[0], res[1]))); err != nil {
					return n, err
				}
			}
		}
	}
	return n, nil
}

// ScheduleActivityErase notes that the resource was deleted at t: its
// events' values are erased once t is older than the retention
// (DueActivityErasures, EraseActivity).
func (tx *Tx) ScheduleActivityErase(typ, id string, t time.Time) error {
	b, err := tx.btx.CreateBucketIfNotExists(actEraseBucket)
	if err != nil {
		return err
	}
	return b.Put(ActivityErasure{Type: typ, ID: id, Deleted: t}.key(), nil)
}

// ActivityErasure is a deleted resource whose values are to be erased.
type ActivityErasure struct {
	Type, ID string
	Deleted  time.Time
}

func (e ActivityErasure) key() []byte {
	return append(seqKey(uint64(e.Deleted.UnixNano())), actKey(e.Type, e.ID)...)
}

// DueActivityErasures returns up to limit resources deleted before t whose
// values are still to be erased, oldest deletion first.
func (tx *Tx) DueActivityErasures(t time.Time, limit int) []ActivityErasure {
	b := tx.btx.Bucket(actEraseBucket)
	if b == nil {
		return nil
	}
	var out []ActivityErasure
	c := b.Cursor()
	for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k)) >= t.UnixNano() {
			break
		}
		if typ, id, ok := strings.Cut(string(k[8:]), "/"); ok {
			out = append(out, ActivityErasure{Type: typ, ID: id, Deleted: time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC()})
		}
	}
	return out
}

// EraseActivity rewrites every event of the resource with rewrite (which
// returns the event's data with its values removed), forgets the names it
// was findable by and drops its erase schedule. The events stay until
// they are pruned. It returns how many events it rewrote.
func (tx *Tx) EraseActivity(e ActivityErasure, rewrite func(data []byte) ([]byte, error)) (int, error) {
	lb := tx.btx.Bucket(actLogBucket)
	var seqs []uint64
	if err := tx.ActivityOf(e.Type, e.ID, 0, func(r ActivityRecord) bool { seqs = append(seqs, r.Seq); return true }); err != nil {
		return 0, err
	}
	key := actKey(e.Type, e.ID)
	for _, seq := range seqs {
		v := lb.Get(seqKey(seq))
		r, err := decodeActivity(seq, v)
		if err != nil {
			return 0, err
		}
		data, err := rewrite(r.Data)
		if err != nil {
			return 0, err
		}
		nv := encodeActivity(r.Time, key, nil, data) // the names it carried go too
		if err := lb.Put(seqKey(seq), nv); err != nil {
			return 0, err
		}
	}
	if err := tx.dropActivityNames(e.Type, e.ID); err != nil {
		return 0, err
	}
	if b := tx.btx.Bucket(actEraseBucket); b != nil {
		if err := b.Delete(e.key()); err != nil {
			return 0, err
		}
	}
	return len(seqs), nil
}

// activity checks the activity log's buckets against each other: act/log
// keys are contiguous and every event decodes; every event up to the
// watermark is in act/res and none after it; act/res names only logged
// events of its own resource; act/name and act/rname mirror each other and
// name only resources with events.
func (v *verifier) activity() {
	lb, rb := v.tx.btx.Bucket(actLogBucket), v.tx.btx.Bucket(actResBucket)
	var prev, first, mark uint64
	events, upToMark := 0, 0
	if lb != nil {
		mark = v.tx.activityWatermark(lb)
		if m := v.tx.btx.Bucket(metaBucket); m != nil {
			if val := m.Get(actIndexedKey); val != nil && len(val) != 8 {
				v.report("meta: activityIndexed holds %d bytes, not a sequence", len(val))
			}
		}
		if mark > lb.Sequence() {
			v.report("meta: activityIndexed is %d, past the last event logged (%d)", mark, lb.Sequence())
		}
		_ = lb.ForEach(func(k, val []byte) error {
			events++
			if len(k) != 8 {
				v.report("act/log: key %x is not a sequence", k)
				return nil
			}
			seq := binary.BigEndian.Uint64(k)
			if prev != 0 && seq != prev+1 {
				v.report("act/log: events %d to %d are missing (the log is pruned only from its oldest end)", prev+1, seq-1)
			}
			if first == 0 {
				first = seq
			}
			prev = seq
			r, _, err := decodeActivityValue(seq, val, true)
			if err != nil {
				v.report("act/log: %v", err)
				return nil
			}
			in := rb != nil && rb.Get(append(v.tx.actPrefix(r.Type, r.ID), k...)) != nil
			switch {
			case seq <= mark && !in:
				v.report("act/log: event %d (%s/%s) is missing from act/res", seq, r.Type, r.ID)
			case seq > mark && in:
				v.report("act/log: event %d (%s/%s) is in act/res but after the index's watermark %d", seq, r.Type, r.ID, mark)
			}
			if seq <= mark {
				upToMark++
			}
			return nil
		})
		if first > mark+1 {
			v.report("act/log: events %d to %d were pruned before they were indexed (watermark %d)", mark+1, first-1, mark)
		}
	}
	if rb != nil {
		indexed := 0
		_ = rb.ForEach(func(k, _ []byte) error {
			indexed++
			if len(k) < 11 || (k[0] != 1 && k[0] != 2) {
				v.report("act/res: %q is not a resource and sequence", k)
				return nil
			}
			seq := binary.BigEndian.Uint64(k[len(k)-8:])
			var val []byte
			if lb != nil {
				val = lb.Get(k[len(k)-8:])
			}
			if val == nil {
				v.report("act/res: %q names event %d, which is not in the log", k[:len(k)-8], seq)
				return nil
			}
			if r, err := decodeActivity(seq, val); err == nil && !bytes.Equal(v.tx.actPrefix(r.Type, r.ID), k[:len(k)-8]) {
				v.report("act/res: %q names event %d, which is of %s/%s", k[:len(k)-8], seq, r.Type, r.ID)
			}
			return nil
		})
		if indexed != upToMark {
			v.report("act/log holds %d events up to the index's watermark, act/res %d", upToMark, indexed)
		}
	}
	if g := v.tx.btx.Bucket(actGoneBucket); g != nil {
		_ = g.ForEach(func(k, val []byte) error {
			typ, id, _ := strings.Cut(string(k), "/")
			switch {
			case len(val) != 8:
				v.report("act/gone: %s holds %d bytes, not a sequence", k, len(val))
			case v.tx.ResourceExists(typ, id):
				v.report("act/gone: %s is not deleted", k)
			case !v.tx.HasActivity(typ, id):
				v.report("act/gone: %s has no events", k)
			}
			return nil
		})
	}
	nb, rnb := v.tx.btx.Bucket(actNameBucket), v.tx.btx.Bucket(actRNameBucket)
	names := 0
	if nb != nil {
		_ = nb.ForEach(func(k, _ []byte) error {
			names++
			name, key, ok := strings.Cut(string(k), "\x00")
			typ, id, ok2 := strings.Cut(key, "/")
			if !ok || !ok2 {
				v.report("act/name: %q is not a name and resource", k)
				return nil
			}
			if rnb == nil || rnb.Get([]byte(key+"\x00"+name)) == nil {
				v.report("act/name: %q → %s is missing from act/rname", name, key)
			}
			if !v.tx.HasActivity(typ, id) {
				v.report("act/name: %q names %s, which has no events", name, key)
			}
			return nil
		})
	}
	if rnb != nil {
		rnames := 0
		_ = rnb.ForEach(func(k, _ []byte) error {
			rnames++
			key, name, _ := strings.Cut(string(k), "\x00")
			if nb == nil || nb.Get([]byte(name+"\x00"+key)) == nil {
				v.report("act/rname: %s → %q is missing from act/name", key, name)
			}
			return nil
		})
		if rnames != names {
			v.report("act/name holds %d names, act/rname %d", names, rnames)
		}
	}
}
