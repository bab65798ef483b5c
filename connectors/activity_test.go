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
