package webex

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/scimbridge/scimbridge/connectors"
)

// Group writes through /Bulk.
//
// Each group change of a batch runs the same sequential code as alone
// (applyGroup: create or adopt, member chunks, per-member fallback,
// re-creation, delete), in its own goroutine. Its writes (POST, PATCH and
// DELETE on /Groups) do not go out at once: they wait at a barrier until
// every group still running has one write waiting, and then go together,
// in batch order, in one /Bulk per 100 operations. So one request carries
// at most one write per group (a group's create lands, and its id is
// known, before its member PATCHes are sent), and a batch of N groups
// costs as many /Bulk rounds as its longest group needs calls, not the
// sum. Reads (the lookup after a 409) cannot go in /Bulk: they are sent
// alone, one at a time. A round of one write is sent as a plain request.
//
// A /Bulk the target refuses permanently makes this round and the rest of
// the batch go one request per write; a transient failure of the whole
// request is every write's answer, as a failed single request would be.

// groupBatch is the barrier of one Apply's group changes.
type groupBatch struct {
	c   *Connector
	ctx context.Context // Apply's context, for the batch's own requests

	mu      sync.Mutex
	live    int // group goroutines not finished
	waiting []*pendingWrite
	single  bool // /Bulk refused in this batch: one request per write

	direct sync.Mutex // serialises the calls that cannot go in /Bulk
}

type pendingWrite struct {
	idx     int // the change's place in the batch: the order in /Bulk
	cl      call
	out     any
	done    chan struct{}
	outcome connectors.Outcome
	err     error
}

type groupSlotKey struct{}

// groupSlot is what a group goroutine's context carries: its batch and
// its change's index.
type groupSlot struct {
	b   *groupBatch
	idx int
}

// applyGroupsBulk runs the group changes at idxs concurrently with their
// writes batched into /Bulk, and stores their results.
func (c *Connector) applyGroupsBulk(ctx context.Context, batch []connectors.Change, idxs []int, results []connectors.Result) {
	b := &groupBatch{c: c, ctx: ctx, live: len(idxs)}
	var wg sync.WaitGroup
	for _, i := range idxs {
		gctx := context.WithValue(ctx, groupSlotKey{}, &groupSlot{b: b, idx: i})
		wg.Go(func() {
			defer b.finish()
			results[i] = c.applyGroup(gctx, batch[i])
		})
	}
	wg.Wait()
}

// gdo is do for the group code: inside applyGroupsBulk a write waits for
// the batch's next /Bulk round and a read is sent alone; elsewhere it is do.
func (c *Connector) gdo(ctx context.Context, cl call, out any) (connectors.Outcome, error) {
	s, ok := ctx.Value(groupSlotKey{}).(*groupSlot)
	if !ok {
		return c.do(ctx, cl, out)
	}
	if cl.method == http.MethodGet || !strings.HasPrefix(cl.path, "/Groups") {
		s.b.direct.Lock()
		defer s.b.direct.Unlock()
		return c.do(s.b.ctx, cl, out)
	}
	p := &pendingWrite{idx: s.idx, cl: cl, out: out, done: make(chan struct{})}
	s.b.submit(p)
	<-p.done
	return p.outcome, p.err
}

// submit queues a write; the goroutine that completes the round sends it.
func (b *groupBatch) submit(p *pendingWrite) {
	b.mu.Lock()
	b.waiting = append(b.waiting, p)
	round := b.takeRound()
	b.mu.Unlock()
	b.send(round)
}

// finish marks a group goroutine done; the others may now form a round.
func (b *groupBatch) finish() {
	b.mu.Lock()
	b.live--
	round := b.takeRound()
	b.mu.Unlock()
	b.send(round)
}

// takeRound returns the waiting writes when every live goroutine has one;
// b.mu held.
func (b *groupBatch) takeRound() []*pendingWrite {
	if b.live == 0 || len(b.waiting) < b.live {
		return nil
	}
	round := b.waiting
	b.waiting = nil
	return round
}

// send delivers one round: in batch order, as /Bulk requests of at most
// 100 operations, or one request per write.
func (b *groupBatch) send(round []*pendingWrite) {
	if len(round) == 0 {
		return
	}
	slices.SortFunc(round, func(x, y *pendingWrite) int { return x.idx - y.idx })
	for rest := round; len(rest) > 0; {
		n := min(len(rest), maxBulkOps)
		b.sendChunk(rest[:n])
		rest = rest[n:]
	}
	// Released together: no other round can form while any of them waits,
	// so a round's requests never overlap another's.
	for _, p := range round {
		close(p.done)
	}
}

func (b *groupBatch) sendChunk(ps []*pendingWrite) {
	if len(ps) == 1 || b.single {
		for _, p := range ps {
			p.outcome, p.err = b.c.do(b.ctx, p.cl, p.out)
		}
		return
	}
	req := bulkRequest{Schemas: []string{schemaBulkReq}}
	byID := make(map[string]*pendingWrite, len(ps))
	for i, p := range ps {
		id := "op" + strconv.Itoa(i+1)
		byID[id] = p
		req.Operations = append(req.Operations, bulkOp{Method: p.cl.method, BulkID: id, Path: p.cl.path, Data: p.cl.body})
	}
	var resp bulkResponse
	_, err := b.c.do(b.ctx, call{op: "group.bulk", method: http.MethodPost, path: "/Bulk", body: req}, &resp)
	if err != nil {
		if isPermanent(err) {
			b.c.log.Warn().Err(err).Msg("webex /Bulk refused; sending group writes one by one")
			b.single = true // read by later rounds only, which start after this one is released
			for _, p := range ps {
				p.outcome, p.err = b.c.do(b.ctx, p.cl, p.out)
			}
			return
		}
		for _, p := range ps {
			p.outcome, p.err = connectors.Failed, err
		}
		return
	}
	answers := matchAnswers(resp.Operations, byID, ps)
	for _, p := range ps {
		o, ok := answers[p]
		if !ok {
			// It may not have run; a retry is safe (409 adopts, adds are
			// idempotent, 404 on delete or removal is done).
			p.outcome, p.err = connectors.Failed, connectors.NewTransient("no answer for this operation in the /Bulk response", nil)
			continue
		}
		p.outcome, p.err = bulkAnswer(p.cl, o, p.out)
	}
}

// bulkAnswer classifies one operation's answer as do would classify the
// same call sent alone, and fills out (an *idOnly for a create) from the
// location, or from a response body when the target sends one.
func bulkAnswer(cl call, o bulkOpResult, out any) (connectors.Outcome, error) {
	outcome, err := connectors.ClassifyHTTP(o.status(), http.Header{}, cl.kind, errorMessage(o.Response))
	if err != nil {
		if connectors.ClassOf(err) == connectors.Unauthorized {
			// The request itself was authorized; retry the operation.
			err = connectors.NewTransient("bulk operation answered 401", err)
		}
		return outcome, adjust(err)
	}
	if outcome != connectors.OK || out == nil {
		return outcome, nil
	}
	if len(o.Response) > 0 {
		_ = json.Unmarshal(o.Response, out)
	}
	if r, ok := out.(*idOnly); ok && r.ID == "" && o.Location != "" {
		r.ID = o.id()
	}
	return outcome, nil
}
