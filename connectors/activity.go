package connectors

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/store"
)

// WithActivity makes the dispatcher record its delivery events (queued,
// coalesced, delivered, retry, dead, unsupported, an operator's retry or
// discard, drift) in log, each inside the commit that does what it says.
func WithActivity(log *activitylog.Log) Option { return func(o *options) { o.activity = log } }

// Operator is the client an operator action is recorded under: the admin
// API (and so the console and the CLI) is its only door.
const Operator = "admin"

func (l *lane) event(tx *store.Tx, ev activity.Event) error {
	if l.d.opts.activity == nil {
		return nil
	}
	ev.Connector = l.name
	return l.d.opts.activity.Append(tx, ev)
}

// logQueued records a queue entry appended in tx.
func (l *lane) logQueued(tx *store.Tx, e *store.Entry) error {
	ev := activity.Event{Kind: activity.KindQueued, Outcome: activity.OutcomePending, Type: e.Type, ID: e.ID, Op: e.Op, Time: e.EnqueuedAt}
	switch {
	case e.LeftScope:
		ev.Detail = "left scope"
	case len(e.MembersAdded) > 0 || len(e.MembersRemoved) > 0:
		ev.Detail = memberSummary(e.MembersAdded, e.MembersRemoved)
	}
	return l.event(tx, ev)
}

func memberSummary(added, removed []string) string {
	s := fmt.Sprintf("members +%d −%d", len(added), len(removed))
	ids := append(added[:min(len(added), 3):min(len(added), 3)], removed[:min(len(removed), 3)]...)
	if len(ids) > 0 {
		s += ": " + strings.Join(ids, ", ")
		if len(added)+len(removed) > len(ids) {
			s += ", …"
		}
	}
	return s
}

// logOutcome records what became of one job in the commit that records it.
func (l *lane) logOutcome(tx *store.Tx, j *job, r Result, called bool, o outcome) error {
	if l.d.opts.activity == nil {
		return nil
	}
	c := j.change
	if len(j.entries) > 1 {
		if err := l.event(tx, activity.Event{Kind: activity.KindCoalesced, Outcome: activity.OutcomeOK, Type: c.Type, ID: c.ID,
			Op: string(c.Op), Detail: fmt.Sprintf("%d queued changes sent as one", len(j.entries))}); err != nil {
			return err
		}
	}
	ev := activity.Event{Type: c.Type, ID: c.ID, Op: string(c.Op), Outcome: activity.OutcomeOK}
	if called {
		ev.Duration, ev.Calls = j.took, j.calls
	}
	var notes []string
	switch o.label {
	case "noop":
		ev.Kind, ev.TargetID = activity.KindDelivered, c.TargetID
		notes = append(notes, "nothing to send: the target has it")
	case "delivered":
		ev.Kind, ev.TargetID = activity.KindDelivered, r.TargetID
		if ev.TargetID == "" {
			ev.TargetID = c.TargetID
		}
		if c.MembersAdded != nil || c.MembersRemoved != nil {
			notes = append(notes, fmt.Sprintf("members +%d −%d", len(c.MembersAdded), len(c.MembersRemoved)))
		}
	case "unsupported":
		ev.Kind = activity.KindUnsupported
		notes = append(notes, r.Err.Error())
	case "retry":
		ev.Kind, ev.Outcome = activity.KindRetry, activity.OutcomeFailed
		// record rewrote the run's first entry with its next attempt.
		if e, err := store.Optional(tx.GetEntry(l.name, j.entries[0].Seq)); err == nil && e != nil {
			ev.NextAttempt = e.NextAttempt
		}
		notes = append(notes, ClassOf(r.Err).String()+": "+r.Err.Error())
	case "dead":
		ev.Kind, ev.Outcome = activity.KindDead, activity.OutcomeFailed
		notes = append(notes, o.err.Error())
	default:
		ev.Kind = o.label
	}
	if c.LeftScope {
		notes = append(notes, "left scope")
	}
	if n := len(r.MemberErrors); n > 0 && o.done {
		notes = append(notes, fmt.Sprintf("%d member changes failed (dead letters)", n))
	}
	if len(j.skipped) > 0 {
		notes = append(notes, fmt.Sprintf("%d members skipped (unknown or out of scope)", len(j.skipped)))
	}
	ev.Detail = strings.Join(notes, "; ")
	if err := l.event(tx, ev); err != nil {
		return err
	}
	for _, n := range r.Notes {
		if err := l.event(tx, activity.Event{Kind: activity.KindWarning, Outcome: activity.OutcomeOK, Type: c.Type, ID: c.ID,
			Op: string(c.Op), TargetID: ev.TargetID, Detail: n}); err != nil {
			return err
		}
	}
	return nil
}

// logOperator records an operator's action on a resource (a dead
// letter retried or discarded).
func (l *lane) logOperator(tx *store.Tx, kind string, d *store.DeadLetter, detail string) error {
	return l.event(tx, activity.Event{Kind: kind, Outcome: activity.OutcomeOK, Client: Operator, Type: d.Type, ID: d.SCIMID,
		Op: d.Op, Detail: detail})
}

// logDrift records a resource delivered to the target but gone from it.
func (l *lane) logDrift(tx *store.Tx, typ, id, targetID string, repair bool) error {
	if err := l.event(tx, activity.Event{Kind: activity.KindDrift, Outcome: activity.OutcomeFailed, Type: typ, ID: id,
		TargetID: targetID, Detail: "delivered, but gone from the target"}); err != nil {
		return err
	}
	if !repair {
		return nil
	}
	return l.event(tx, activity.Event{Kind: activity.KindRepaired, Outcome: activity.OutcomeOK, Client: Operator, Type: typ, ID: id,
		Detail: "queued again to re-create it"})
}

// The native calls one Apply makes are counted by LimitTransport through
// the call's context.
type callsKey struct{}

func countCalls(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, callsKey{}, n), n
}

func countCall(ctx context.Context) {
	if n, ok := ctx.Value(callsKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}
