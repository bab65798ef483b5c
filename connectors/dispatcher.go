package connectors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/store"
)

// Mapper maps a SCIM resource to a connector's fields and decides its
// scope; *mapping.Mapper implements it.
type Mapper interface {
	Map(typ string, res map[string]any) (map[string]any, error)
	InScope(typ string, res map[string]any) bool
}

// Target is one configured connector as the dispatcher drives it.
type Target struct {
	Connector Connector
	Settings  Settings
	Mapper    Mapper // nil: every resource in scope, fields = the resource itself
}

// Option tunes a Dispatcher (mostly for tests: small durations).
type Option func(*options)

type options struct {
	minBackoff, maxBackoff time.Duration
	maxAttempts            int
	poll                   time.Duration
	linger                 time.Duration
	scanLimit              int
	warn                   queueWarning
	activity               *activitylog.Log // nil: no activity log
}

// WithBackoff sets the retry backoff range (default 1s .. 5m).
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) { o.minBackoff, o.maxBackoff = min, max }
}

// WithMaxAttempts sets how many transient failures dead-letter a change (default 30).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithScanLimit sets how many queue entries a scan reads from the head
// (default 4096, at least four batches per worker). A scan that finds
// nothing due in a full window reads a larger one next time, up to
// maxScanGrowth times this.
func WithScanLimit(n int) Option { return func(o *options) { o.scanLimit = n } }

// WithPollInterval sets how often an idle connector rescans its queue (default 1s).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.poll = d } }

// WithLinger sets how long a partial batch for a rate-paced connector
// waits for more changes, counted from its oldest (default 1s; 0 sends at
// once). See lane.lingerUntil.
func WithLinger(d time.Duration) Option { return func(o *options) { o.linger = d } }

// ErrNotFound is returned for an unknown connector or dead letter.
var ErrNotFound = errors.New("not found")

// Dispatcher is the durable fan-out: it implements store.Sink (queue
// entries in the write's transaction) and store.Awaiter (sync mode), and
// Run delivers the queues.
type Dispatcher struct {
	db    *store.DB
	log   zerolog.Logger
	opts  options
	lanes []*lane
	m     *metrics
	check struct { // the latest drift check (targets.go)
		mu    sync.Mutex
		state TargetCheck
	}
}

// NewDispatcher builds the dispatcher for targets. reg may be nil.
func NewDispatcher(db *store.DB, targets []Target, log zerolog.Logger, reg prometheus.Registerer, opt ...Option) (*Dispatcher, error) {
	o := options{minBackoff: time.Second, maxBackoff: 5 * time.Minute, maxAttempts: 30, poll: time.Second, linger: time.Second, scanLimit: 4096,
		warn: queueWarning{depth: 10000, age: 15 * time.Minute, every: 30 * time.Second}}
	for _, f := range opt {
		f(&o)
	}
	d := &Dispatcher{db: db, log: log, opts: o}
	d.m = newMetrics(d)
	if reg != nil {
		if err := d.m.register(reg); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, t := range targets {
		name := t.Settings.Name
		if name == "" {
			name = t.Connector.Name()
		}
		if seen[name] {
			return nil, fmt.Errorf("connectors: duplicate connector name %q", name)
		}
		seen[name] = true
		d.lanes = append(d.lanes, newLane(d, name, t))
	}
	// Sync lanes count pending entries per resource: rebuild from the queue.
	err := db.View(func(tx *store.Tx) error {
		for _, l := range d.lanes {
			l.unsureUpTo = tx.LastSeq(l.name)
			if !l.set.Sync {
				continue
			}
			if err := tx.Entries(l.name, 0, 0, func(e *store.Entry) bool { l.pending[e.Key()]++; return true }); err != nil {
				return err
			}
		}
		return nil
	})
	return d, err
}

// Connectors returns the names of the configured connectors.
func (d *Dispatcher) Connectors() []string {
	out := make([]string, len(d.lanes))
	for i, l := range d.lanes {
		out[i] = l.name
	}
	return out
}

func (d *Dispatcher) lane(name string) *lane {
	for _, l := range d.lanes {
		if l.name == name {
			return l
		}
	}
	return nil
}

// Run delivers every connector's queue until ctx is done, then lets
// in-flight calls finish (each bounded by its connector's Limits.Timeout)
// and returns.
// Undelivered entries stay queued: a restart resumes from them.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, l := range d.lanes {
		wg.Go(func() { l.run(ctx) })
		if every := l.driftInterval(); every > 0 {
			wg.Go(func() { l.checkPeriodically(ctx, every) })
		}
	}
	wg.Go(func() { d.watchQueues(ctx) })
	wg.Wait()
	return nil
}

// Await implements store.Awaiter: it waits until every synchronous
// connector has delivered (or failed) the resource's committed changes,
// up to the connector's SyncTimeout (default DefaultSyncTimeout).
func (d *Dispatcher) Await(ctx context.Context, typ, id string) error {
	var errs []error
	for _, l := range d.lanes {
		if l.set.Sync {
			if err := l.await(ctx, typ+"/"+id); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", l.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// lane is one connector's queue, workers and state.
type lane struct {
	d       *Dispatcher
	name    string
	typ     string
	conn    Connector
	set     Settings
	mapper  Mapper
	batch   int
	workers int
	timeout time.Duration
	limiter *rate.Limiter
	rate    float64 // declared calls per second (0 = unlimited); the limiter paces PaceMargin of it
	wake    chan struct{}
	cache   map[uint64]cached // scheduler only: decoded queue entries
	// scanGrowth widens the scan window (scheduler only): see schedule.
	scanGrowth int
	// unsureUpTo is the last sequence queued before this process started:
	// those entries may have been delivered unacknowledged by a process
	// that crashed.
	unsureUpTo uint64

	mu          sync.Mutex
	inflight    map[string]bool   // resource keys being delivered
	finished    uint64            // batches finished so far
	doneAt      map[string]uint64 // resource key -> finished count when its batch ended
	busy        int               // workers busy
	throttle    throttle          // a 429 pauses the whole connector
	lastSuccess time.Time
	lastError   string
	lastErrorAt time.Time
	unsupported int
	pending     map[string]int   // sync only: queued entries per resource
	failed      map[string]error // sync only: last failure per resource
	changed     chan struct{}    // closed and replaced on each delivery (sync waiters)
}

func newLane(d *Dispatcher, name string, t Target) *lane {
	t.Settings = t.Settings.WithDefaults() // as config does; tests build Settings without it
	lim := t.Connector.Limits()
	l := &lane{d: d, name: name, typ: t.Settings.Type, conn: t.Connector, set: t.Settings, mapper: t.Mapper,
		batch: lim.BatchSize, workers: t.Settings.Concurrency, timeout: lim.Timeout,
		wake: make(chan struct{}, 1), inflight: map[string]bool{}, doneAt: map[string]uint64{}, pending: map[string]int{},
		failed: map[string]error{}, changed: make(chan struct{}),
		throttle: throttle{min: d.opts.minBackoff, max: min(d.opts.maxBackoff, maxThrottle)}}
	if t.Settings.BatchSize > 0 {
		l.batch = t.Settings.BatchSize
	}
	l.batch = max(l.batch, 1)
	if l.timeout <= 0 {
		l.timeout = 30 * time.Second
	}
	r := lim.Rate
	if t.Settings.RateLimit > 0 {
		r = t.Settings.RateLimit
	}
	l.rate = max(r, 0)
	if r > 0 {
		l.limiter = rate.NewLimiter(rate.Limit(r*PaceMargin), max(lim.Burst, 1))
	} else {
		l.limiter = rate.NewLimiter(rate.Inf, 1)
	}
	return l
}

// notify wakes the lane's scheduler.
func (l *lane) notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *lane) await(ctx context.Context, key string) error {
	timeout := l.set.SyncTimeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		l.mu.Lock()
		n, err, ch := l.pending[key], l.failed[key], l.changed
		last := l.lastError
		l.mu.Unlock()
		if n == 0 {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last != "" {
				return fmt.Errorf("not delivered within %s (still queued; last error: %s)", timeout, last)
			}
			return fmt.Errorf("not delivered within %s (still queued)", timeout)
		}
	}
}

// maxThrottle caps the connector-level pause after repeated 429s without
// Retry-After: a target that throttles is polled at least this often.
const maxThrottle = time.Minute

// waitPause waits while the connector is paused by a 429 (a worker may
// have taken its batch just before another worker's call was throttled).
func (l *lane) waitPause(ctx context.Context) error {
	for {
		l.mu.Lock()
		d := time.Until(l.throttle.until)
		l.mu.Unlock()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is exponential with full jitter, at least retryAfter.
func (l *lane) backoff(attempt int, retryAfter time.Duration) time.Duration {
	o := l.d.opts
	ceil := float64(o.minBackoff) * math.Pow(2, float64(min(attempt, 30)))
	ceil = min(ceil, float64(o.maxBackoff))
	d := time.Duration(float64(o.minBackoff)/2 + rand.Float64()*(ceil-float64(o.minBackoff)/2))
	return max(d, retryAfter)
}
