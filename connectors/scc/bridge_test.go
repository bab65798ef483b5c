package scc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/store"
)

// bridge is the whole delivery path over sccsim, as the program runs it:
// a bbolt store, the dispatcher with the default mapping, and the
// connector keeping its state in the store. restart builds a new
// dispatcher and connector over the same store and simulator, as a
// restarted process does.
type bridge struct {
	t      *testing.T
	e      *env
	db     *store.DB
	mapper *mapping.Mapper
	opts   []connectors.Option
	d      *connectors.Dispatcher
	cancel context.CancelFunc
	done   chan struct{}

	// put is called from request hooks too: mu serializes SCIM writes.
	mu      sync.Mutex
	docs    map[string]map[string]any // SCIM id -> current resource
	members map[string][]string       // SCIM group id -> member ids

	// hook, when set, sees each request before the simulator; a status
	// it answers (non-zero) is sent instead, with SCC's error body.
	hook atomic.Pointer[func(*http.Request) int]
}

func newBridge(t *testing.T, opts ...connectors.Option) *bridge {
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
	m, err := mapping.New(DefaultMapping, mapping.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	b := &bridge{t: t, db: db, mapper: m,
		opts: append([]connectors.Option{connectors.WithBackoff(time.Millisecond, 10*time.Millisecond),
			connectors.WithPollInterval(5 * time.Millisecond)}, opts...),
		docs: map[string]map[string]any{}, members: map[string][]string{}}
	b.e = newEnv(t, sccsim.Options{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h := b.hook.Load(); h != nil {
				if status := (*h)(r); status != 0 {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					fmt.Fprintf(w, `{"trackingId":"hook","message":"injected %d","statusCode":%d,"path":%q}`, status, status, r.URL.Path)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	b.build(nil)
	t.Cleanup(b.stop)
	return b
}

// connector is a new connector instance whose state is the store's, as
// the program builds it.
func (b *bridge) connector() *Connector {
	b.t.Helper()
	c, err := newConnector(b.e.settings, connectors.Deps{HTTPClient: b.e.srv.Client(), State: b.db.State(b.e.settings.Name)})
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// build makes a new dispatcher over the store (a restart) driving conn,
// or a new connector when conn is nil.
func (b *bridge) build(conn connectors.Connector) {
	b.t.Helper()
	if conn == nil {
		conn = b.connector()
	}
	d, err := connectors.NewDispatcher(b.db, []connectors.Target{{Connector: conn, Settings: b.e.settings, Mapper: b.mapper}},
		zerolog.Nop(), prometheus.NewRegistry(), b.opts...)
	if err != nil {
		b.t.Fatal(err)
	}
	b.d = d
}

func (b *bridge) start() {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan struct{})
	go func() { _ = b.d.Run(ctx); close(b.done) }()
}

func (b *bridge) stop() {
	if b.cancel != nil {
		b.cancel()
		<-b.done
		b.cancel = nil
	}
}

// restart stops the dispatcher and runs a new one with a new connector.
func (b *bridge) restart(conn connectors.Connector) {
	b.stop()
	b.build(conn)
	b.start()
}

// drain waits until the queue is empty and nothing is in flight.
func (b *bridge) drain() {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := b.d.Status()
		if err != nil {
			b.t.Fatal(err)
		}
		if st[0].QueueDepth == 0 && st[0].InFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("queue not drained: %+v", st[0])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// putUser writes a SCIM user as the SCIM layer does: the resource and its
// change in one transaction.
func (b *bridge) putUser(id, mail, given, family string, active bool) {
	b.t.Helper()
	doc := map[string]any{"id": id, "userName": mail, "active": active,
		"name":   map[string]any{"givenName": given, "familyName": family},
		"emails": []any{map[string]any{"value": mail, "type": "work", "primary": true}}}
	b.put(store.TypeUser, id, doc, nil)
}

// putGroup writes a SCIM group with exactly members.
func (b *bridge) putGroup(id, name string, members ...string) {
	b.t.Helper()
	b.put(store.TypeGroup, id, map[string]any{"id": id, "displayName": name}, members)
}

func (b *bridge) put(typ, id string, doc map[string]any, members []string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	raw, err := json.Marshal(doc)
	if err != nil {
		b.t.Fatal(err)
	}
	before := b.docs[id]
	err = b.db.Update(func(tx *store.Tx) error {
		if before == nil {
			if _, err := tx.CreateResource(typ, id, raw); err != nil {
				return err
			}
		} else if err := tx.UpdateResource(typ, id, raw); err != nil {
			return err
		}
		c := store.Change{Type: typ, ID: id, Before: before, After: doc}
		if typ == store.TypeGroup {
			old := b.members[id]
			for _, m := range members {
				if !slices.Contains(old, m) {
					if _, err := tx.AddMember(id, m, []byte(`{"value":"`+m+`"}`)); err != nil {
						return err
					}
					c.MembersAdded = append(c.MembersAdded, m)
				}
			}
			for _, m := range old {
				if !slices.Contains(members, m) {
					if _, err := tx.RemoveMember(id, m); err != nil {
						return err
					}
					c.MembersRemoved = append(c.MembersRemoved, m)
				}
			}
		}
		return b.d.Enqueue(tx, c)
	})
	if err != nil {
		b.t.Fatal(err)
	}
	b.docs[id] = doc
	if typ == store.TypeGroup {
		b.members[id] = members
	}
}

// change is the Change the dispatcher would build for SCIM resource id's
// first delivery (what a process that then crashed sent).
func (b *bridge) change(typ, id string) connectors.Change {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := b.mapper.Map(typ, b.docs[id])
	if err != nil {
		b.t.Fatal(err)
	}
	ch := connectors.Change{Type: typ, ID: id, Op: connectors.OpUpsert, Fields: f}
	for _, m := range b.members[id] {
		uf, err := b.mapper.Map(store.TypeUser, b.docs[m])
		if err != nil {
			b.t.Fatal(err)
		}
		mem := connectors.Member{ID: m, TargetID: email(uf), Fields: uf}
		ch.MembersAdded, ch.Members = append(ch.MembersAdded, mem), append(ch.Members, mem)
	}
	return ch
}

// targetID is the target id the bridge recorded for SCIM resource id.
func (b *bridge) targetID(typ, id string) string {
	b.t.Helper()
	ids, err := b.d.TargetIDs(typ, id)
	if err != nil {
		b.t.Fatal(err)
	}
	return ids[b.e.settings.Name]
}

// check runs check-targets for the connector and answers its results by
// type.
func (b *bridge) check(repair bool) map[string]connectors.TargetCheckResult {
	b.t.Helper()
	if err := b.d.StartTargetCheck([]string{b.e.settings.Name}, repair); err != nil {
		b.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for b.d.TargetCheck().Running {
		if time.Now().After(deadline) {
			b.t.Fatal("target check did not finish")
		}
		time.Sleep(2 * time.Millisecond)
	}
	out := map[string]connectors.TargetCheckResult{}
	for _, r := range b.d.TargetCheck().Results {
		if r.Error != "" {
			b.t.Fatalf("check %s: %s", r.Type, r.Error)
		}
		out[r.Type] = r
	}
	return out
}

func (b *bridge) deadLetters() []store.DeadLetter {
	b.t.Helper()
	dl, err := b.d.DeadLetters(b.e.settings.Name)
	if err != nil {
		b.t.Fatal(err)
	}
	return dl
}

// setHook installs fn as the request hook (nil removes it).
func (b *bridge) setHook(fn func(*http.Request) int) {
	if fn == nil {
		b.hook.Store(nil)
		return
	}
	b.hook.Store(&fn)
}

// outage is the connector during an SCC outage: every change fails
// transiently and nothing reaches SCC.
type outage struct{ *Connector }

func (o outage) Apply(_ context.Context, batch []connectors.Change) []connectors.Result {
	out := make([]connectors.Result, len(batch))
	for i := range out {
		out[i].Err = connectors.NewTransient("SCC is down", nil)
	}
	return out
}
