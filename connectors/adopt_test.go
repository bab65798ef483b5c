package connectors_test

import (
	"context"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// scripted answers each Apply with the next scripted result per change
// (success with a fresh target id when the script is empty) and keeps
// every change it was given.
type scripted struct {
	mu     sync.Mutex
	script map[string][]connectors.Result // SCIM id -> results to answer, in order
	seen   map[string][]connectors.Change
}

func (s *scripted) Name() string { return "test" }
func (s *scripted) Limits() connectors.Limits {
	return connectors.Limits{BatchSize: 1, Timeout: 5e9}
}

func (s *scripted) Apply(_ context.Context, batch []connectors.Change) []connectors.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]connectors.Result, len(batch))
	for i, ch := range batch {
		s.seen[ch.ID] = append(s.seen[ch.ID], ch)
		if q := s.script[ch.ID]; len(q) > 0 {
			out[i], s.script[ch.ID] = q[0], q[1:]
			continue
		}
		out[i].TargetID = ch.TargetID
		if out[i].TargetID == "" {
			out[i].TargetID = "t-" + ch.ID
		}
	}
	return out
}

func (s *scripted) changes(id string) []connectors.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]connectors.Change(nil), s.seen[id]...)
}

// TestFailedChangeKeepsItsTargetID: a group create lands (the connector
// learned its id) but the same change's member call fails; the retry
// names the group's id, says it may exist, and carries SCIM's whole
// membership for the adopted group to converge to.
func TestFailedChangeKeepsItsTargetID(t *testing.T) {
	e := newEnv(t, connectors.Limits{}, connectors.Settings{}, nil)
	conn := &scripted{seen: map[string][]connectors.Change{}, script: map[string][]connectors.Result{
		"g1": {{TargetID: "t-group", Err: connectors.NewTransient("member /Bulk answered 429", nil)}},
	}}
	d, err := connectors.NewDispatcher(e.db, []connectors.Target{{Connector: conn, Settings: e.set}}, zerolog.Nop(), prometheus.NewRegistry(), fast...)
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	e.write(createUser("u1"))
	if err := e.db.Update(func(tx *store.Tx) error {
		if _, err := tx.CreateResource(store.TypeGroup, "g1", []byte(`{"id":"g1","displayName":"Sales EMEA"}`)); err != nil {
			return err
		}
		if _, err := tx.AddMember("g1", "u1", []byte(`{"value":"u1"}`)); err != nil {
			return err
		}
		return e.d.Enqueue(tx, store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Sales EMEA"), MembersAdded: []string{"u1"}})
	}); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.drain()
	got := conn.changes("g1")
	if len(got) != 2 {
		t.Fatalf("%d deliveries of the group, want 2: %+v", len(got), got)
	}
	retry := got[1]
	if retry.TargetID != "t-group" || !retry.MayExist || retry.Prev != nil {
		t.Errorf("retry: target %q mayExist %v prev %v, want the recorded id, may exist, no prev", retry.TargetID, retry.MayExist, retry.Prev)
	}
	if len(retry.Members) != 1 || retry.Members[0].ID != "u1" || retry.Members[0].TargetID != "t-u1" {
		t.Errorf("retry members %+v, want SCIM's u1 as t-u1", retry.Members)
	}
	if got[0].TargetID != "" || got[0].MayExist {
		t.Errorf("first delivery: %+v", got[0])
	}
	// Acknowledged now: later changes carry no whole membership.
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", Before: group("g1", "Sales EMEA"), After: group("g1", "Sales Europe")})
	e.drain()
	got = conn.changes("g1")
	if last := got[len(got)-1]; last.TargetID != "t-group" || last.Members != nil || last.MayExist {
		t.Errorf("after acknowledgement: %+v", last)
	}
}
