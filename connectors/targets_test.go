package connectors_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// listingConn is a scripted target that keeps what it holds, can list it,
// and can lose objects behind the bridge's back.
type listingConn struct {
	*scriptedConn
	mu   sync.Mutex
	held map[string]map[string]bool // type -> target ids
	gen  map[string]int             // SCIM id -> creations
	// members the target holds: group target id -> member target ids
	members map[string]map[string]bool
}

func newListingConn() *listingConn {
	c := &listingConn{held: map[string]map[string]bool{connectors.User: {}, connectors.Group: {}}, gen: map[string]int{}, members: map[string]map[string]bool{}}
	c.scriptedConn = &scriptedConn{answer: c.apply}
	return c
}

func (c *listingConn) apply(ch connectors.Change) connectors.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	tid := ch.TargetID
	if ch.Op == connectors.OpDelete {
		delete(c.held[ch.Type], tid)
		return connectors.Result{}
	}
	if tid == "" || !c.held[ch.Type][tid] {
		if tid != "" {
			return connectors.Result{Err: connectors.Errorf(connectors.Permanent, 404, "%s %s is gone", ch.Type, tid)}
		}
		c.gen[ch.ID]++
		tid = fmt.Sprintf("t-%s-%d", ch.ID, c.gen[ch.ID])
		c.held[ch.Type][tid] = true
	}
	if ch.Type == connectors.Group {
		if c.members[tid] == nil {
			c.members[tid] = map[string]bool{}
		}
		for _, m := range ch.MembersAdded {
			c.members[tid][m.TargetID] = true
		}
	}
	return connectors.Result{TargetID: tid}
}

func (c *listingConn) List(_ context.Context, typ string, fn func(string) error) error {
	c.mu.Lock()
	ids := make([]string, 0, len(c.held[typ]))
	for id := range c.held[typ] {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

func (c *listingConn) lose(typ, tid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.held[typ], tid)
	delete(c.members, tid)
}

func (c *listingConn) groupMembers(tid string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for m := range c.members[tid] {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

func runCheck(t *testing.T, e *env, repair bool) map[string]connectors.TargetCheckResult {
	t.Helper()
	if err := e.d.StartTargetCheck([]string{"scripted"}, repair); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.d.TargetCheck().Running {
		if time.Now().After(deadline) {
			t.Fatal("target check did not finish")
		}
		time.Sleep(2 * time.Millisecond)
	}
	out := map[string]connectors.TargetCheckResult{}
	for _, r := range e.d.TargetCheck().Results {
		if r.Error != "" {
			t.Fatalf("%s: %s", r.Type, r.Error)
		}
		out[r.Type] = r
	}
	return out
}

// Objects an administrator deleted in the target are found missing, and
// with repair created again: the user rejoins its groups, the group comes
// back with all its members. Objects the bridge never made are counted.
func TestTargetCheckFindsAndRepairsDrift(t *testing.T) {
	c := newListingConn()
	e, _ := scriptedEnv(t, c)
	e.start()
	e.write(createUser("u1"), createUser("u2"))
	err := e.db.Update(func(tx *store.Tx) error {
		for _, u := range []string{"u1", "u2"} {
			if _, err := tx.AddMember("g1", u, nil); err != nil {
				return err
			}
		}
		if _, err := tx.CreateResource(store.TypeGroup, "g1", []byte(`{"id":"g1"}`)); err != nil {
			return err
		}
		return e.d.Enqueue(tx, store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "G"), MembersAdded: []string{"u1", "u2"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.drain()
	c.mu.Lock()
	c.held[connectors.User]["foreign-1"] = true // made by someone else
	c.mu.Unlock()

	r := runCheck(t, e, false)
	if u := r[connectors.User]; len(u.Missing) != 0 || u.Listed != 3 || u.Mapped != 2 || u.Unknown != 1 || !slices.Equal(u.UnknownSample, []string{"foreign-1"}) {
		t.Fatalf("no drift yet: %+v", u)
	}

	c.lose(connectors.User, "t-u1-1")
	c.lose(connectors.Group, "t-g1-1")
	r = runCheck(t, e, false)
	if u, g := r[connectors.User], r[connectors.Group]; !slices.Equal(u.Missing, []string{"u1"}) || u.Requeued != 0 || !slices.Equal(g.Missing, []string{"g1"}) {
		t.Fatalf("after losing u1 and g1: users %+v, groups %+v", u, g)
	}
	e.drain()
	c.mu.Lock()
	created := c.gen["u1"]
	c.mu.Unlock()
	if created != 1 {
		t.Fatal("a check without repair changed the target")
	}

	r = runCheck(t, e, true)
	if r[connectors.User].Requeued != 1 || r[connectors.Group].Requeued != 1 {
		t.Fatalf("repair: %+v", r)
	}
	e.drain()
	if got := c.groupMembers("t-g1-2"); !slices.Equal(got, []string{"t-u1-2", "t-u2-1"}) {
		t.Errorf("re-created group holds %v, want the re-created u1 and u2", got)
	}
	r = runCheck(t, e, false)
	if len(r[connectors.User].Missing)+len(r[connectors.Group].Missing) != 0 {
		t.Errorf("still missing after repair: %+v", r)
	}
	if len(e.deadLetters()) != 0 {
		t.Errorf("dead letters: %+v", e.deadLetters())
	}
}

// One check at a time; a connector that cannot list is refused.
func TestTargetCheckRefusals(t *testing.T) {
	e, _ := scriptedEnv(t, &scriptedConn{answer: func(connectors.Change) connectors.Result { return connectors.Result{} }})
	if err := e.d.StartTargetCheck([]string{"scripted"}, false); err == nil {
		t.Error("a connector without List was checked")
	}
	if err := e.d.StartTargetCheck([]string{"nope"}, false); err == nil {
		t.Error("an unknown connector was checked")
	}
	if err := e.d.StartTargetCheck(nil, false); err != nil { // none can list: nothing to do
		t.Errorf("checking every listable connector: %v", err)
	}
}
