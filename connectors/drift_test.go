package connectors_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// fieldConn is a target of users that keeps each one's fields and lists
// them back (a FieldLister); edit changes one behind the bridge's back.
type fieldConn struct {
	*scriptedConn
	mu    sync.Mutex
	users map[string]map[string]any // target id -> fields
	ops   []connectors.Change
}

func newFieldConn() *fieldConn {
	c := &fieldConn{users: map[string]map[string]any{}}
	c.scriptedConn = &scriptedConn{answer: c.apply}
	return c
}

func (c *fieldConn) apply(ch connectors.Change) connectors.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, ch)
	if ch.Type != connectors.User || ch.Op != connectors.OpUpsert {
		return connectors.Result{}
	}
	tid := ch.TargetID
	if tid == "" {
		tid = "t-" + ch.ID
	}
	f := maps.Clone(c.users[tid])
	if f == nil || ch.Prev == nil {
		f = map[string]any{}
	}
	for k, v := range ch.Fields { // a diff-based target: only what changed
		if ch.Prev == nil || fmt.Sprint(ch.Prev[k]) != fmt.Sprint(v) {
			f[k] = v
		}
	}
	c.users[tid] = f
	return connectors.Result{TargetID: tid}
}

func (c *fieldConn) List(ctx context.Context, typ string, fn func(string) error) error {
	return c.ListFields(ctx, typ, func(id string, _ map[string]any) error { return fn(id) })
}

func (c *fieldConn) ListFields(_ context.Context, typ string, fn func(string, map[string]any) error) error {
	if typ != connectors.User {
		return nil
	}
	c.mu.Lock()
	ids := slices.Sorted(maps.Keys(c.users))
	snap := map[string]map[string]any{}
	for _, id := range ids {
		snap[id] = maps.Clone(c.users[id])
	}
	c.mu.Unlock()
	for _, id := range ids {
		if err := fn(id, snap[id]); err != nil {
			return err
		}
	}
	return nil
}

func (c *fieldConn) edit(tid, field string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users[tid][field] = v
}

func (c *fieldConn) field(tid, field string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.users[tid][field]
}

// An administrator renames and deactivates a user in the target: the
// check reports each field (target value vs SCIM's) without touching the
// target; --repair queues SCIM's values, and the upsert's diff sends the
// drifted fields back; the next check is clean.
func TestTargetCheckFieldDrift(t *testing.T) {
	c := newFieldConn()
	e, _ := scriptedEnv(t, c)
	e.start()
	e.write(createUser("u1"), createUser("u2"))
	e.drain()
	if r := runCheck(t, e, false)[connectors.User]; r.Drifted != 0 || len(r.Fields) != 0 {
		t.Fatalf("drift before any edit: %+v", r)
	}
	want := c.field("t-u1", "userName")
	c.edit("t-u1", "userName", "renamed@example.com")
	c.edit("t-u1", "active", false)
	c.mu.Lock()
	sent := len(c.ops)
	c.mu.Unlock()

	r := runCheck(t, e, false)[connectors.User]
	slices.SortFunc(r.Fields, func(a, b connectors.FieldDrift) int { return strings.Compare(a.Field, b.Field) })
	wantDrift := []connectors.FieldDrift{
		{ID: "u1", Field: "active", Target: "false", SCIM: "true"},
		{ID: "u1", Field: "userName", Target: "renamed@example.com", SCIM: fmt.Sprint(want)},
	}
	if r.Drifted != 1 || !slices.Equal(r.Fields, wantDrift) || r.Repaired != 0 {
		t.Fatalf("check: %+v, want %+v", r, wantDrift)
	}
	e.drain()
	c.mu.Lock()
	if len(c.ops) != sent {
		t.Error("a check without repair sent changes")
	}
	c.mu.Unlock()

	if r := runCheck(t, e, true)[connectors.User]; r.Repaired != 1 {
		t.Fatalf("repair: %+v", r)
	}
	e.drain()
	if got := c.field("t-u1", "userName"); got != want {
		t.Errorf("userName %v after repair, want %v", got, want)
	}
	if got := c.field("t-u1", "active"); got != true {
		t.Errorf("active %v after repair", got)
	}
	if r := runCheck(t, e, false)[connectors.User]; r.Drifted != 0 {
		t.Errorf("drift after repair: %+v", r)
	}
}

// drift_check_interval runs the check by itself, report only, once the
// queue is idle.
func TestPeriodicDriftCheck(t *testing.T) {
	c := newFieldConn()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	set := connectors.Settings{Name: "scripted", Concurrency: 1, Options: map[string]string{connectors.OptDriftCheckInterval: "10ms"}}
	d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: c, Settings: set}}, zerolog.Nop(), nil, fast...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, d: d, set: set}
	e.start()
	e.write(createUser("u1"))
	e.drain()
	c.edit("t-u1", "userName", "renamed@example.com")
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := d.TargetCheck()
		if len(st.Results) > 0 { // a periodic check shows its last results while the next runs
			var u connectors.TargetCheckResult
			for _, r := range st.Results {
				if r.Type == connectors.User {
					u = r
				}
			}
			if u.Drifted == 1 {
				if u.Repaired != 0 || c.field("t-u1", "userName") != "renamed@example.com" {
					t.Errorf("a periodic check repaired: %+v", u)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no periodic check found the drift: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
