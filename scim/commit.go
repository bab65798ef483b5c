package scim

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/scimbridge/scimbridge/store"
)

// groupCommit shares one bbolt write transaction, and so one fsync, among
// all the SCIM writes that arrive while the previous one commits.
//
// bbolt's Batch (store.DB.Batch) collects calls for a fixed delay and
// then queues behind the running commit; on a disk whose fsync takes
// milliseconds that yields many small commits. Here a write that finds
// no commit running starts one at once (no added latency for a lone
// client) in an exclusive store.DB.Update, and every write that arrives
// meanwhile joins the next one, so batches grow exactly as fast as the
// disk is slow.
//
// Semantics match Batch: fn may run more than once (if another function
// in its batch fails, the rest are retried, and the failing one runs
// alone so its error is its own), so fn must only act through tx.
type groupCommit struct {
	db    *store.DB
	mu    sync.Mutex
	queue []*commitCall
	busy  bool

	// Counters for benchmarks: how many transactions ran, and how
	// many writes they carried.
	commits, writes atomic.Int64
}

type commitCall struct {
	fn   func(*store.Tx) error
	done chan error
}

// maxGroup bounds one transaction's size.
const maxGroup = 512

// Batch runs fn in the next group's transaction and returns when that
// has committed (or fn's own error). As with store.DB.Batch, fn may run
// more than once and must act only through tx.
func (g *groupCommit) Batch(fn func(*store.Tx) error) error {
	c := &commitCall{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if !g.busy {
		g.busy = true
		go g.lead()
	}
	g.mu.Unlock()
	return <-c.done
}

// lead commits queued calls, group after group, until none are left.
func (g *groupCommit) lead() {
	g.mu.Lock()
	for len(g.queue) > 0 {
		n := min(len(g.queue), maxGroup)
		calls := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.mu.Unlock()
		g.run(calls)
		g.mu.Lock()
	}
	g.queue = nil
	g.busy = false
	g.mu.Unlock()
}

func (g *groupCommit) run(calls []*commitCall) {
	for len(calls) > 0 {
		failed := -1
		err := g.db.Update(func(tx *store.Tx) error {
			for i, c := range calls {
				if err := safeCall(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		g.commits.Add(1)
		if failed < 0 {
			g.writes.Add(int64(len(calls)))
			for _, c := range calls {
				c.done <- err
			}
			return
		}
		bad := calls[failed]
		calls = append(calls[:failed:failed], calls[failed+1:]...)
		bad.done <- g.db.Update(func(tx *store.Tx) error { return safeCall(bad.fn, tx) })
		g.commits.Add(1)
		g.writes.Add(1)
	}
}

func safeCall(fn func(*store.Tx) error, tx *store.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scim: panic in write: %v", p)
		}
	}()
	return fn(tx)
}
