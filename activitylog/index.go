package activitylog

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/scimbridge/scimbridge/store"
)

// Events are appended to act/log inside their writers' transactions and
// filed by resource and name (store.IndexActivity) here, afterwards, in
// transactions of their own: a SCIM write's commit then dirties the log's
// last page only, instead of a random act/res leaf (and two more for a
// name left behind) per event. Readers scan the unindexed tail, so the
// tail is kept short: the indexer runs every indexEvery, and at once when
// indexKick events have been appended since it last ran.
const (
	indexChunk = 512 // events filed per transaction
	indexKick  = 512 // appended events that wake the indexer early
	indexEvery = 200 * time.Millisecond
)

// indexer is the state Run's indexing loop shares with the writers.
type indexer struct {
	pending atomic.Int64  // events appended since the indexer last ran (approximate: a rolled-back write counts)
	kick    chan struct{} // wakes the loop when pending passes indexKick
}

func newIndexer() *indexer { return &indexer{kick: make(chan struct{}, 1)} }

// appended notes one event appended (or about to be committed).
func (x *indexer) appended() {
	if x.pending.Add(1) == indexKick {
		select {
		case x.kick <- struct{}{}:
		default:
		}
	}
}

// runIndexer files the tail at start (what a crash left unindexed), then
// whenever events were appended, every indexEvery or on a kick.
func (l *Log) runIndexer(ctx context.Context) {
	t := time.NewTicker(indexEvery)
	defer t.Stop()
	l.indexReporting(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.idx.kick:
		}
		if l.idx.pending.Load() > 0 {
			l.indexReporting(ctx)
		}
	}
}

// indexReporting indexes and logs a failure (not one that ctx's end
// caused).
func (l *Log) indexReporting(ctx context.Context) {
	if _, err := l.Index(ctx); err != nil && ctx.Err() == nil {
		l.errs.report("indexing", err, l.now())
	}
}

// Index files every unindexed event, in transactions of up to indexChunk
// events with a pause after each (as pruning's), so a SCIM write waits
// for at most one small transaction. It returns how many it filed.
func (l *Log) Index(ctx context.Context) (int, error) {
	if l == nil {
		return 0, nil
	}
	l.idx.pending.Store(0)
	total := 0
	for ctx.Err() == nil {
		var left int
		_ = l.db.View(func(tx *store.Tx) error { left = tx.UnindexedActivity(); return nil })
		if left == 0 {
			break
		}
		start := time.Now()
		var n int
		err := l.db.Update(func(tx *store.Tx) error {
			var err error
			n, err = tx.IndexActivity(indexChunk)
			return err
		})
		l.m.indexTxs.Inc()
		if err != nil {
			return total, err
		}
		total += n
		l.m.indexed.Add(float64(n))
		if n < indexChunk {
			break
		}
		pause(start)
	}
	return total, ctx.Err()
}
