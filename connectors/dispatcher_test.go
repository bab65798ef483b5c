package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/testconn"
	"github.com/scimbridge/scimbridge/store"
)

// env is one store, one testconn target and a dispatcher over them.
type env struct {
	t      *testing.T
	db     *store.DB
	target *testconn.Target
	conn   *testconn.Connector
	d      *connectors.Dispatcher
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{}
	set    connectors.Settings
	mapper connectors.Mapper
	opts   []connectors.Option // after fast
}

var fast = []connectors.Option{
	connectors.WithBackoff(time.Millisecond, 10*time.Millisecond),
	connectors.WithPollInterval(5 * time.Millisecond),
}

func newEnv(t *testing.T, limits connectors.Limits, set connectors.Settings, mapper connectors.Mapper) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Queues, their index and the id mappings must agree after any test.
	t.Cleanup(func() {
		_ = db.View(func(tx *store.Tx) error {
			if problems, _ := tx.Verify(20); len(problems) > 0 {
				t.Errorf("store.Verify: %q", problems)
			}
			return nil
		})
	})
	e := &env{t: t, db: db, target: testconn.NewTarget(testconn.Options{}), set: set, mapper: mapper}
	if e.set.Name == "" {
		e.set.Name = "test"
	}
	if limits.Timeout == 0 {
		limits.Timeout = 5 * time.Second
	}
	e.conn = testconn.New(e.set.Name, e.target, limits)
	e.build()
	return e
}

// build makes a fresh dispatcher (a restart) over the same store and target.
func (e *env) build() {
	e.t.Helper()
	e.reg = prometheus.NewRegistry()
	d, err := connectors.NewDispatcher(e.db, []connectors.Target{{Connector: e.conn, Settings: e.set, Mapper: e.mapper}}, zerolog.Nop(), e.reg, append(append([]connectors.Option{}, fast...), e.opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.d = d
}

func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() { _ = e.d.Run(ctx); close(e.done) }()
	e.t.Cleanup(e.stop)
}

func (e *env) stop() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
}

// write commits changes as the SCIM layer does: one transaction.
func (e *env) write(changes ...store.Change) {
	e.t.Helper()
	err := e.db.Update(func(tx *store.Tx) error {
		for _, c := range changes {
			if err := e.d.Enqueue(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) depth() int {
	st, err := e.d.Status()
	if err != nil {
		e.t.Fatal(err)
	}
	return st[0].QueueDepth
}

// drain waits until the queue is empty and nothing is in flight.
func (e *env) drain() {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := e.d.Status()
		if err != nil {
			e.t.Fatal(err)
		}
		if st[0].QueueDepth == 0 && st[0].InFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("queue not drained: %+v", st[0])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func user(id, userName string, active bool, given string) map[string]any {
	return map[string]any{"id": id, "userName": userName, "active": active, "name": map[string]any{"givenName": given}}
}

func group(id, name string) map[string]any { return map[string]any{"id": id, "displayName": name} }

func createUser(id string) store.Change {
	return store.Change{Type: store.TypeUser, ID: id, After: user(id, id+"@example.com", true, "G")}
}

func (e *env) targetUser(userName string) (testconn.User, bool) {
	for _, u := range e.target.Users() {
		if u.UserName == userName {
			return u, true
		}
	}
	return testconn.User{}, false
}

func (e *env) deadLetters() []store.DeadLetter {
	e.t.Helper()
	dl, err := e.d.DeadLetters(e.set.Name)
	if err != nil {
		e.t.Fatal(err)
	}
	return dl
}

func TestCoalescesAResourcesPendingChanges(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	prev := user("u1", "u1@example.com", true, "v0")
	e.write(store.Change{Type: store.TypeUser, ID: "u1", After: prev})
	for i := 1; i <= 5; i++ {
		next := user("u1", "u1@example.com", true, fmt.Sprintf("v%d", i))
		e.write(store.Change{Type: store.TypeUser, ID: "u1", Before: prev, After: next})
		prev = next
	}
	if got := e.depth(); got != 6 {
		t.Fatalf("queue depth = %d, want 6", got)
	}
	e.start()
	e.drain()
	u, ok := e.targetUser("u1@example.com")
	if !ok {
		t.Fatal("user not delivered")
	}
	if got := u.Fields["name"].(map[string]any)["givenName"]; got != "v5" {
		t.Errorf("target has givenName %v, want the last write's v5", got)
	}
	if st := e.target.Stats(); st.Calls != 1 || st.Ops != 1 {
		t.Errorf("target saw %d calls, %d ops; want 1 and 1 (6 entries coalesced)", st.Calls, st.Ops)
	}
}

func TestSkipsChangesThatMapToNothingNew(t *testing.T) {
	only := mapperFunc(func(typ string, res map[string]any) (map[string]any, error) {
		return map[string]any{"userName": res["userName"]}, nil
	})
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, only)
	e.write(createUser("u1"))
	// Only "groups" (unmapped) changed: nothing for this connector.
	changed := user("u1", "u1@example.com", true, "G")
	changed["groups"] = []any{map[string]any{"value": "g1"}}
	e.write(store.Change{Type: store.TypeUser, ID: "u1", After: changed})
	if got := e.depth(); got != 1 {
		t.Errorf("queue depth = %d, want 1 (the unmapped change skipped)", got)
	}
}

func TestBatchesUpToTheConnectorsBatchSize(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{Concurrency: 2}, nil)
	for i := range 25 {
		e.write(createUser(fmt.Sprintf("u%02d", i)))
	}
	e.start()
	e.drain()
	st := e.target.Stats()
	if st.MaxBatchSeen != 10 || st.Calls != 3 {
		t.Errorf("calls %d, largest batch %d; want 3 calls, batches of at most 10", st.Calls, st.MaxBatchSeen)
	}
	if n := len(e.target.Users()); n != 25 {
		t.Errorf("target has %d users, want 25", n)
	}
}

func TestSettingsOverrideBatchSize(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{BatchSize: 3, Concurrency: 1}, nil)
	for i := range 7 {
		e.write(createUser(fmt.Sprintf("u%d", i)))
	}
	e.start()
	e.drain()
	if st := e.target.Stats(); st.MaxBatchSeen != 3 || st.Calls != 3 {
		t.Errorf("calls %d, largest batch %d; want 3 and 3", st.Calls, st.MaxBatchSeen)
	}
}

func TestGroupWaitsForItsMembersCreate(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	// The user's create fails twice; the group must not go out without it.
	e.target.FailNext(testconn.Fault5xx, 2)
	e.write(createUser("u1"))
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Eng"), MembersAdded: []string{"u1", "nobody"}})
	e.start()
	e.drain()
	u, _ := e.targetUser("u1@example.com")
	gs := e.target.Groups()
	if len(gs) != 1 || len(gs[0].Members) != 1 || gs[0].Members[0] != u.TargetID {
		t.Fatalf("groups = %+v, want Eng with member %s", gs, u.TargetID)
	}
	if n := metricSum(t, e.reg, "scimbridge_delivery_retries_total", ""); n != 2 {
		t.Errorf("retries = %v, want 2", n)
	}
}

func TestMemberDeltaCoalescesToNet(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	e.write(createUser("u1"), createUser("u2"))
	e.start()
	e.drain()
	e.stop()
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Eng"), MembersAdded: []string{"u1", "u2"}})
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Eng"), MembersRemoved: []string{"u1"}})
	e.build()
	e.start()
	e.drain()
	u2, _ := e.targetUser("u2@example.com")
	gs := e.target.Groups()
	if len(gs) != 1 || len(gs[0].Members) != 1 || gs[0].Members[0] != u2.TargetID {
		t.Fatalf("groups = %+v, want Eng with only u2", gs)
	}
}

func TestDeletedUserLeavesItsGroupsFirst(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	e.write(createUser("u1"), createUser("u2"))
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Eng"), MembersAdded: []string{"u1", "u2"}})
	e.start()
	e.drain()
	e.write(
		store.Change{Type: store.TypeGroup, ID: "g1", Before: group("g1", "Eng"), After: group("g1", "Eng"), MembersRemoved: []string{"u1"}},
		store.Change{Type: store.TypeUser, ID: "u1", Before: user("u1", "u1@example.com", true, "G")},
	)
	e.drain()
	if _, ok := e.targetUser("u1@example.com"); ok {
		t.Error("deleted user still in target")
	}
	u2, _ := e.targetUser("u2@example.com")
	if gs := e.target.Groups(); len(gs[0].Members) != 1 || gs[0].Members[0] != u2.TargetID {
		t.Errorf("group members = %v, want only u2", gs[0].Members)
	}
	if ids, _ := e.d.TargetIDs(store.TypeUser, "u1"); len(ids) != 0 {
		t.Errorf("deleted user still mapped: %v", ids)
	}
}

func TestTransientFaultsConverge(t *testing.T) {
	tests := []struct {
		name  string
		fault testconn.Fault
	}{
		{"5xx", testconn.Fault5xx},
		{"429", testconn.Fault429},
		{"429 Retry-After", testconn.Fault429RetryAfter},
		{"connection reset", testconn.FaultReset},
		{"answer lost after apply", testconn.FaultApplyThenDrop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, connectors.Limits{BatchSize: 5}, connectors.Settings{}, nil)
			e.target.SetOptions(testconn.Options{RetryAfter: 20 * time.Millisecond})
			e.target.FailNext(tc.fault, 3)
			for i := range 5 {
				e.write(createUser(fmt.Sprintf("u%d", i)))
			}
			e.start()
			e.drain()
			if n := len(e.target.Users()); n != 5 {
				t.Errorf("target has %d users, want 5", n)
			}
			if dl := e.deadLetters(); len(dl) != 0 {
				t.Errorf("dead letters: %+v", dl)
			}
			for i := range 5 {
				ids, _ := e.d.TargetIDs(store.TypeUser, fmt.Sprintf("u%d", i))
				u, _ := e.targetUser(fmt.Sprintf("u%d@example.com", i))
				if ids["test"] != u.TargetID {
					t.Errorf("u%d mapped to %q, target has %q", i, ids["test"], u.TargetID)
				}
			}
		})
	}
}

func TestPermanentFailureIsDeadLetteredAndRetried(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	e.target.Poison("u2", "userName is not an email")
	e.write(createUser("u1"), createUser("u2"), createUser("u3"))
	e.start()
	e.drain()
	dl := e.deadLetters()
	if len(dl) != 1 || dl[0].SCIMID != "u2" || !strings.Contains(dl[0].Reason, "userName is not an email") {
		t.Fatalf("dead letters = %+v, want u2 with the target's message", dl)
	}
	if n := len(e.target.Users()); n != 2 {
		t.Errorf("target has %d users, want 2", n)
	}
	e.target.Poison("u2", "")
	if err := e.d.RetryDeadLetter("test", dl[0].ID); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if _, ok := e.targetUser("u2@example.com"); !ok {
		t.Error("retried dead letter not delivered")
	}
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Errorf("dead letters after retry: %+v", dl)
	}
	if err := e.d.RetryDeadLetter("test", 999); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("retry unknown dead letter: %v, want ErrNotFound", err)
	}
}

func TestDiscardDeadLetter(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	e.target.Poison("u1", "nope")
	e.write(createUser("u1"))
	e.start()
	e.drain()
	dl := e.deadLetters()
	if len(dl) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(dl))
	}
	if err := e.d.DiscardDeadLetter("test", dl[0].ID); err != nil {
		t.Fatal(err)
	}
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Errorf("dead letters after discard: %+v", dl)
	}
}

func TestWholeBatchFailureIsSplitToFindTheBadChange(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 8}, connectors.Settings{Concurrency: 1}, nil)
	e.target.SetOptions(testconn.Options{AllOrNothing: true})
	e.target.Poison("u5", "bad email")
	for i := range 8 {
		e.write(createUser(fmt.Sprintf("u%d", i)))
	}
	e.start()
	e.drain()
	if n := len(e.target.Users()); n != 7 {
		t.Errorf("target has %d users, want 7", n)
	}
	dl := e.deadLetters()
	if len(dl) != 1 || dl[0].SCIMID != "u5" {
		t.Errorf("dead letters = %+v, want only u5", dl)
	}
}

func TestRetriesRunOutIntoADeadLetter(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 1}, connectors.Settings{}, nil)
	d, err := connectors.NewDispatcher(e.db, []connectors.Target{{Connector: e.conn, Settings: e.set}}, zerolog.Nop(), nil,
		append(fast, connectors.WithMaxAttempts(3))...)
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	e.target.FailNext(testconn.Fault5xx, 100)
	e.write(createUser("u1"))
	e.start()
	e.drain()
	dl := e.deadLetters()
	if len(dl) != 1 || !strings.Contains(dl[0].Reason, "gave up after 3 attempts") {
		t.Fatalf("dead letters = %+v", dl)
	}
}

func TestRestartResumesTheQueue(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 1}, connectors.Settings{Concurrency: 1}, nil)
	e.target.SetOptions(testconn.Options{Latency: 2 * time.Millisecond})
	for i := range 20 {
		e.write(createUser(fmt.Sprintf("u%02d", i)))
	}
	e.start()
	for len(e.target.Users()) < 3 {
		time.Sleep(time.Millisecond)
	}
	e.stop()
	if e.depth() == 0 {
		t.Skip("queue drained before the stop")
	}
	e.build()
	e.start()
	e.drain()
	if n := len(e.target.Users()); n != 20 {
		t.Errorf("target has %d users after restart, want 20", n)
	}
	if st := e.target.Stats(); st.Conflicts != 0 {
		t.Errorf("%d conflicts: a delivered change was sent again after a clean shutdown", st.Conflicts)
	}
}

// TestCrashBetweenCallAndAcknowledgement: the target applied the create
// but the dispatcher died before recording it: a new dispatcher delivers
// it again and the connector adopts the existing object.
func TestCrashBetweenCallAndAcknowledgement(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 1}, connectors.Settings{}, nil)
	e.write(createUser("u1"))
	// The "crash": the target holds u1, the queue still holds its entry.
	e.target.Call([]testconn.Op{{Kind: "upsert", Type: "User", ID: "u1", Fields: user("u1", "u1@example.com", true, "G")}})
	e.start()
	e.drain()
	if n := len(e.target.Users()); n != 1 {
		t.Fatalf("target has %d users, want 1 (no duplicate)", n)
	}
	u, _ := e.targetUser("u1@example.com")
	if ids, _ := e.d.TargetIDs(store.TypeUser, "u1"); ids["test"] != u.TargetID {
		t.Errorf("mapping = %v, want adopted %s", ids, u.TargetID)
	}
}

func TestScope(t *testing.T) {
	sales := mapperFunc(func(typ string, res map[string]any) (map[string]any, error) { return res, nil })
	sales.scope = func(typ string, res map[string]any) bool { return typ != store.TypeUser || res["dept"] == "Sales" }
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, sales)
	in := user("u1", "u1@example.com", true, "G")
	in["dept"] = "Sales"
	out := user("u2", "u2@example.com", true, "G")
	out["dept"] = "Ops"
	e.write(store.Change{Type: store.TypeUser, ID: "u1", After: in}, store.Change{Type: store.TypeUser, ID: "u2", After: out})
	e.start()
	e.drain()
	if n := len(e.target.Users()); n != 1 {
		t.Fatalf("target has %d users, want only the one in scope", n)
	}
	moved := user("u1", "u1@example.com", true, "G")
	moved["dept"] = "Ops"
	e.write(store.Change{Type: store.TypeUser, ID: "u1", Before: in, After: moved})
	e.drain()
	if n := len(e.target.Users()); n != 0 {
		t.Errorf("target has %d users after u1 left scope, want 0", n)
	}
	// Deleting a resource that is out of scope costs nothing.
	e.write(store.Change{Type: store.TypeUser, ID: "u2", Before: out})
	if d := e.depth(); d != 0 {
		t.Errorf("queue depth %d after deleting an out-of-scope user", d)
	}
}

func TestReconcileEnqueuesWhatChanged(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	stored := map[string]map[string]any{
		"u1": user("u1", "u1@example.com", true, "G"),
		"u2": user("u2", "u2@example.com", true, "G"),
	}
	list := func(tx *store.Tx, fn func(typ, id string, res map[string]any) error) error {
		for id, res := range stored {
			if err := fn(store.TypeUser, id, res); err != nil {
				return err
			}
		}
		return fn(store.TypeGroup, "g1", map[string]any{"id": "g1", "displayName": "Eng", "members": []any{map[string]any{"value": "u1"}}})
	}
	if err := e.d.Reconcile(list); err != nil {
		t.Fatal(err)
	}
	if d := e.depth(); d != 3 {
		t.Fatalf("first reconcile queued %d, want 3", d)
	}
	e.start()
	e.drain()
	if gs := e.target.Groups(); len(gs) != 1 || len(gs[0].Members) != 1 {
		t.Fatalf("groups = %+v, want Eng with u1", gs)
	}
	if err := e.d.Reconcile(list); err != nil {
		t.Fatal(err)
	}
	if d := e.depth(); d != 0 {
		t.Errorf("second reconcile with nothing changed queued %d", d)
	}
	delete(stored, "u2")
	stored["u1"] = user("u1", "u1@example.com", false, "G")
	if err := e.d.Reconcile(list); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if _, ok := e.targetUser("u2@example.com"); ok {
		t.Error("u2, gone from the store, still in the target")
	}
	if u, _ := e.targetUser("u1@example.com"); u.Active {
		t.Error("u1 still active after reconcile")
	}
}

func TestSyncAwait(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{Sync: true, SyncTimeout: 10 * time.Second}, nil)
	e.start()
	e.write(createUser("u1"))
	if err := e.d.Await(context.Background(), store.TypeUser, "u1"); err != nil {
		t.Fatalf("Await: %v", err)
	}
	if _, ok := e.targetUser("u1@example.com"); !ok {
		t.Error("Await returned before the delivery")
	}
	e.target.Poison("u2", "department is required")
	e.write(createUser("u2"))
	err := e.d.Await(context.Background(), store.TypeUser, "u2")
	if err == nil || !strings.Contains(err.Error(), "department is required") {
		t.Errorf("Await of a failing delivery: %v, want the target's message", err)
	}
}

func TestSyncAwaitTimesOut(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{Sync: true, SyncTimeout: 20 * time.Millisecond}, nil)
	e.write(createUser("u1")) // not running: never delivered
	if err := e.d.Await(context.Background(), store.TypeUser, "u1"); err == nil {
		t.Error("Await returned nil for an undelivered change")
	}
}

type unsupportedConn struct{}

func (unsupportedConn) Name() string              { return "nogroups" }
func (unsupportedConn) Limits() connectors.Limits { return connectors.Limits{BatchSize: 10} }
func (unsupportedConn) Apply(_ context.Context, b []connectors.Change) []connectors.Result {
	out := make([]connectors.Result, len(b))
	for i, c := range b {
		if c.Type == connectors.Group {
			out[i].Err = connectors.NewUnsupported("no groups")
		} else {
			out[i].TargetID = "t-" + c.ID
		}
	}
	return out
}

func TestUnsupportedIsRecordedNotRetried(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: unsupportedConn{}, Settings: connectors.Settings{Name: "nogroups"}}}, zerolog.Nop(), reg, fast...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, d: d, set: connectors.Settings{Name: "nogroups"}, reg: reg}
	e.write(createUser("u1"), store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Eng")})
	e.start()
	e.drain()
	st, _ := d.Status()
	if st[0].Unsupported != 1 || st[0].DeadLetters != 0 {
		t.Errorf("status = %+v, want 1 unsupported, no dead letters", st[0])
	}
	if n := metricSum(t, reg, "scimbridge_deliveries_total", "unsupported"); n != 1 {
		t.Errorf("unsupported deliveries metric = %v, want 1", n)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	e.write(createUser("u1"), createUser("u2"))
	if n := metricSum(t, e.reg, "scimbridge_queue_depth", ""); n != 2 {
		t.Errorf("queue depth metric = %v, want 2", n)
	}
	e.start()
	e.drain()
	if n := metricSum(t, e.reg, "scimbridge_deliveries_total", "delivered"); n != 2 {
		t.Errorf("delivered = %v, want 2", n)
	}
}

// TestConcurrentWritersAndFaults: many writers, a faulty target; the end
// state is exactly the last write of each resource.
func TestConcurrentWritersAndFaults(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 5, Rate: 2000, Burst: 5}, connectors.Settings{Concurrency: 4}, nil)
	e.target.SetOptions(testconn.Options{ErrorRate: 0.1, ResetRate: 0.05, SpikeRate: 0.05, SpikeLatency: 5 * time.Millisecond, RetryAfter: 5 * time.Millisecond})
	e.start()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				id := fmt.Sprintf("w%du%d", w, i)
				e.write(createUser(id))
				e.write(store.Change{Type: store.TypeUser, ID: id, After: user(id, id+"@example.com", i%2 == 0, "final")})
			}
		})
	}
	wg.Wait()
	e.target.FailNext(testconn.Fault429, 5)
	e.drain()
	users := e.target.Users()
	if len(users) != 40 {
		t.Fatalf("target has %d users, want 40", len(users))
	}
	for _, u := range users {
		i := int(u.UserName[3] - '0')
		if u.Active != (i%2 == 0) || u.Fields["name"].(map[string]any)["givenName"] != "final" {
			t.Errorf("%s: active=%v fields=%v, want the last write", u.UserName, u.Active, u.Fields)
		}
	}
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Errorf("dead letters: %v", dl)
	}
}

type mapperFn struct {
	fn    func(typ string, res map[string]any) (map[string]any, error)
	scope func(typ string, res map[string]any) bool
}

func mapperFunc(fn func(typ string, res map[string]any) (map[string]any, error)) *mapperFn {
	return &mapperFn{fn: fn}
}

func (m *mapperFn) Map(typ string, res map[string]any) (map[string]any, error) { return m.fn(typ, res) }
func (m *mapperFn) InScope(typ string, res map[string]any) bool {
	return m.scope == nil || m.scope(typ, res)
}

// metricSum sums a metric family's samples (only those with the outcome
// label when outcome is set).
func metricSum(t *testing.T, reg *prometheus.Registry, name, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := outcome == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					match = true
				}
			}
			if match {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// member records u as a member of g in the store, as the SCIM layer does
// before it enqueues the change.
func member(tx *store.Tx, g, u string) error {
	_, err := tx.AddMember(g, u, nil)
	return err
}

func TestScopeTransitionsCarryMemberships(t *testing.T) {
	scoped := mapperFunc(func(typ string, res map[string]any) (map[string]any, error) { return res, nil })
	scoped.scope = func(typ string, res map[string]any) bool { return res["sync"] != false }
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, scoped)
	hidden := func(r map[string]any) map[string]any { r["sync"] = false; return r }

	// u1 in scope, u2 not; g1 (out of scope) has both; g2 (in scope) has both.
	e.write(createUser("u1"), store.Change{Type: store.TypeUser, ID: "u2", After: hidden(user("u2", "u2@example.com", true, "G"))})
	err := e.db.Update(func(tx *store.Tx) error {
		for _, g := range []string{"g1", "g2"} {
			// Memberships belong to stored groups (store.Verify checks it).
			if _, err := tx.CreateResource(store.TypeGroup, g, []byte(`{"id":"`+g+`"}`)); err != nil {
				return err
			}
			for _, u := range []string{"u1", "u2"} {
				if err := member(tx, g, u); err != nil {
					return err
				}
			}
		}
		if err := e.d.Enqueue(tx, store.Change{Type: store.TypeGroup, ID: "g1", After: hidden(group("g1", "One")), MembersAdded: []string{"u1", "u2"}}); err != nil {
			return err
		}
		return e.d.Enqueue(tx, store.Change{Type: store.TypeGroup, ID: "g2", After: group("g2", "Two"), MembersAdded: []string{"u1", "u2"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.start()
	e.drain()
	members := func(name string) int {
		for _, g := range e.target.Groups() {
			if g.Name == name {
				return len(g.Members)
			}
		}
		return -1
	}
	if got := members("Two"); got != 1 {
		t.Fatalf("Two has %d members, want only u1 (u2 out of scope)", got)
	}
	// g1 enters scope by a write with no member delta: all members go.
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "One")})
	// u2 enters scope: it joins Two, which already is in the target.
	e.write(store.Change{Type: store.TypeUser, ID: "u2", After: user("u2", "u2@example.com", true, "G")})
	e.drain()
	if got := members("One"); got != 2 {
		t.Errorf("One has %d members after entering scope, want 2", got)
	}
	if got := members("Two"); got != 2 {
		t.Errorf("Two has %d members after u2 entered scope, want 2", got)
	}
}

// TestUnacknowledgedDeliveryIsNotTrustedAsPrev: a change reached the
// target but its acknowledgement was lost in a crash; the next write
// restores the acknowledged value. Diffing against the acknowledged fields
// would send nothing and leave the target wrong.
func TestUnacknowledgedDeliveryIsNotTrustedAsPrev(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	on := user("u1", "u1@example.com", true, "G")
	e.write(store.Change{Type: store.TypeUser, ID: "u1", After: on})
	e.start()
	e.drain()
	e.stop()
	tid := e.target.Users()[0].TargetID

	off := user("u1", "u1@example.com", false, "G")
	e.write(store.Change{Type: store.TypeUser, ID: "u1", Before: on, After: off})
	// The crashed process delivered it; nobody recorded that.
	e.target.Call([]testconn.Op{{Kind: "upsert", Type: "User", ID: "u1", TargetID: tid, Fields: off}})
	e.write(store.Change{Type: store.TypeUser, ID: "u1", Before: off, After: on})

	e.build() // restart
	e.start()
	e.drain()
	if u, _ := e.targetUser("u1@example.com"); !u.Active {
		t.Error("target left inactive: the re-delivery diffed against fields it could not trust")
	}
}

// TestMemberAddThenRemoveIsSentAsRemove: an add that may have landed
// unacknowledged must not be cancelled by a later remove.
func TestMemberAddThenRemoveIsSentAsRemove(t *testing.T) {
	e := newEnv(t, connectors.Limits{BatchSize: 10}, connectors.Settings{}, nil)
	e.write(createUser("u1"), store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Eng")})
	e.start()
	e.drain()
	e.stop()
	uid, gid := e.target.Users()[0].TargetID, e.target.Groups()[0].TargetID
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Eng"), MembersAdded: []string{"u1"}})
	e.target.Call([]testconn.Op{{Kind: "upsert", Type: "Group", ID: "g1", TargetID: gid, Fields: group("g1", "Eng"), Add: []string{uid}}})
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Eng"), MembersRemoved: []string{"u1"}})
	e.build()
	e.start()
	e.drain()
	if m := e.target.Groups()[0].Members; len(m) != 0 {
		t.Errorf("group members = %v, want none", m)
	}
}
