package secureaccess

import (
	"context"
	"encoding/json"
	"errors"
	"math/bits"
	"net/http"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
)

// entry is one registration waiting to be sent, and its result.
type entry struct {
	it    item
	call  *call
	group *group // set after a rejected PUT: send only with the same group
	res   connectors.Result
	done  bool
}

// call is one Apply call's set of entries.
type call struct {
	left int
	done chan struct{}
}

// group is one half of a rejected PUT, sent on its own to narrow down the
// bad item; tree is shared by every group split from the same PUT.
type group struct{ tree *tree }

// tree bounds the PUTs spent on bisection. One bad item in n costs about
// log2(n) failed PUTs; when a target rejects far more than a few items
// (or rejects everything), bisecting further would spend the rate budget
// for nothing, so the rest of the batch fails with the target's message.
type tree struct{ failures, budget int }

// send queues es and waits until every entry has a result or ctx ends.
//
// Sending is group commit: whichever waiting Apply call takes lead waits
// for a rate-limit slot, then sends the oldest queued entries (up to the
// batch size) in one PUT, whoever they belong to, and gives lead up. While
// one PUT waits for its slot, the next one fills up, so concurrent Apply
// calls with small batches still produce full PUTs, and the limiter sees
// one request at a time.
func (c *Connector) send(ctx context.Context, es []*entry) {
	if len(es) == 0 {
		return
	}
	cl := &call{left: len(es), done: make(chan struct{})}
	c.mu.Lock()
	for _, e := range es {
		e.call = cl
	}
	c.queue = append(c.queue, es...)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
	for {
		select {
		case <-cl.done:
			return
		case <-ctx.Done():
			c.abandon(cl, es, ctx.Err())
			return
		case c.lead <- struct{}{}:
			err := c.round(ctx)
			<-c.lead
			if err != nil {
				c.abandon(cl, es, err)
				return
			}
		}
	}
}

// abandon gives the unsent entries of a call whose context ended a
// transient error. An entry in flight in another call's PUT may still
// land; the dispatcher's retry of it is an idempotent upsert.
func (c *Connector) abandon(cl *call, es []*entry, cause error) {
	err := connectors.NewTransient("not sent", cause)
	var w errWait
	if errors.As(cause, &w) {
		err = &connectors.Error{Class: connectors.Transient, RetryAfter: w.wait, Msg: "waiting for a rate-limit slot", Err: cause}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = deleteFunc(c.queue, func(e *entry) bool { return e.call == cl })
	for _, e := range es {
		if !e.done {
			e.done = true
			e.res = connectors.Result{Err: err}
		}
	}
}

func deleteFunc(q []*entry, del func(*entry) bool) []*entry {
	out := q[:0]
	for _, e := range q {
		if !del(e) {
			out = append(out, e)
		}
	}
	clear(q[len(out):])
	return out
}

// round sends one PUT from the head of the queue. It fails only when the
// leader's own context cannot wait for the rate limit.
func (c *Connector) round(ctx context.Context) error {
	if c.queued() == 0 {
		return nil
	}
	c.linger(ctx)
	slot, err := c.lim.wait(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	es := c.take()
	c.mu.Unlock()
	if len(es) == 0 {
		slot()
		return nil
	}
	items := make([]item, len(es))
	for i, e := range es {
		items[i] = e.it
	}
	body, err := json.Marshal(items)
	if err != nil {
		c.finish(es, connectors.NewPermanent("encode registrations", err))
		return nil
	}
	// The PUT carries other calls' entries too: it must not end with the
	// leader's context.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	ans, err := c.do(rctx, "put", http.MethodPut, c.regURL, body, slot, len(items))
	c.settle(es, ans, err)
	return nil
}

func (c *Connector) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// linger waits a moment for a short queue to fill up. With 14 requests a
// minute every PUT is precious: when a dispatcher's workers have just had
// their Apply calls answered, their next batches arrive microseconds
// later, and one PUT should carry them all rather than one each.
func (c *Connector) linger(ctx context.Context) {
	if c.lingerFor <= 0 || c.queued() >= c.limits.BatchSize {
		return
	}
	t := time.NewTimer(c.lingerFor)
	defer t.Stop()
	for {
		select {
		case <-c.more:
			if c.queued() >= c.limits.BatchSize {
				return
			}
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// take removes the next PUT's entries from the queue: a split group as it
// is, else the oldest entries up to the batch size, stopping before a key
// the PUT already carries (one PUT must not carry a key twice). mu is held.
func (c *Connector) take() []*entry {
	q := c.queue
	n := 0
	if len(q) > 0 && q[0].group != nil {
		for n < len(q) && q[n].group == q[0].group {
			n++
		}
	} else {
		seen := map[string]bool{}
		for n < len(q) && n < c.limits.BatchSize && q[n].group == nil && !seen[q[n].it.Key] {
			seen[q[n].it.Key] = true
			n++
		}
	}
	es := append([]*entry(nil), q[:n]...)
	c.queue = append(q[:0:0], q[n:]...)
	return es
}

// settle records the outcome of one PUT for its entries.
func (c *Connector) settle(es []*entry, ans answer, err error) {
	switch {
	case err != nil:
		c.finish(es, err)
	case ans.status >= 200 && ans.status < 300 && ans.success:
		c.lim.ok()
		c.finish(es, nil)
	case ans.status == http.StatusTooManyRequests:
		_, err := connectors.ClassifyHTTP(ans.status, ans.header, connectors.CallOther, ans.msg)
		var e *connectors.Error
		if errors.As(err, &e) {
			e.RetryAfter = c.lim.throttled(e.RetryAfter)
		}
		c.finish(es, err)
	case itemLevel(ans.status):
		c.lim.ok()
		c.split(es, ans)
	default:
		c.lim.ok()
		_, err := connectors.ClassifyHTTP(ans.status, ans.header, connectors.CallOther, ans.msg)
		if connectors.ClassOf(err) == connectors.Unauthorized {
			err = connectors.Errorf(connectors.Permanent, ans.status, "%s (again after a fresh token)", ans.msg)
		}
		c.finish(es, err)
	}
}

// itemLevel says whether a failed PUT may be the fault of one of its
// items (a 2xx with success false counts as 400).
func itemLevel(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return status >= 200 && status < 300
}

// split puts the two halves of a rejected PUT back at the head of the
// queue, each to be sent alone; a single item has its answer.
func (c *Connector) split(es []*entry, ans answer) {
	status := ans.status
	if status < 300 {
		status = http.StatusBadRequest
	}
	rejected := connectors.Errorf(connectors.Permanent, status, "%s", ans.msg)
	if len(es) == 1 {
		c.finish(es, rejected)
		return
	}
	t := &tree{budget: 3 * bits.Len(uint(len(es)))}
	if g := es[0].group; g != nil {
		t = g.tree
		t.failures++
	}
	if t.failures > t.budget {
		c.finish(es, connectors.Errorf(connectors.Permanent, status, "%s (in a batch with too many rejected items to narrow down)", ans.msg))
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	es = deleteFunc(es, func(e *entry) bool { return e.done }) // their Apply calls gave up
	a, b := &group{t}, &group{t}
	for i, e := range es {
		e.group = a
		if i >= len(es)/2 {
			e.group = b
		}
	}
	c.queue = append(es, c.queue...)
}

// finish gives each entry its result: success (the key as target id) or err.
func (c *Connector) finish(es []*entry, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range es {
		if e.done {
			continue // its Apply call has given up on it
		}
		e.done = true
		e.res = connectors.Result{Err: err}
		if err == nil {
			e.res.TargetID = e.it.Key
		}
		if e.call.left--; e.call.left == 0 {
			close(e.call.done)
		}
	}
}
