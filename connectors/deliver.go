package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/scimbridge/scimbridge/store"
)

// cached is a decoded queue entry and the bytes it was decoded from.
type cached struct {
	raw []byte
	e   *store.Entry
}

// job is one resource's coalesced pending entries, ready for delivery.
type job struct {
	key     string
	entries []store.Entry
	change  Change
	skipped []string      // members named that the target will not get (unknown, out of scope)
	took    time.Duration // the Apply call that carried it (activity log)
	calls   int           // native calls that Apply made
}

// call reports whether the job needs the target: an upsert that changes
// nothing the target was last sent, or a delete of something the target
// never had, is done without a call.
func (j *job) call() bool {
	c := j.change
	if len(c.MembersAdded) > 0 || len(c.MembersRemoved) > 0 {
		return true
	}
	if c.Op == OpDelete {
		return c.TargetID != "" || c.Prev != nil
	}
	return c.TargetID == "" || !sameJSON(c.Prev, c.Fields)
}

// run is the lane's scheduler: it scans the queue, hands batches to idle
// workers and sleeps until a commit, a finished batch or a due retry.
func (l *lane) run(ctx context.Context) {
	work := make(chan []*job)
	done := make(chan struct{}, l.workers)
	for range l.workers {
		go func() {
			for b := range work {
				l.deliver(ctx, b)
				done <- struct{}{}
			}
		}()
	}
	defer func() {
		close(work)
		// Wait for in-flight batches: they finish (bounded by the drain
		// timeout) or release their entries untouched.
		for l.busyCount() > 0 {
			<-done
			l.mu.Lock()
			l.busy--
			l.mu.Unlock()
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	freed := func() {
		l.mu.Lock()
		l.busy--
		l.mu.Unlock()
	}
	var scanned time.Time // when the last scan ended
	var scanCost time.Duration
	for {
		if ctx.Err() != nil {
			return
		}
		start := time.Now()
		batches, next := l.schedule()
		scanned = time.Now()
		scanCost = scanned.Sub(start)
		for _, b := range batches {
			l.mu.Lock()
			l.busy++
			l.mu.Unlock()
			work <- b
		}
		wait := l.d.opts.poll
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
			// A commit added entries. Scanning a deep queue costs
			// milliseconds and IdP commits come by the hundred a second:
			// a scan per commit took most of the CPU during an onboarding
			// and slowed the IdP's writes fivefold. So the next scan waits
			// until scanPace times the last one's cost has passed (nothing
			// on a short queue; never longer than the poll interval); the
			// commits in between share it. A finished batch or a due
			// retry still scans at once.
			if !l.paceScan(ctx, timer, done, freed, scanned.Add(min(scanPace*scanCost, l.d.opts.poll))) {
				return
			}
			continue
		case <-done:
			freed()
		case <-timer.C:
		}
		stopTimer(timer)
	}
}

// scanPace bounds the scheduler's share of time while commits keep
// waking it: at most one part in scanPace spent scanning.
const scanPace = 20

// paceScan waits until at, or until a batch finishes, whichever is first,
// with timer (stopped on return); it reports false when ctx ended.
func (l *lane) paceScan(ctx context.Context, timer *time.Timer, done <-chan struct{}, freed func(), at time.Time) bool {
	stopTimer(timer)
	wait := time.Until(at)
	if wait <= 0 {
		return true
	}
	timer.Reset(wait)
	defer stopTimer(timer)
	select {
	case <-ctx.Done():
		return false
	case <-done:
		freed()
	case <-timer.C:
	}
	return true
}

// stopTimer stops t and drains a tick it already sent, so a Reset starts
// clean.
func stopTimer(t *time.Timer) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
}

func (l *lane) busyCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.busy
}

// schedule builds up to one batch per idle worker from the head of the
// queue, marking their resources in flight; next is the earliest time a
// backed-off or paused entry becomes due.
func (l *lane) schedule() (batches [][]*job, next time.Time) {
	l.mu.Lock()
	free := l.workers - l.busy
	paused := l.throttle.until
	// A batch that finishes after this point may or may not be in the
	// snapshot the scan reads: its resources wait for the next scan, or
	// they would be delivered again from stale entries.
	gen := l.finished
	for k, g := range l.doneAt {
		if g <= gen {
			delete(l.doneAt, k)
		}
	}
	l.mu.Unlock()
	now := time.Now()
	if free <= 0 {
		return nil, time.Time{}
	}
	if now.Before(paused) {
		return nil, paused
	}
	defer func() { l.d.m.scans.WithLabelValues(l.name).Observe(time.Since(now).Seconds()) }()
	var order []string
	runs := map[string][]store.Entry{}
	firstAt := map[string]int{}      // resource key -> position of its first entry in the scan
	removedFrom := map[string]bool{} // users a pending group entry removes
	base := max(l.d.opts.scanLimit, l.batch*l.workers*4)
	limit := base << l.scanGrowth
	scanned, firstReady := 0, -1
	err := l.d.db.View(func(tx *store.Tx) error {
		// Entries are decoded once and kept while their bytes are unchanged:
		// a deep queue is scanned often and JSON decoding dominated.
		var derr error
		cache := make(map[uint64]cached, len(l.cache))
		tx.EachRaw(l.name, limit, func(seq uint64, v []byte) bool {
			c, ok := l.cache[seq]
			if !ok || !bytes.Equal(c.raw, v) {
				e, err := store.DecodeEntry(v)
				if err != nil {
					derr = err
					return false
				}
				c = cached{raw: bytes.Clone(v), e: e}
			}
			cache[seq] = c
			e := c.e
			k := e.Key()
			r, ok := runs[k]
			if !ok {
				order = append(order, k)
				firstAt[k] = scanned
			}
			scanned++
			// A run stops after its first delete: a resource that left scope
			// and came back must see both.
			if len(r) == 0 || r[len(r)-1].Op != string(OpDelete) {
				runs[k] = append(r, *e)
			}
			for _, m := range e.MembersRemoved {
				removedFrom[store.TypeUser+"/"+m] = true
			}
			return true
		})
		if derr != nil {
			return derr
		}
		l.cache = cache
		var cur []*job
		for _, k := range order {
			if len(batches) == free {
				break
			}
			r := runs[k]
			if l.busyWith(k, gen) {
				continue
			}
			if t := r[0].NextAttempt; t.After(now) {
				if next.IsZero() || t.Before(next) {
					next = t
				}
				continue
			}
			// A user's delete waits for the groups that remove it, so their
			// removal can still name its target id (and an add in flight
			// does not land after the delete). The run ends with its first
			// delete, whatever it starts with (a deactivation still queued).
			if r[0].Type == store.TypeUser && r[len(r)-1].Op == string(OpDelete) && removedFrom[k] {
				continue
			}
			j, ready, err := l.build(tx, k, r)
			if err != nil {
				return err
			}
			if !ready {
				continue
			}
			l.setInflight(k, true)
			if firstReady < 0 {
				firstReady = firstAt[k]
			}
			cur = append(cur, j)
			if len(cur) == l.batch {
				batches = append(batches, cur)
				cur = nil
			}
		}
		if len(cur) > 0 && len(batches) < free {
			if due := l.lingerUntil(cur); due.After(now) {
				for _, j := range cur { // they wait for the next scan
					l.setInflight(j.key, false)
				}
				if next.IsZero() || due.Before(next) {
					next = due
				}
			} else {
				batches = append(batches, cur)
			}
		}
		return nil
	})
	if err == nil && len(batches) > 0 {
		// A commit is visible a moment before the store's log has flushed
		// it: nothing read here leaves the process before it is durable.
		err = l.d.db.WaitDurable()
	}
	if err != nil {
		l.d.log.Error().Err(err).Str("connector", l.name).Msg("scan queue")
		for _, b := range batches {
			for _, j := range b {
				l.setInflight(j.key, false)
			}
		}
		return nil, now.Add(l.d.opts.poll)
	}
	// Entries waiting for a retry or for other resources hold the head of
	// the queue: when a full window had nothing to deliver, the next scan
	// reads a larger one at once, so newer changes of other resources are
	// not held back behind them (each resource's own entries still go in
	// order: a run whose first entry is not due is skipped whole). Once
	// work shows up near the head again, the window shrinks back.
	switch {
	case len(batches) == 0 && scanned >= limit && l.scanGrowth < maxScanGrowth:
		l.scanGrowth++
		next = now
	case scanned < limit/2 || firstReady >= 0 && firstReady < base:
		l.scanGrowth = 0
	}
	return batches, next
}

// lingerUntil is when a partial batch may go: on a lane paced by a rate
// (not sync), once its oldest change has waited the dispatcher's linger
// (WithLinger, default 1 s); at once otherwise. On such a target the
// requests are what is scarce: changes that trickle in (an IdP sending
// one user at a time) would otherwise go as one small call each, while a
// short wait lets them share one, and lets one user's quick succession of
// changes (create, rename, deactivate) coalesce into one. Found by
// test/story: with the IdP's writes spread over 45 s, SCC got 132-145
// bulk PATCHes for 1,000 users instead of 25 and 0.57 requests per user.
// Full batches never wait; sync lanes never do (their IdP waits).
func (l *lane) lingerUntil(cur []*job) time.Time {
	if l.rate <= 0 || l.set.Sync || l.d.opts.linger <= 0 {
		return time.Time{}
	}
	oldest := cur[0].entries[0].EnqueuedAt
	for _, j := range cur[1:] {
		if t := j.entries[0].EnqueuedAt; t.Before(oldest) {
			oldest = t
		}
	}
	return oldest.Add(l.d.opts.linger)
}

// maxScanGrowth bounds the scan window at base << maxScanGrowth entries
// (32,768 with the default base), and so the memory of the decoded-entry
// cache in a degenerate backlog.
const maxScanGrowth = 3

// busyWith reports whether resource k is in flight or finished after the
// scan that started at generation gen took its snapshot.
func (l *lane) busyWith(k string, gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight[k] || l.doneAt[k] > gen
}

func (l *lane) setInflight(k string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		l.inflight[k] = true
	} else {
		delete(l.inflight, k)
	}
}

// build coalesces a resource's run of entries into one Change: the target
// id and previous fields from the id mapping, the fields of the last entry
// and the net member delta. ready is false while a member's own create is
// still pending for this connector.
func (l *lane) build(tx *store.Tx, key string, run []store.Entry) (*job, bool, error) {
	m, err := store.Optional(tx.GetMapping(l.name, run[0].Type, run[0].ID))
	if err != nil {
		return nil, false, err
	}
	if m == nil && len(run) > 1 && run[len(run)-1].Op == string(OpDelete) {
		// Created and deleted with no acknowledged delivery: a crash may
		// have hidden a create that landed. Deliver the create first, so
		// the delete then names the target's id (adopted on "already
		// exists") instead of relying on the connector to find it.
		run = run[:len(run)-1]
	}
	first, last := run[0], run[len(run)-1]
	c := Change{Seq: last.Seq, Type: first.Type, ID: first.ID, Op: Op(last.Op), LeftScope: last.LeftScope}
	if m != nil {
		c.TargetID, c.Prev = m.TargetID, m.Fields
	}
	if c.Op == OpUpsert {
		c.Fields = last.Fields
	} else if c.Prev == nil {
		// Never acknowledged by the target, but a crash may have hidden a
		// create that landed: give the connector the last known fields so
		// it can find the object by its key (or answer "already gone").
		for _, e := range run {
			if e.Fields != nil {
				c.Prev = e.Fields
			}
		}
		if c.Prev == nil {
			c.Prev = first.Prev
		}
	}
	if c.Op == OpUpsert && (first.Attempts > 0 || first.Seq <= l.unsureUpTo) {
		// An earlier attempt may have reached the target without being
		// acknowledged (a timeout, a lost answer, or a crash: every entry
		// queued at start-up): what the target holds is unknown, so the
		// connector must not diff against the last acknowledged fields.
		c.Prev = nil
		c.MayExist = true
		for _, e := range run[:len(run)-1] {
			if e.Fields != nil && !sameJSON(e.Fields, c.Fields) && !slices.ContainsFunc(c.Earlier, func(f map[string]any) bool { return sameJSON(f, e.Fields) }) {
				c.Earlier = append(c.Earlier, e.Fields)
			}
		}
	}
	j := &job{key: key, entries: run, change: c}
	if c.Type != store.TypeGroup || c.Op == OpDelete {
		return j, true, nil
	}
	// Member delta: the last add or remove of each member wins. An add and
	// a later remove do not cancel: the add may have landed unacknowledged.
	delta := map[string]bool{}
	var order []string
	note := func(id string, add bool) {
		if _, ok := delta[id]; !ok {
			order = append(order, id)
		}
		delta[id] = add
	}
	for _, e := range run {
		for _, id := range e.MembersAdded {
			note(id, true)
		}
		for _, id := range e.MembersRemoved {
			note(id, false)
		}
	}
	for _, id := range order {
		add := delta[id]
		um, err := store.Optional(tx.GetMapping(l.name, store.TypeUser, id))
		if err != nil {
			return nil, false, err
		}
		if um != nil && um.Fields == nil {
			// Its create landed but was never fully acknowledged: targets
			// keyed by fields (SCC: email) take them from the shadow.
			if sh, err := store.Optional(tx.GetShadow(l.name, store.TypeUser, id)); err != nil {
				return nil, false, err
			} else if sh != nil {
				um = &store.Mapping{TargetID: um.TargetID, Fields: sh.Fields}
			}
		}
		if !add {
			mem := Member{ID: id}
			if um != nil {
				mem.TargetID, mem.Fields = um.TargetID, um.Fields
			}
			c.MembersRemoved = append(c.MembersRemoved, mem)
			continue
		}
		if um != nil && um.TargetID != "" {
			c.MembersAdded = append(c.MembersAdded, Member{ID: id, TargetID: um.TargetID, Fields: um.Fields})
			continue
		}
		sh, err := store.Optional(tx.GetShadow(l.name, store.TypeUser, id))
		if err != nil {
			return nil, false, err
		}
		switch {
		case sh != nil && sh.InScope && tx.HasPending(l.name, store.TypeUser, id):
			return nil, false, nil // its create is on its way: wait for it
		case sh != nil && sh.InScope && um != nil:
			// In the target without an id of its own (keyed by fields).
			c.MembersAdded = append(c.MembersAdded, Member{ID: id, Fields: um.Fields})
		default:
			j.skipped = append(j.skipped, id)
		}
	}
	if m == nil || m.Fields == nil {
		if c.Members, err = l.allMembers(tx, c.ID); err != nil {
			return nil, false, err
		}
	}
	j.change = c
	return j, true, nil
}

// allMembers is a group's SCIM membership, resolved through the id
// mappings (Change.Members).
func (l *lane) allMembers(tx *store.Tx, groupID string) ([]Member, error) {
	ids, err := tx.MemberIDs(groupID)
	if err != nil {
		return nil, err
	}
	out := []Member{}
	for _, id := range ids {
		um, err := store.Optional(tx.GetMapping(l.name, store.TypeUser, id))
		if err != nil {
			return nil, err
		}
		if um == nil {
			continue
		}
		mem := Member{ID: id, TargetID: um.TargetID, Fields: um.Fields}
		if mem.Fields == nil {
			if sh, err := store.Optional(tx.GetShadow(l.name, store.TypeUser, id)); err != nil {
				return nil, err
			} else if sh != nil {
				mem.Fields = sh.Fields
			}
		}
		out = append(out, mem)
	}
	return out, nil
}

// deliver calls the target for one batch (splitting a batch that fails as
// a whole) and commits the outcome of every change in one transaction.
func (l *lane) deliver(ctx context.Context, batch []*job) {
	defer func() {
		l.mu.Lock()
		l.finished++
		for _, j := range batch {
			delete(l.inflight, j.key)
			l.doneAt[j.key] = l.finished
		}
		l.mu.Unlock()
		l.notify()
	}()
	var calls []*job
	for _, j := range batch {
		if j.call() {
			calls = append(calls, j)
		}
	}
	results := map[*job]Result{}
	if len(calls) > 0 {
		res, ok := l.apply(ctx, calls)
		if !ok {
			return // shutting down before the call: the entries stay queued
		}
		for i, j := range calls {
			results[j] = res[i]
		}
	}
	l.commit(batch, results)
}

// apply waits for the rate limiter and calls the connector; a batch whose
// every change failed with the same non-transient error is split in two
// to find the bad change. ok is false when ctx ended before any call.
func (l *lane) apply(ctx context.Context, jobs []*job) ([]Result, bool) {
	if err := l.waitPause(ctx); err != nil {
		return nil, false
	}
	if err := l.limiter.Wait(ctx); err != nil {
		return nil, false
	}
	changes := make([]Change, len(jobs))
	for i, j := range jobs {
		changes[i] = j.change
	}
	// The call itself is not cut short by shutdown: it finishes within
	// the connector's timeout, so the target's answer is recorded.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	cctx, calls := countCalls(cctx)
	start := time.Now()
	res := l.conn.Apply(cctx, changes)
	for _, j := range jobs {
		j.took, j.calls = time.Since(start), int(calls.Load())
	}
	l.d.m.latency.WithLabelValues(l.name).Observe(time.Since(start).Seconds())
	if len(res) != len(changes) {
		err := NewTransient(fmt.Sprintf("connector answered %d results for %d changes", len(res), len(changes)), nil)
		res = make([]Result, len(changes))
		for i := range res {
			res[i].Err = err
		}
	}
	if len(jobs) > 1 && wholeBatchFailure(res) {
		mid := len(jobs) / 2
		left, ok := l.apply(ctx, jobs[:mid])
		if !ok {
			return nil, false
		}
		right, ok := l.apply(ctx, jobs[mid:])
		if !ok {
			return nil, false
		}
		return append(left, right...), true
	}
	return res, true
}

// wholeBatchFailure reports whether every change of a batch failed with
// the same permanent error that one bad item can cause (a 400-like
// rejection of the whole request). Other errors (403, 404, 409, ...) say
// nothing about any one item: splitting would only multiply calls against
// a rate-limited target, so those are dead-lettered as they are.
func wholeBatchFailure(res []Result) bool {
	for _, r := range res {
		if r.Err == nil || ClassOf(r.Err) != Permanent || r.Err.Error() != res[0].Err.Error() {
			return false
		}
	}
	var e *Error
	if !errors.As(res[0].Err, &e) {
		return true
	}
	switch e.Status {
	case 0, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

type outcome struct {
	label string // metric outcome
	err   error  // for sync waiters: nil unless dead-lettered
	done  bool   // entries removed from the queue

	unsupportedMembers int // member changes the target cannot make (metric only)
}

// commit records the outcome of every job of a batch in one transaction:
// delivered entries are deleted and the id mapping written with them.
func (l *lane) commit(batch []*job, results map[*job]Result) {
	now := time.Now()
	outs := make([]outcome, len(batch))
	// Batch: record may run twice, so it acts only through tx (metrics
	// and logs follow below, once the batch has committed).
	err := l.d.db.Batch(func(tx *store.Tx) error {
		for i, j := range batch {
			r, called := results[j]
			o, err := l.record(tx, j, r, called, now)
			if err != nil {
				return err
			}
			if err := l.logOutcome(tx, j, r, called, o); err != nil {
				return err
			}
			outs[i] = o
		}
		return nil
	})
	if err != nil {
		// Nothing was recorded: the entries are delivered again (connectors
		// make that harmless).
		l.d.log.Error().Err(err).Str("connector", l.name).Msg("record deliveries")
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// The target says slow down: the whole connector pauses (throttle.go).
	var throttledAny, acceptedAny bool
	var retryAfter time.Duration
	for i, j := range batch {
		o := outs[i]
		l.d.m.deliveries.WithLabelValues(l.name, o.label).Inc()
		if o.unsupportedMembers > 0 {
			l.d.m.deliveries.WithLabelValues(l.name, "unsupported").Add(float64(o.unsupportedMembers))
		}
		switch o.label {
		case "delivered", "noop", "unsupported":
			l.lastSuccess = now
		case "retry":
			l.d.m.retries.WithLabelValues(l.name).Inc()
		}
		if o.label == "unsupported" {
			l.unsupported++
		}
		if r := results[j]; r.Err != nil {
			l.lastError, l.lastErrorAt = fmt.Sprintf("%s %s: %v", j.change.Type, j.change.ID, r.Err), now
			ev := l.d.log.Warn()
			if o.label == "unsupported" {
				ev = l.d.log.Info()
			}
			ev.Str("connector", l.name).Str("type", j.change.Type).Str("id", j.change.ID).Str("op", string(j.change.Op)).
				Int("attempt", j.entries[0].Attempts+1).Str("outcome", o.label).Err(r.Err).Msg("delivery failed")
		}
		if ev := l.d.log.Debug(); ev.Enabled() {
			ev.Str("connector", l.name).Str("type", j.change.Type).Str("id", j.change.ID).Str("op", string(j.change.Op)).
				Uint64("from", j.entries[0].Seq).Uint64("to", j.change.Seq).Bool("prev", j.change.Prev != nil).
				Any("fields", j.change.Fields).Str("outcome", o.label).Msg("delivery")
		}
		if len(j.skipped) > 0 {
			l.d.log.Info().Str("connector", l.name).Str("group", j.change.ID).Strs("members", j.skipped).
				Msg("members skipped: unknown or out of scope for this connector")
		}
		if o.done && l.set.Sync {
			l.pending[j.key] -= len(j.entries)
			if l.pending[j.key] <= 0 {
				delete(l.pending, j.key)
			}
			if o.err != nil {
				l.failed[j.key] = o.err
			} else {
				delete(l.failed, j.key)
			}
		}
		switch o.label {
		case "throttled":
			throttledAny = true
			retryAfter = max(retryAfter, RetryAfterOf(results[j].Err))
		case "delivered", "unsupported":
			acceptedAny = true
		}
	}
	// A batch the target partly accepted before its 429 is a success since
	// the last pause: the backoff starts over, then the 429 pauses.
	if acceptedAny {
		l.throttle.ok()
	}
	if throttledAny {
		l.throttle.hit(now, retryAfter)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// record writes one job's outcome into tx.
func (l *lane) record(tx *store.Tx, j *job, r Result, called bool, now time.Time) (outcome, error) {
	c := j.change
	remove := func() error {
		for i := range j.entries {
			if err := tx.DeleteEntry(l.name, &j.entries[i]); err != nil {
				return err
			}
		}
		return nil
	}
	dead := func(class Class, status int, reason string) (outcome, error) {
		d := &store.DeadLetter{ID: c.Seq, Type: c.Type, SCIMID: c.ID, Op: string(c.Op), Entries: j.entries,
			Class: class.String(), Status: status, Reason: reason, At: now.UTC()}
		if err := tx.PutDeadLetter(l.name, d); err != nil {
			return outcome{}, err
		}
		return outcome{label: "dead", done: true, err: errors.New(reason)}, remove()
	}
	// An unsupported change is recorded like a delivered one: the target
	// cannot take it, and diffing the next change against the old fields
	// would report the same unsupported difference forever.
	unsupported := called && ClassOf(r.Err) == Unsupported
	if !called || r.Err == nil || unsupported {
		if err := remove(); err != nil {
			return outcome{}, err
		}
		var err error
		if c.Op == OpDelete {
			err = tx.DeleteMapping(l.name, c.Type, c.ID)
		} else {
			tid := r.TargetID
			if tid == "" {
				tid = c.TargetID
			}
			err = tx.PutMapping(l.name, c.Type, c.ID, store.Mapping{TargetID: tid, Fields: c.Fields})
			if err == nil && called && r.Err == nil && c.TargetID != "" && tid != c.TargetID {
				err = l.recreated(tx, c, now)
			}
		}
		if err != nil {
			return outcome{}, err
		}
		unsupportedMembers := 0
		for id, merr := range r.MemberErrors {
			if ClassOf(merr) == Unsupported {
				unsupportedMembers++ // counted by commit once the batch has committed
				continue
			}
			md := &store.DeadLetter{Type: c.Type, SCIMID: c.ID, Op: string(c.Op), Member: id, Entries: j.entries,
				Class: ClassOf(merr).String(), Reason: merr.Error(), At: now.UTC()}
			if err := tx.PutDeadLetter(l.name, md); err != nil {
				return outcome{}, err
			}
		}
		switch {
		case !called:
			return outcome{label: "noop", done: true}, nil
		case unsupported:
			return outcome{label: "unsupported", done: true, unsupportedMembers: unsupportedMembers}, nil
		}
		return outcome{label: "delivered", done: true, unsupportedMembers: unsupportedMembers}, nil
	}
	if err := l.keepTargetID(tx, c, r); err != nil {
		return outcome{}, err
	}
	var status int
	var e *Error
	if errors.As(r.Err, &e) {
		status = e.Status
	}
	if throttled(r.Err) {
		// Not applied, and not the change's fault: the entries stay as
		// they are (no attempt counted, no backoff of their own); the
		// connector's pause decides when they go again.
		return outcome{label: "throttled"}, nil
	}
	first := j.entries[0]
	switch ClassOf(r.Err) {
	case Permanent:
		return dead(Permanent, status, r.Err.Error())
	case Unauthorized:
		// The connector refreshed its credentials already; a second 401 in
		// a row is permanent.
		if first.Unauthorized > 0 {
			return dead(Unauthorized, status, r.Err.Error())
		}
		first.Unauthorized++
	}
	first.Attempts++
	if first.Attempts >= l.d.opts.maxAttempts {
		return dead(Transient, status, fmt.Sprintf("gave up after %d attempts: %v", first.Attempts, r.Err))
	}
	first.NextAttempt = now.Add(l.backoff(first.Attempts-1, RetryAfterOf(r.Err))).UTC()
	first.LastError = r.Err.Error()
	if ClassOf(r.Err) != Unauthorized {
		first.Unauthorized = 0
	}
	return outcome{label: "retry"}, tx.PutEntry(l.name, &first)
}

// keepTargetID records the target id a failed upsert learned (created,
// found or adopted before a later call of the change failed), so the
// retry updates that object instead of creating another. The fields stay
// those last acknowledged (none for a new mapping): the retry sends all.
func (l *lane) keepTargetID(tx *store.Tx, c Change, r Result) error {
	if c.Op != OpUpsert || r.TargetID == "" || r.TargetID == c.TargetID {
		return nil
	}
	m, err := store.Optional(tx.GetMapping(l.name, c.Type, c.ID))
	if err != nil {
		return err
	}
	var fields map[string]any
	if m != nil {
		fields = m.Fields
	}
	return tx.PutMapping(l.name, c.Type, c.ID, store.Mapping{TargetID: r.TargetID, Fields: fields})
}

// recreated replays a resource's memberships after the target re-created
// it under a new id (SCC re-invites a user whose email changed; a
// connector re-creates what was deleted behind its back). The target's
// memberships went with the old id, and the change that caused this
// carried none, so without a replay they would stay lost until the IdP
// next touched those groups. A user rejoins each of its groups the target
// has; a group gets all its current members. The new mapping is in tx, so
// the replayed members resolve to the new id.
func (l *lane) recreated(tx *store.Tx, c Change, now time.Time) error {
	tx.OnCommit(func() {
		l.d.log.Info().Str("connector", l.name).Str("type", c.Type).Str("id", c.ID).
			Msg("target re-created the resource under a new id: replaying its memberships")
	})
	if c.Type == User {
		return l.joinGroups(tx, c.ID, now)
	}
	sh, err := store.Optional(tx.GetShadow(l.name, store.TypeGroup, c.ID))
	if err != nil || sh == nil || !sh.InScope {
		return err
	}
	ids, err := tx.MemberIDs(c.ID)
	if err != nil || len(ids) == 0 {
		return err
	}
	return l.append(tx, &store.Entry{Type: store.TypeGroup, ID: c.ID, Op: string(OpUpsert), Fields: sh.Fields, Prev: sh.Fields,
		MembersAdded: ids, EnqueuedAt: now})
}
