package connectors_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// gatedConn holds every group change that adds members until release is
// closed, and records the order of what it applied.
type gatedConn struct {
	held    chan struct{} // closed when a held call arrives
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	seen    []connectors.Change
}

func (g *gatedConn) Name() string              { return "gated" }
func (g *gatedConn) Limits() connectors.Limits { return connectors.Limits{BatchSize: 1} }
func (g *gatedConn) Apply(_ context.Context, b []connectors.Change) []connectors.Result {
	if b[0].Type == store.TypeGroup && len(b[0].MembersAdded) > 0 {
		g.once.Do(func() { close(g.held) })
		<-g.release
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen = append(g.seen, b...)
	out := make([]connectors.Result, len(b))
	for i, c := range b {
		out[i] = connectors.Result{TargetID: "t-" + c.ID}
	}
	return out
}

// connEnv is a store and a dispatcher over one connector c with settings
// set (and the fast test options, then opts).
func connEnv(t *testing.T, c connectors.Connector, set connectors.Settings, opts ...connectors.Option) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: c, Settings: set}}, zerolog.Nop(), nil, append(slices.Clone(fast), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, d: d, set: set}
}

// Found by test/story (SCC, 1 run in 4): Entra deactivates a user, then
// deletes it, while a group change adding it is in flight. The user's run
// (deactivate, delete) started with an upsert, so the rule "a user's delete
// waits for the groups that remove it" did not hold it: the delete reached
// SCC first and the in-flight add failed ("user not found", a dead letter).
// The delete must wait whatever the run starts with.
func TestUserDeleteAfterAnUpdateWaitsForItsGroupRemoval(t *testing.T) {
	c := &gatedConn{held: make(chan struct{}), release: make(chan struct{})}
	e := connEnv(t, c, connectors.Settings{Name: "gated", Concurrency: 2})
	e.start()
	e.write(createUser("u1"), store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "Eng")})
	e.drain()

	e.write(store.Change{Type: store.TypeGroup, ID: "g1", Before: group("g1", "Eng"), After: group("g1", "Eng"), MembersAdded: []string{"u1"}})
	<-c.held // the add is in flight
	// The deactivation is still queued when the delete comes (one
	// transaction here, so the scheduler cannot take it alone first).
	e.write(store.Change{Type: store.TypeUser, ID: "u1", Before: user("u1", "u1@example.com", true, "G"), After: user("u1", "u1@example.com", false, "G")},
		// SCIM's delete: the group reports the removal, then the user goes
		store.Change{Type: store.TypeGroup, ID: "g1", Before: group("g1", "Eng"), After: group("g1", "Eng"), MembersRemoved: []string{"u1"}},
		store.Change{Type: store.TypeUser, ID: "u1", Before: user("u1", "u1@example.com", false, "G")},
	)
	// Give the idle worker time to (wrongly) take the user's delete.
	time.Sleep(100 * time.Millisecond)
	close(c.release)
	e.drain()

	c.mu.Lock()
	defer c.mu.Unlock()
	removal := slices.IndexFunc(c.seen, func(ch connectors.Change) bool {
		return ch.Type == store.TypeGroup && len(ch.MembersRemoved) == 1
	})
	del := slices.IndexFunc(c.seen, func(ch connectors.Change) bool {
		return ch.Type == store.TypeUser && ch.Op == connectors.OpDelete
	})
	if removal < 0 || del < 0 || del < removal {
		t.Errorf("group removal at %d, user delete at %d in %d calls: the delete must come after the removal", removal, del, len(c.seen))
	}
}
