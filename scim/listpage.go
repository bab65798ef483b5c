package scim

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/scimbridge/scimbridge/scimpath"
	"github.com/scimbridge/scimbridge/store"
)

// maxSortResources is the most resources a list sorts in memory (sortBy
// on an attribute without an index, or a filter with sortBy; a variable
// so that tests can lower it). Beyond it
// the list answers 400 tooMany: narrow the filter, or sort by userName
// (users) or displayName (groups), which come from the indexes in order
// at any size. Sorting keeps one key per resource, not the resources.
var maxSortResources = 20000

// listRun is one list request being answered.
type listRun struct {
	s     *Server
	d     *resourceDef
	q     listQuery
	f     *scimpath.Filter
	sort  *scimpath.Sort
	base  string
	plain bool // no projection: stored bytes are served (rawView)
	// withMembers: group members are shown
	withMembers bool
	out         *pageWriter
	total       int
}

// render appends one resource to the page. doc is its decoded form when
// the caller has it (nil otherwise).
func (l *listRun) render(tx *store.Tx, id string, raw []byte, doc map[string]any) error {
	s, d := l.s, l.d
	if l.plain {
		var members []any
		if l.withMembers {
			var err error
			if members, err = s.groupMembers(tx, id, l.base); err != nil {
				return err
			}
		}
		buf, _, ok, err := s.rawView(l.out.next(), tx, d, id, raw, l.base, members)
		if err != nil {
			return err
		}
		if ok {
			l.out.buf = buf
			return nil
		}
		l.out.n-- // not a shape rawView serves: the decoding way below
		if l.out.n > 0 {
			l.out.buf = l.out.buf[:len(l.out.buf)-1]
		}
	}
	if doc == nil {
		var err error
		if doc, err = decodeDoc(raw); err != nil {
			return err
		}
	}
	v, err := s.view(tx, d, doc, l.base, l.withMembers)
	if err != nil {
		return err
	}
	return l.out.appendMap(s.project(d, v, l.q.attrs, l.q.excluded))
}

// derives reports whether matching (or sorting) must see the derived
// attributes a stored document lacks (a user's groups, a group's members,
// meta.location): deriving them for every resource of a scan is costly,
// so only when the expression names them.
func (l *listRun) derives(expr string) bool {
	le := strings.ToLower(expr)
	return (l.d.typ == store.TypeUser && strings.Contains(le, "groups")) ||
		(l.d.typ == store.TypeGroup && strings.Contains(le, "members")) || strings.Contains(le, "location")
}

// sortedEntry is one resource of an in-memory sort.
type sortedEntry struct {
	key scimpath.SortKey
	pos int // position in the scan (creation order; ties keep it)
	id  string
}

// matchAndSort answers a filtered and/or sorted list that no index orders:
// every candidate is matched; without sortBy the page is rendered as the
// scan meets it, with sortBy one key per match is kept, sorted, and the
// page's resources are read again and rendered.
func (l *listRun) matchAndSort(tx *store.Tx) error {
	s, d, q := l.s, l.d, l.q
	if l.f == nil && q.count == 0 {
		l.total = tx.CountResources(d.typ) // sorting nothing: only the count
		return nil
	}
	deriveMatch := l.f != nil && l.derives(q.filter)
	deriveSort := l.sort != nil && l.derives(l.sort.Attr())
	var entries []sortedEntry
	consider := func(id string, raw []byte, doc map[string]any) error {
		var v map[string]any
		if deriveMatch || deriveSort {
			var err error
			if v, err = s.view(tx, d, doc, l.base, d.typ == store.TypeGroup); err != nil {
				return err
			}
		}
		if l.f != nil {
			target := doc
			if deriveMatch {
				target = v
			}
			if !l.f.Match(target, &d.path) {
				return nil
			}
		}
		l.total++
		if l.sort == nil {
			if l.total >= q.startIndex && l.out.n < q.count {
				return l.render(tx, id, raw, doc)
			}
			return nil
		}
		if len(entries) >= maxSortResources {
			return tooManyToSort(l.sort)
		}
		target := doc
		if deriveSort {
			target = v
		}
		entries = append(entries, sortedEntry{key: l.sort.Key(target, &d.path), pos: len(entries), id: id})
		return nil
	}
	var err error
	var ids []string
	indexed := false
	if l.f != nil {
		ids, indexed = indexCandidates(tx, d, l.f)
	}
	if indexed {
		for _, id := range ids {
			raw, _, gerr := tx.GetResource(d.typ, id)
			if errors.Is(gerr, store.ErrNotFound) {
				continue // an index entry for a resource being deleted
			}
			if gerr != nil {
				return gerr
			}
			doc, derr := decodeDoc(raw)
			if derr != nil {
				return derr
			}
			if err = consider(id, raw, doc); err != nil {
				return err
			}
		}
	} else {
		if l.f == nil && tx.CountResources(d.typ) > maxSortResources {
			return tooManyToSort(l.sort)
		}
		err = tx.ScanResources(d.typ, 0, func(id string, raw []byte) (bool, error) {
			doc, err := decodeDoc(raw)
			if err != nil {
				return false, err
			}
			return true, consider(id, raw, doc)
		})
	}
	if err != nil || l.sort == nil {
		return err
	}
	slices.SortFunc(entries, func(a, b sortedEntry) int {
		if c := l.sort.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	from := min(q.startIndex-1, len(entries))
	for _, e := range entries[from:min(from+q.count, len(entries))] {
		raw, _, err := tx.GetResource(d.typ, e.id)
		if err != nil {
			return err
		}
		if err := l.render(tx, e.id, raw, nil); err != nil {
			return err
		}
	}
	return nil
}

func tooManyToSort(s *scimpath.Sort) *Error {
	return errorf(http.StatusBadRequest, "tooMany", "sortBy="+s.Attr()+" sorts in memory, up to "+
		strconv.Itoa(maxSortResources)+" resources: add a filter that matches fewer, or sort by userName (Users) or displayName (Groups), which sort at any size")
}

// creationOrder answers an unfiltered, unsorted list: the count is kept,
// and a page reads only what it returns. Where the previous page (of any
// client) ended is remembered, so fetching pages in sequence seeks to the
// next one instead of walking the keys before it; a page no earlier one
// ended at (a jump) walks startIndex-1 keys of the order bucket.
func (l *listRun) creationOrder(tx *store.Tx) error {
	d, q := l.d, l.q
	count, lastSeq := tx.OrderState(d.typ)
	l.total = count
	if q.count == 0 {
		return nil
	}
	after, skip := l.s.pages.seek(d.typ, q.startIndex, count, lastSeq)
	var last uint64
	err := tx.ScanResourcesAfter(d.typ, after, skip, func(seq uint64, id string, raw []byte) (bool, error) {
		last = seq
		err := l.render(tx, id, raw, nil)
		return l.out.n < q.count, err
	})
	if err == nil && l.out.n == q.count {
		l.s.pages.remember(d.typ, q.startIndex+l.out.n, count, lastSeq, last)
	}
	return err
}

// indexOrdered names the index that holds the order a sort asks, "" when
// none does: userName for users, displayName for groups (both compare
// case-insensitively, as the indexes fold them).
func indexOrdered(d *resourceDef, s *scimpath.Sort) string {
	if s == nil {
		return ""
	}
	switch a := strings.ToLower(s.Attr()); {
	case d.typ == store.TypeUser && (a == "username" || a == strings.ToLower(scimpath.URNUser)+":username"):
		return "userName"
	case d.typ == store.TypeGroup && (a == "displayname" || a == strings.ToLower(scimpath.URNGroup)+":displayname"):
		return store.IndexDisplayName
	}
	return ""
}

// indexOrder answers an unfiltered list sorted by an indexed attribute:
// the index is read in key order (backwards for descending) from the
// page's start; a page costs its resources plus a walk of startIndex-1
// index keys. Ties (equal folded values; displayName only) are in id
// order.
func (l *listRun) indexOrder(tx *store.Tx) error {
	d, q := l.d, l.q
	l.total = tx.CountResources(d.typ)
	if q.count == 0 {
		return nil
	}
	return tx.ScanIndexOrder(indexOrdered(d, l.sort), d.typ, l.sort.Descending, q.startIndex-1, func(id string) (bool, error) {
		raw, _, err := tx.GetResource(d.typ, id)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		err = l.render(tx, id, raw, nil)
		return l.out.n < q.count, err
	})
}

// pageCursors remembers where list pages in creation order ended: for
// (type, startIndex of the next page), the creation sequence of the
// previous page's last resource and the store's order state then. An
// entry is used only if no resource of the type was deleted since
// (store.Tx.OrderState), since a delete moves every later position. It
// holds at most maxPageCursors entries (then starts afresh).
type pageCursors struct {
	mu sync.Mutex
	m  map[pageKey]pageCursor
}

const maxPageCursors = 4096

type pageKey struct {
	typ        string
	startIndex int
}

type pageCursor struct {
	count   int
	lastSeq uint64
	after   uint64
}

// seek returns where the page of typ starting at startIndex begins: after
// the resource with creation sequence after, skipping skip more.
func (p *pageCursors) seek(typ string, startIndex, count int, lastSeq uint64) (after uint64, skip int) {
	if startIndex > 1 {
		p.mu.Lock()
		c, ok := p.m[pageKey{typ, startIndex}]
		p.mu.Unlock()
		// Between the two states, lastSeq-c.lastSeq creates happened; any
		// count below c.count plus those means deletes.
		if ok && lastSeq >= c.lastSeq && uint64(count) == uint64(c.count)+(lastSeq-c.lastSeq) {
			return c.after, 0
		}
	}
	return 0, startIndex - 1
}

func (p *pageCursors) remember(typ string, nextStart, count int, lastSeq, after uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || len(p.m) >= maxPageCursors {
		p.m = make(map[pageKey]pageCursor)
	}
	p.m[pageKey{typ, nextStart}] = pageCursor{count: count, lastSeq: lastSeq, after: after}
}
