package activitylog

import (
	"context"
	"encoding/json"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimbridge/scimbridge/store"
)

// Pruning runs in small transactions with a pause after each at least
// as long as the transaction took, so it holds the writer at most half
// the time and a SCIM write waits for at most one small transaction.
const (
	pruneChunk = 128 // events deleted per transaction
	eraseChunk = 16  // deleted users erased per transaction
	prunePause = 2 * time.Millisecond
	pruneEvery = time.Minute
)

// pause waits after a transaction that took since start.
func pause(start time.Time) { time.Sleep(max(prunePause, time.Since(start))) }

type metrics struct {
	events, oldest    prometheus.GaugeFunc
	pruned, erased    prometheus.Counter
	txs               prometheus.Counter
	indexed, indexTxs prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		pruned: prometheus.NewCounter(prometheus.CounterOpts{Name: "scimbridge_activity_pruned_events_total",
			Help: "Activity log events deleted by pruning (older than activity.retention, or beyond activity.max_events)."}),
		erased: prometheus.NewCounter(prometheus.CounterOpts{Name: "scimbridge_activity_erased_resources_total",
			Help: "Deleted users whose activity events had their values erased (activity.deleted_values_retention)."}),
		txs: prometheus.NewCounter(prometheus.CounterOpts{Name: "scimbridge_activity_prune_transactions_total",
			Help: "Write transactions pruning and erasure have run."}),
		indexed: prometheus.NewCounter(prometheus.CounterOpts{Name: "scimbridge_activity_indexed_events_total",
			Help: "Activity log events filed by resource and name after their write's transaction."}),
		indexTxs: prometheus.NewCounter(prometheus.CounterOpts{Name: "scimbridge_activity_index_transactions_total",
			Help: "Write transactions the activity indexer has run."}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.pruned, m.erased, m.txs, m.indexed, m.indexTxs, m.events, m.oldest}
}

func (l *Log) initGauges() {
	stats := func() (int, time.Time) {
		var n int
		var t time.Time
		_ = l.db.View(func(tx *store.Tx) error { n, t = tx.ActivityStats(); return nil })
		return n, t
	}
	l.m.events = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scimbridge_activity_events",
		Help: "Events in the activity log."}, func() float64 { n, _ := stats(); return float64(n) })
	l.m.oldest = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scimbridge_activity_oldest_event_age_seconds",
		Help: "Age of the activity log's oldest event (0 when empty)."}, func() float64 {
		if _, t := stats(); !t.IsZero() {
			return l.now().Sub(t).Seconds()
		}
		return 0
	})
}

// Run indexes the events appended (runIndexer) and prunes and erases
// every minute until ctx ends.
func (l *Log) Run(ctx context.Context) {
	if l == nil {
		return
	}
	done := make(chan struct{})
	go func() { defer close(done); l.runIndexer(ctx) }()
	defer func() { <-done }()
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		if _, _, err := l.Prune(ctx); err != nil && ctx.Err() == nil {
			l.errs.report("pruning", err, l.now())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune deletes the events older than Retention or beyond MaxEvents and
// erases the values of users deleted more than DeletedValuesRetention
// ago, in small transactions, until nothing is due or ctx ends.
func (l *Log) Prune(ctx context.Context) (pruned, erased int, err error) {
	if l == nil {
		return 0, 0, nil
	}
	// Pruning stops at the unindexed tail: file it first.
	if _, err = l.Index(ctx); err != nil {
		return 0, 0, err
	}
	for ctx.Err() == nil {
		cutoff := l.now().Add(-l.opts.Retention)
		start := time.Now()
		var n int
		err = l.db.Update(func(tx *store.Tx) error {
			var err error
			n, err = tx.PruneActivity(cutoff, l.opts.MaxEvents, pruneChunk)
			return err
		})
		l.m.txs.Inc()
		if err != nil {
			return pruned, erased, err
		}
		pruned += n
		l.m.pruned.Add(float64(n))
		if n < pruneChunk {
			break
		}
		pause(start)
	}
	for ctx.Err() == nil {
		due := l.now().Add(-l.opts.DeletedValuesRetention)
		start := time.Now()
		var n int
		err = l.db.Update(func(tx *store.Tx) error {
			n = 0
			for _, e := range tx.DueActivityErasures(due, eraseChunk) {
				if _, err := tx.EraseActivity(e, eraseValues); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		l.m.txs.Inc()
		if err != nil {
			return pruned, erased, err
		}
		erased += n
		l.m.erased.Add(float64(n))
		if n < eraseChunk {
			break
		}
		pause(start)
	}
	return pruned, erased, ctx.Err()
}

// Erased is what an erased value reads as.
const Erased = "(erased)"

// eraseValues removes the attribute values from one stored event: the
// changes keep their names, the name and the free text (a target's
// message may quote a value) go.
func eraseValues(data []byte) ([]byte, error) {
	var s stored
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	for k, v := range s.Changes {
		if v != nil && k != "members" {
			s.Changes[k] = Erased
		}
	}
	s.Name = ""
	if s.Detail != "" && s.Kind != "scim" {
		s.Detail = Erased
	}
	return json.Marshal(s)
}
