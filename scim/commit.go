package scim

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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
// Left at that, busy clients split into two cohorts that take turns: the
// writers of one commit get their answers while the other cohort's commit
// starts, so their next writes miss it and wait for the one after — with
// 4 clients, 2 writes share each fsync however long it takes. So the group
// remembers how many writes were outstanding at once during the last
// commit and, between commits, waits for that many to have arrived: the
// cohorts merge and each fsync carries every client's write. The wait is
// bounded by the last commit's time (waiting longer than a commit for a
// write costs more than giving it a commit of its own) and by
// maxGroupWait. A wait that runs out
// commits what came and lowers the expectation to it, so a client that
// left costs one wait; one that got nothing ends the busy spell. A write
// after an idle spell never waits. (Pausing the waits for a while after
// one ran out was tried: at 4 clients, where a third of the waits run
// out with 3 of 4 writers in, it gave back most of the gain.)
//
// Semantics match Batch: fn may run more than once (if another function
// in its batch fails, the rest are retried, and the failing one runs
// alone so its error is its own), so fn must only act through tx.
type groupCommit struct {
	db     *store.DB
	noWait bool // commit whatever is queued at once (BenchmarkGroupCommitWait's "before")

	mu      sync.Mutex
	queue   []*commitCall
	busy    bool          // a leader goroutine is committing or waiting
	arrived chan struct{} // wakes a leader waiting for its group (cap 1)
	running int           // writes in the transaction being committed
	peak    int           // most writes outstanding at once this cycle
	expect  int           // writes the next group waits for
	took    time.Duration // how long the last commit took

	// after returns a channel that fires once d has passed: time.After,
	// replaced by tests to make the wait's end deterministic.
	after func(d time.Duration) <-chan time.Time

	// Counters for benchmarks and tests: how many transactions ran, how
	// many writes they carried, and how many waits for a group ran out.
	commits, writes, waitsRunOut atomic.Int64
}

type commitCall struct {
	fn   func(*store.Tx) error
	done chan error
}

const (
	// maxGroup bounds one transaction's size.
	maxGroup = 512
	// maxGroupWait bounds the wait for a group to fill, whatever the
	// disk's commit time.
	maxGroupWait = 2 * time.Millisecond
)

func newGroupCommit(db *store.DB) *groupCommit {
	return &groupCommit{db: db, arrived: make(chan struct{}, 1), after: time.After}
}

// Batch runs fn in the next group's transaction and returns when that
// has committed (or fn's own error). As with store.DB.Batch, fn may run
// more than once and must act only through tx.
func (g *groupCommit) Batch(fn func(*store.Tx) error) error {
	c := &commitCall{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	g.peak = max(g.peak, g.running+len(g.queue))
	if !g.busy {
		g.busy = true
		go g.lead()
	} else {
		select {
		case g.arrived <- struct{}{}:
		default:
		}
	}
	g.mu.Unlock()
	return <-c.done
}

// lead commits queued calls, group after group, until none are left.
func (g *groupCommit) lead() {
	g.mu.Lock()
	for {
		if len(g.queue) < g.expect && !g.noWait {
			g.waitForGroup()
		}
		if len(g.queue) == 0 {
			break
		}
		n := min(len(g.queue), maxGroup)
		calls := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.running = n
		g.peak = n + len(g.queue)
		g.mu.Unlock()

		start := time.Now()
		errs := g.run(calls)
		took := time.Since(start)

		// The group is done before its writers hear so: a writer that
		// sends its next write at once is not counted twice.
		g.mu.Lock()
		g.took = took
		g.running = 0
		g.expect = g.peak
		g.peak = len(g.queue)
		g.mu.Unlock()
		for i, c := range calls {
			c.done <- errs[i]
		}
		g.mu.Lock()
	}
	g.queue = nil
	g.busy = false
	g.expect, g.peak = 0, 0
	g.mu.Unlock()
}

// waitForGroup waits, with g.mu held on entry and on return, until
// g.expect writes are queued or the last commit's time has passed.
// A wait that runs out expects only what came next time.
func (g *groupCommit) waitForGroup() {
	timeout := g.after(min(g.took, maxGroupWait))
	for len(g.queue) < g.expect {
		g.mu.Unlock()
		ranOut := false
		select {
		case <-g.arrived:
		case <-timeout:
			ranOut = true
		}
		g.mu.Lock()
		if ranOut && len(g.queue) < g.expect {
			g.waitsRunOut.Add(1)
			g.expect = len(g.queue)
		}
	}
}

// run commits calls in one transaction and returns each call's error. A
// call that fails is taken out and run alone (so its error is its own),
// and the others are committed without it.
func (g *groupCommit) run(calls []*commitCall) []error {
	errs := make([]error, len(calls))
	pending := make([]int, len(calls)) // indexes into calls
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		failed := -1
		err := g.db.Update(func(tx *store.Tx) error {
			for j, i := range pending {
				if err := safeCall(calls[i].fn, tx); err != nil {
					failed = j
					return err
				}
			}
			return nil
		})
		g.commits.Add(1)
		if failed < 0 {
			g.writes.Add(int64(len(pending)))
			for _, i := range pending {
				errs[i] = err
			}
			return errs
		}
		bad := pending[failed]
		pending = append(pending[:failed:failed], pending[failed+1:]...)
		errs[bad] = g.db.Update(func(tx *store.Tx) error { return safeCall(calls[bad].fn, tx) })
		g.commits.Add(1)
		g.writes.Add(1)
	}
	return errs
}

func safeCall(fn func(*store.Tx) error, tx *store.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scim: panic in write: %v", p)
		}
	}()
	return fn(tx)
}
