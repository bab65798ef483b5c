package connectors_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/testconn"
	"github.com/scimbridge/scimbridge/store"
)

// A retry, a dead letter, an operator's retry and the final delivery are
// each in the resource's timeline, in order, with the target's message.
func TestDeliveryEventsInTheTimeline(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 1}, connectors.Settings{}, nil)
	log := activitylog.New(e.db, activitylog.Options{})
	d, err := connectors.NewDispatcher(e.db, []connectors.Target{{Connector: e.conn, Settings: e.set}}, zerolog.Nop(), prometheus.NewRegistry(),
		append(slices.Clone(fast), connectors.WithActivity(log))...)
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	e.start()
	e.target.FailNext(testconn.Fault5xx, 1)
	e.write(createUser("u1"))
	e.drain()
	e.target.FailNext(testconn.FaultPermanent, 1)
	e.write(store.Change{Type: store.TypeUser, ID: "u1", After: user("u1", "u1@example.com", false, "Later")})
	e.drain()
	dl := e.deadLetters()
	if len(dl) != 1 {
		t.Fatalf("dead letters: %+v", dl)
	}
	if err := e.d.RetryDeadLetter(e.set.Name, dl[0].ID); err != nil {
		t.Fatal(err)
	}
	e.drain()

	p, err := log.Timeline(context.Background(), "u1", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i := len(p.Events) - 1; i >= 0; i-- {
		ev := p.Events[i]
		kinds = append(kinds, ev.Kind)
		switch ev.Kind {
		case activity.KindRetry:
			if ev.NextAttempt.IsZero() || !strings.Contains(ev.Detail, "transient") || ev.Outcome != activity.OutcomeFailed {
				t.Errorf("retry event: %+v", ev)
			}
		case activity.KindDead:
			if ev.Detail == "" || ev.Outcome != activity.OutcomeFailed {
				t.Errorf("dead event: %+v", ev)
			}
		case activity.KindRetried:
			if ev.Client != connectors.Operator {
				t.Errorf("retried event: %+v", ev)
			}
		case activity.KindDelivered:
			if ev.TargetID == "" || ev.Connector != e.set.Name {
				t.Errorf("delivered event: %+v", ev)
			}
		}
	}
	want := "queued retry delivered queued dead retried queued delivered"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("timeline:\n got %s\nwant %s", got, want)
	}
}

// noting is a connector that finds something about every user it writes.
type noting struct{ connectors.Connector }

func (n noting) Apply(ctx context.Context, batch []connectors.Change) []connectors.Result {
	res := n.Connector.Apply(ctx, batch)
	for i, ch := range batch {
		if ch.Type == connectors.User && res[i].Err == nil {
			res[i].Notes = []string{"duplicate registrations found for " + ch.ID + ": kept k1, deactivated k2"}
		}
	}
	return res
}

// A connector's notes (Result.Notes) are warnings on the resource's
// timeline, after the delivery they came with, and only there.
func TestConnectorNotesInTheTimeline(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	log := activitylog.New(e.db, activitylog.Options{})
	d, err := connectors.NewDispatcher(e.db, []connectors.Target{{Connector: noting{e.conn}, Settings: e.set}}, zerolog.Nop(), prometheus.NewRegistry(),
		append(slices.Clone(fast), connectors.WithActivity(log))...)
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	e.start()
	e.write(createUser("u1"), createUser("u2"))
	e.drain()
	for _, id := range []string{"u1", "u2"} {
		p, err := log.Timeline(context.Background(), id, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for i := len(p.Events) - 1; i >= 0; i-- {
			ev := p.Events[i]
			kinds = append(kinds, ev.Kind)
			if ev.Kind == activity.KindWarning && (ev.Connector != e.set.Name || ev.ID != id || ev.TargetID == "" ||
				ev.Detail != "duplicate registrations found for "+id+": kept k1, deactivated k2") {
				t.Errorf("warning event: %+v", ev)
			}
		}
		if got, want := strings.Join(kinds, " "), "queued delivered warning"; got != want {
			t.Errorf("timeline of %s:\n got %s\nwant %s", id, got, want)
		}
	}
	// The feed filters them by kind like any other event.
	p, err := log.Recent(context.Background(), activity.Filter{Kind: activity.KindWarning, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 2 {
		t.Errorf("%d warnings in the feed, want 2", len(p.Events))
	}
}
