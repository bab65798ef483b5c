package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// readerConn is a fieldConn that can also read one user (a FieldReader);
// it counts its reads and can be told to fail them.
type readerConn struct {
	*fieldConn
	rmu   sync.Mutex
	reads int
	fail  error
	held  chan struct{} // when set, a read waits for it to close
}

func (c *readerConn) ReadFields(_ context.Context, typ, tid string) (map[string]any, error) {
	c.rmu.Lock()
	c.reads++
	fail, held := c.fail, c.held
	c.rmu.Unlock()
	if held != nil {
		<-held
	}
	if fail != nil {
		return nil, fail
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.users[tid]
	if !ok || typ != connectors.User {
		return nil, fmt.Errorf("GET %s: %w", tid, connectors.ErrTargetGone)
	}
	return maps.Clone(f), nil
}

func (c *readerConn) readCount() int {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.reads
}

// fieldEnv is a dispatcher over two connectors, one that can read one
// object ("reader") and one that can only list ("lister"), recording in
// an activity log.
func fieldEnv(t *testing.T) (*env, *readerConn, *fieldConn, *activitylog.Log) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := activitylog.New(db, activitylog.Options{})
	rc, lc := &readerConn{fieldConn: newFieldConn()}, newFieldConn()
	targets := []connectors.Target{
		{Connector: rc, Settings: connectors.Settings{Name: "reader", Concurrency: 1}},
		{Connector: lc, Settings: connectors.Settings{Name: "lister", Concurrency: 1}},
	}
	d, err := connectors.NewDispatcher(db, targets, zerolog.Nop(), nil, append(slices.Clone(fast), connectors.WithActivity(log))...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, d: d}
	e.start()
	return e, rc, lc, log
}

// drainAll waits until every connector's queue is empty.
func (e *env) drainAll() {
	e.t.Helper()
	for range 2000 {
		st, err := e.d.Status()
		if err != nil {
			e.t.Fatal(err)
		}
		idle := true
		for _, s := range st {
			idle = idle && s.QueueDepth == 0 && s.InFlight == 0
		}
		if idle {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	e.t.Fatal("queues not drained")
}

func checkFields(t *testing.T, e *env, id string, repair bool) map[string]connectors.FieldCheck {
	t.Helper()
	res, err := e.d.CheckFields(context.Background(), connectors.User, id, repair)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]connectors.FieldCheck{}
	for _, r := range res {
		out[r.Connector] = r
	}
	return out
}

// An administrator renames and deactivates one user in the target: the
// field check of that user reports each field (target vs SCIM) with one
// read, leaves the target alone, and records the check; Repair queues
// SCIM's values through the outbox (check-targets' own transaction) and
// the target gets them back. The lister-only connector says the check is
// not available there.
func TestCheckFieldsOneResource(t *testing.T) {
	e, rc, lc, log := fieldEnv(t)
	e.write(createUser("u1"), createUser("u2"))
	e.drainAll()

	got := checkFields(t, e, "u1", false)
	if r := got["reader"]; r.State != connectors.FieldsInSync || r.TargetID != "t-u1" || len(r.Fields) != 0 {
		t.Fatalf("before any edit: %+v", r)
	}
	if r := got["lister"]; r.State != connectors.FieldsUnavailable || !strings.Contains(r.Message, "field check not available for lister") ||
		!strings.Contains(r.Message, "check-targets") {
		t.Fatalf("lister: %+v", r)
	}

	want := rc.field("t-u1", "userName")
	rc.edit("t-u1", "userName", "RENAMED@example.com")
	rc.edit("t-u1", "active", false)
	rc.edit("t-u2", "userName", "U2@EXAMPLE.COM") // only the letter case: not drift
	rc.mu.Lock()
	sent := len(rc.ops)
	rc.mu.Unlock()
	reads := rc.readCount()

	r := checkFields(t, e, "u1", false)["reader"] // fields in name order
	wantDrift := []connectors.FieldDrift{
		{ID: "u1", Field: "active", Target: "false", SCIM: "true"},
		{ID: "u1", Field: "userName", Target: "RENAMED@example.com", SCIM: fmt.Sprint(want)},
	}
	if r.State != connectors.FieldsDrifted || !slices.Equal(r.Fields, wantDrift) || r.Repaired {
		t.Fatalf("check: %+v, want %+v", r, wantDrift)
	}
	if n := rc.readCount() - reads; n != 1 {
		t.Errorf("%d reads for one check, want 1", n)
	}
	if r := checkFields(t, e, "u2", false)["reader"]; r.State != connectors.FieldsInSync {
		t.Errorf("a userName in another letter case: %+v", r)
	}
	e.drainAll()
	rc.mu.Lock()
	if len(rc.ops) != sent {
		t.Error("a check without repair sent changes")
	}
	rc.mu.Unlock()

	r = checkFields(t, e, "u1", true)["reader"]
	if r.State != connectors.FieldsDrifted || !r.Repaired {
		t.Fatalf("repair: %+v", r)
	}
	e.drainAll()
	if got := rc.field("t-u1", "userName"); got != want {
		t.Errorf("userName %v after repair, want %v", got, want)
	}
	if got := rc.field("t-u1", "active"); got != true {
		t.Errorf("active %v after repair", got)
	}
	if lc.field("t-u1", "userName") != want {
		t.Error("the repair changed another connector's target")
	}
	if r := checkFields(t, e, "u1", false)["reader"]; r.State != connectors.FieldsInSync {
		t.Errorf("after repair: %+v", r)
	}

	// The timeline holds the checks as an operator's, the drift and the
	// repair with the fields' names, never their values.
	p, err := log.Timeline(context.Background(), "u1", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range p.Events {
		if ev.Client != connectors.Operator {
			continue
		}
		kinds = append(kinds, ev.Kind+"/"+ev.Connector+"/"+ev.Op)
		if strings.Contains(ev.Detail, "RENAMED") {
			t.Errorf("a target value in the activity log: %+v", ev)
		}
		if ev.Kind == activity.KindDrift && ev.Detail != "changed in the target behind the bridge's back: active, userName" {
			t.Errorf("drift event: %q", ev.Detail)
		}
	}
	slices.Sort(kinds)
	wantKinds := []string{"drift/reader/", "drift/reader/", "operator//check-fields", "operator//check-fields", "operator//check-fields",
		"operator//repair-fields", "repaired/reader/"}
	if !slices.Equal(kinds, wantKinds) {
		t.Errorf("operator events %v, want %v", kinds, wantKinds)
	}
}

// A user deleted in the target behind the bridge's back is reported
// missing; Repair re-creates it through the outbox as check-targets does.
// A read error is shown (the connector's message) and repairs nothing;
// resources never delivered or with a change queued are not read.
func TestCheckFieldsMissingErrorAndQueued(t *testing.T) {
	e, rc, _, log := fieldEnv(t)
	e.write(createUser("u1"))
	e.drainAll()

	rc.mu.Lock()
	delete(rc.users, "t-u1")
	rc.mu.Unlock()
	if r := checkFields(t, e, "u1", false)["reader"]; r.State != connectors.FieldsMissing || r.Repaired {
		t.Fatalf("deleted in the target: %+v", r)
	}
	if r := checkFields(t, e, "u1", true)["reader"]; r.State != connectors.FieldsMissing || !r.Repaired {
		t.Fatalf("repair of a deleted one: %+v", r)
	}
	e.drainAll()
	if rc.field("t-u1", "userName") != "u1@example.com" {
		t.Fatalf("not re-created: %v", rc.users)
	}
	p, err := log.Timeline(context.Background(), "u1", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	repaired := 0
	for _, ev := range p.Events {
		if ev.Kind == activity.KindRepaired && ev.Connector == "reader" {
			repaired++
		}
	}
	if repaired != 1 {
		t.Errorf("%d repaired events, want 1", repaired)
	}

	rc.rmu.Lock()
	rc.fail = connectors.Errorf(connectors.Permanent, 403, "Access denied.")
	rc.rmu.Unlock()
	r := checkFields(t, e, "u1", true)["reader"]
	if r.State != connectors.FieldsError || !strings.Contains(r.Message, "Access denied.") || r.Repaired {
		t.Fatalf("read error: %+v", r)
	}
	rc.rmu.Lock()
	rc.fail = nil
	rc.rmu.Unlock()

	reads := rc.readCount()
	if r := checkFields(t, e, "nobody", false)["reader"]; r.State != connectors.FieldsNotDelivered {
		t.Errorf("never delivered: %+v", r)
	}
	// A change queued (the dispatcher stopped, so it stays queued).
	e.stop()
	e.write(store.Change{Type: store.TypeUser, ID: "u1", Before: user("u1", "u1@example.com", true, "G"), After: user("u1", "u1@example.com", false, "G")})
	if r := checkFields(t, e, "u1", true)["reader"]; r.State != connectors.FieldsQueued || r.Repaired {
		t.Errorf("queued: %+v", r)
	}
	if n := rc.readCount() - reads; n != 0 {
		t.Errorf("%d reads for resources not to read", n)
	}
	if _, err := e.d.CheckFields(context.Background(), "Printer", "u1", false); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("unknown type: %v", err)
	}
}

// The read spends the target's budget only as deliveries would: a 429
// pauses the connector (deliveries too) and no field check reads while
// it lasts; two checks of one connector at once make one read, the other
// says so.
func TestCheckFieldsWithinBudget(t *testing.T) {
	e, rc, _, _ := fieldEnv(t)
	e.write(createUser("u1"))
	e.drainAll()

	held := make(chan struct{})
	rc.rmu.Lock()
	rc.held = held
	rc.rmu.Unlock()
	first := make(chan connectors.FieldCheck)
	go func() {
		res, _ := e.d.CheckFields(context.Background(), connectors.User, "u1", false)
		first <- res[0]
	}()
	for rc.readCount() == 0 {
		time.Sleep(time.Millisecond)
	}
	if r := checkFields(t, e, "u1", false)["reader"]; r.State != connectors.FieldsError || !strings.Contains(r.Message, "another field check") {
		t.Errorf("second check while one reads: %+v", r)
	}
	close(held)
	if r := <-first; r.State != connectors.FieldsInSync {
		t.Errorf("first check: %+v", r)
	}
	if n := rc.readCount(); n != 1 {
		t.Errorf("%d reads, want 1", n)
	}

	rc.rmu.Lock()
	rc.held = nil
	rc.fail = &connectors.Error{Class: connectors.Transient, Status: 429, Msg: "Too Many Requests", RetryAfter: time.Hour}
	rc.rmu.Unlock()
	if r := checkFields(t, e, "u1", false)["reader"]; r.State != connectors.FieldsError || !strings.Contains(r.Message, "Too Many Requests") {
		t.Fatalf("429: %+v", r)
	}
	st, err := e.d.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st[0].PausedUntil.IsZero() {
		t.Error("a 429 to the read did not pause the connector")
	}
	r := checkFields(t, e, "u1", false)["reader"]
	if r.State != connectors.FieldsError || !strings.Contains(r.Message, "slow down") || rc.readCount() != 2 {
		t.Errorf("while paused: %+v, %d reads", r, rc.readCount())
	}
}
