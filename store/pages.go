package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Checking the pages of a data file before bbolt trusts them.
//
// bbolt indexes into a page by the offsets and sizes the page holds, and
// asserts each page's type: a damaged page makes it panic (or fault) where
// it meets it. Open's rebuild of the free-page list (NoFreelistSync, see
// openWritable) meets every page, and checks every key's order, in a
// goroutine of its own, where no recover reaches. So before that,
// checkPages reads every page of every bucket straight from the file and
// checks what bbolt's walk checks: each page is a branch or leaf page of
// the number it is stored under, in use, reached once; its elements, keys
// and values lie within it; keys are in order within a page and within
// the bounds its ancestors' keys set. Anything wrong is ErrCorrupt,
// naming the page.

// walkPages checks the pages of the file at path (see checkPages) before
// the server opens it for writing.
func walkPages(path string) error {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		return err
	}
	defer b.Close()
	return checkPages(b)
}

// CheckPages checks every page of the live file (one read transaction):
// ErrCorrupt names the first damaged one. Verify checks what the pages
// mean; this, that bbolt can read them at all.
func (db *DB) CheckPages() error { return checkPages(db.bolt) }

// checkPages checks the pages of b as of one read transaction (which keeps
// them from being reused meanwhile).
func checkPages(b *bolt.DB) (err error) {
	f, err := os.Open(b.Path())
	if err != nil {
		return err
	}
	defer f.Close()
	// Belt and braces: what the walk misses and bbolt trips on still
	// becomes an error here, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = damaged(fmt.Errorf("%v", p))
		}
	}()
	return b.View(func(tx *bolt.Tx) error {
		w := &pageWalker{f: f, pageSize: uint64(b.Info().PageSize), seen: map[uint64]bool{}}
		w.pages = uint64(tx.Size()) / w.pageSize
		root, err := w.rootPage(tx)
		if err != nil {
			return err
		}
		_, err = w.tree(root, nil, nil)
		return err
	})
}

func damaged(err error) error {
	return &openFailure{kind: ErrCorrupt, err: fmt.Errorf("damaged page: %w", err)}
}

type pageWalker struct {
	f        *os.File
	pageSize uint64
	pages    uint64 // the transaction's high-water mark: pages past it are not in use
	seen     map[uint64]bool
	// bufs holds one page buffer per depth of the tree being walked: a
	// page's keys (the bounds its children are checked against, the last
	// key a child returns) stay valid while deeper pages are read.
	bufs  [][]byte
	depth int
}

// Page layout (bbolt's internal/common): header id u64, flags u16, count
// u16, overflow u32; branch element pos u32, ksize u32, child u64; leaf
// element flags u32, pos u32, ksize u32, vsize u32 (pos counts from the
// element); a bucket's value: its root page u64 and sequence u64, then,
// for root 0 (an inline bucket), its one leaf page. A meta page's body
// (after the header): magic, version, pageSize, flags u32 each, then the
// root bucket's root page u64, its sequence u64, freelist u64, pgid u64,
// txid u64.
const (
	pageHeader     = 16
	elementSize    = 16
	branchPage     = 0x01
	leafPage       = 0x02
	bucketLeafFlag = 0x01 // a leaf element whose value is a bucket
)

var native = binary.NativeEndian

// rootPage is the root bucket's page, from the meta page of tx.
func (w *pageWalker) rootPage(tx *bolt.Tx) (uint64, error) {
	for slot := range uint64(2) {
		var meta [pageHeader + 56]byte
		if _, err := w.f.ReadAt(meta[:], int64(slot*w.pageSize)); err != nil {
			return 0, err
		}
		if native.Uint64(meta[pageHeader+48:]) == uint64(tx.ID()) {
			return native.Uint64(meta[pageHeader+16:]), nil
		}
	}
	return 0, damaged(fmt.Errorf("no meta page holds transaction %d", tx.ID()))
}

// tree checks the page at id and everything below it, its keys within
// [lo, hi) (nil: unbounded), and returns its last key. Page 0 is an inline
// bucket's (its page lies in its parent's value, checked there).
func (w *pageWalker) tree(id uint64, lo, hi []byte) ([]byte, error) {
	if id == 0 {
		return nil, nil
	}
	if id < 2 || id >= w.pages {
		return nil, damaged(fmt.Errorf("page %d: outside the file's %d pages in use", id, w.pages))
	}
	page, err := w.read(id, 0)
	if err != nil {
		return nil, err
	}
	flags, overflow := native.Uint16(page[8:]), uint64(native.Uint32(page[12:]))
	if got := native.Uint64(page); got != id {
		return nil, damaged(fmt.Errorf("page %d: says it is page %d", id, got))
	}
	if flags != branchPage && flags != leafPage {
		return nil, damaged(fmt.Errorf("page %d: type %#x, not a branch or leaf", id, flags))
	}
	if id+overflow >= w.pages {
		return nil, damaged(fmt.Errorf("page %d: runs %d pages past the file's pages in use", id, overflow))
	}
	for p := id; p <= id+overflow; p++ {
		if w.seen[p] {
			return nil, damaged(fmt.Errorf("page %d: reached twice", p))
		}
		w.seen[p] = true
	}
	if overflow > 0 {
		if page, err = w.read(id, overflow); err != nil {
			return nil, err
		}
	}
	w.depth++
	defer func() { w.depth-- }()
	return w.elements(fmt.Sprintf("page %d", id), page, lo, hi, true)
}

// read reads the page at id, and overflow pages after it, into this
// depth's buffer.
func (w *pageWalker) read(id, overflow uint64) ([]byte, error) {
	for len(w.bufs) <= w.depth {
		w.bufs = append(w.bufs, nil)
	}
	size := (overflow + 1) * w.pageSize
	if uint64(cap(w.bufs[w.depth])) < size {
		w.bufs[w.depth] = make([]byte, size)
	}
	page := w.bufs[w.depth][:size]
	if _, err := w.f.ReadAt(page, int64(id*w.pageSize)); err != nil {
		return nil, damaged(fmt.Errorf("page %d: %v", id, err))
	}
	return page, nil
}

// elements checks the elements of page (a page of the file, or an inline
// bucket's page inside a value) as tree does, with bbolt's rules for key
// order: each key after the one before, none before lo or at or after hi,
// and a branch's child holding keys from its own key to the next one's.
// Only a page of the file may hold buckets (bbolt inlines a bucket only if
// it has none).
func (w *pageWalker) elements(where string, page []byte, lo, hi []byte, mayNest bool) ([]byte, error) {
	size := uint64(len(page))
	if size < pageHeader {
		return nil, damaged(fmt.Errorf("%s: shorter than a page header", where))
	}
	flags, count := native.Uint16(page[8:]), uint64(native.Uint16(page[10:]))
	if pageHeader+count*elementSize > size {
		return nil, damaged(fmt.Errorf("%s: %d elements do not fit", where, count))
	}
	// bound returns the slice [from, from+n) of page, or false.
	bound := func(from, n uint64) ([]byte, bool) {
		if from+n > size {
			return nil, false
		}
		return page[from : from+n], true
	}
	prev := lo
	for i := range count {
		el := pageHeader + i*elementSize
		e := page[el : el+elementSize]
		var key []byte
		var ok bool
		if flags == branchPage {
			key, ok = bound(el+uint64(native.Uint32(e[0:])), uint64(native.Uint32(e[4:])))
		} else {
			key, ok = bound(el+uint64(native.Uint32(e[4:])), uint64(native.Uint32(e[8:])))
		}
		if !ok {
			return nil, damaged(fmt.Errorf("%s element %d: key reaches past the page", where, i))
		}
		if prev != nil && (bytes.Compare(prev, key) > 0 || i > 0 && bytes.Equal(prev, key)) || hi != nil && bytes.Compare(key, hi) >= 0 {
			return nil, damaged(fmt.Errorf("%s element %d: key %x out of order", where, i, key))
		}
		if flags == branchPage {
			next := hi
			if i+1 < count {
				ne := page[el+elementSize : el+2*elementSize]
				if next, ok = bound(el+elementSize+uint64(native.Uint32(ne[0:])), uint64(native.Uint32(ne[4:]))); !ok {
					return nil, damaged(fmt.Errorf("%s element %d: key reaches past the page", where, i+1))
				}
			}
			last, err := w.tree(native.Uint64(e[8:]), key, next)
			if err != nil {
				return nil, err
			}
			prev = last
			continue
		}
		prev = key
		value, ok := bound(el+uint64(native.Uint32(e[4:]))+uint64(len(key)), uint64(native.Uint32(e[12:])))
		if !ok {
			return nil, damaged(fmt.Errorf("%s element %d: value reaches past the page", where, i))
		}
		if native.Uint32(e[0:])&bucketLeafFlag == 0 {
			continue
		}
		if !mayNest || len(value) < 16 {
			return nil, damaged(fmt.Errorf("%s element %d: not a bucket bbolt could have written", where, i))
		}
		if root := native.Uint64(value); root != 0 {
			if _, err := w.tree(root, nil, nil); err != nil {
				return nil, err
			}
			continue
		}
		inline := value[16:]
		if len(inline) < pageHeader || native.Uint16(inline[8:]) != leafPage {
			return nil, damaged(fmt.Errorf("%s element %d: an inline bucket without a leaf page", where, i))
		}
		if _, err := w.elements(fmt.Sprintf("%s element %d (inline bucket)", where, i), inline, nil, nil, false); err != nil {
			return nil, err
		}
	}
	return prev, nil
}
