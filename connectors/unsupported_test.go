package connectors_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// scriptedConn answers every change with answer(change) and remembers
// what it was asked.
type scriptedConn struct {
	answer func(c connectors.Change) connectors.Result
	mu     sync.Mutex
	calls  int
	seen   []connectors.Change
}

func (s *scriptedConn) Name() string              { return "scripted" }
func (s *scriptedConn) Limits() connectors.Limits { return connectors.Limits{BatchSize: 8} }
func (s *scriptedConn) Apply(_ context.Context, b []connectors.Change) []connectors.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	out := make([]connectors.Result, len(b))
	for i, c := range b {
		s.seen = append(s.seen, c)
		out[i] = s.answer(c)
	}
	return out
}

func scriptedEnv(t *testing.T, c connectors.Connector, opts ...connectors.Option) (*env, *prometheus.Registry) {
	t.Helper()
	return scriptedEnvWith(t, c, connectors.Settings{Name: "scripted", Concurrency: 1}, opts...)
}

// scriptedEnvWith is scriptedEnv with the connector's settings given.
func scriptedEnvWith(t *testing.T, c connectors.Connector, set connectors.Settings, opts ...connectors.Option) (*env, *prometheus.Registry) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg := prometheus.NewRegistry()
	d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: c, Settings: set}}, zerolog.Nop(), reg, append(slices.Clone(fast), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, d: d, set: set, reg: reg}, reg
}

// A target that cannot reactivate (SecureAuth) reports it once; the next
// change is diffed against what was recorded, so it is not reported again.
func TestUnsupportedChangeIsRecordedAndNotReportedAgain(t *testing.T) {
	c := &scriptedConn{answer: func(c connectors.Change) connectors.Result {
		if c.Prev != nil && c.Prev["active"] != c.Fields["active"] && c.Fields["active"] == true {
			return connectors.Result{Err: connectors.NewUnsupported("cannot reactivate")}
		}
		return connectors.Result{TargetID: "t-" + c.ID}
	}}
	e, reg := scriptedEnv(t, c)
	e.start()
	for _, step := range []map[string]any{
		user("u1", "u1@example.com", true, "A"),
		user("u1", "u1@example.com", false, "A"),
		user("u1", "u1@example.com", true, "A"), // unsupported
		user("u1", "u1@example.com", true, "B"), // an ordinary rename
	} {
		e.write(store.Change{Type: store.TypeUser, ID: "u1", After: step})
		e.drain()
	}
	if n := metricSum(t, reg, "scimbridge_deliveries_total", "unsupported"); n != 1 {
		t.Errorf("unsupported outcomes = %v, want exactly 1", n)
	}
	last := c.seen[len(c.seen)-1]
	if last.Prev["active"] != true || last.Fields["name"].(map[string]any)["givenName"] != "B" {
		t.Errorf("last change diffed against %v, want the recorded (unsupported) state", last.Prev)
	}
	if len(e.deadLetters()) != 0 {
		t.Errorf("unexpected dead letters")
	}
}

// A permission error on a whole batch names no bad item: splitting it
// would only spend a rate-limited target's budget. A 400 is split.
func TestBatchSplitOnlyForItemErrors(t *testing.T) {
	for _, tt := range []struct {
		status    int
		wantCalls int
	}{
		{403, 1},
		{409, 1},
		{400, 15}, // 8 → 4+4 → 2+2+2+2 → 8 singles: 1+2+4+8
	} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			c := &scriptedConn{answer: func(connectors.Change) connectors.Result {
				return connectors.Result{Err: connectors.Errorf(connectors.Permanent, tt.status, "rejected")}
			}}
			e, _ := scriptedEnv(t, c)
			for i := range 8 {
				e.write(createUser(fmt.Sprintf("u%d", i)))
			}
			e.start()
			e.drain()
			if c.calls != tt.wantCalls {
				t.Errorf("Apply calls = %d, want %d", c.calls, tt.wantCalls)
			}
			if n := len(e.deadLetters()); n != 8 {
				t.Errorf("dead letters = %d, want 8", n)
			}
		})
	}
}

// Retrying a dead-lettered member change sends each member as the group
// holds it now: an add that failed, for a member removed since, becomes a
// removal (re-sending the old add would leave the target wrong).
func TestDeadLetterRetrySendsCurrentMembership(t *testing.T) {
	c := &scriptedConn{answer: func(connectors.Change) connectors.Result { return connectors.Result{} }}
	e, _ := scriptedEnv(t, c)
	err := e.db.Update(func(tx *store.Tx) error {
		if err := tx.PutShadow("scripted", store.TypeGroup, "g1", store.Shadow{InScope: true, Fields: map[string]any{"displayName": "Eng"}}); err != nil {
			return err
		}
		if _, err := tx.AddMember("g1", "still", nil); err != nil { // still a member
			return err
		}
		return tx.PutDeadLetter("scripted", &store.DeadLetter{ID: 7, Type: store.TypeGroup, SCIMID: "g1", Op: "upsert",
			Entries: []store.Entry{{Type: store.TypeGroup, ID: "g1", Op: "upsert", MembersAdded: []string{"still", "gone"}, MembersRemoved: []string{"back"}}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = e.db.Update(func(tx *store.Tx) error { _, err := tx.AddMember("g1", "back", nil); return err }) // re-added since
	if err := e.d.RetryDeadLetter("scripted", 7); err != nil {
		t.Fatal(err)
	}
	var got []store.Entry
	_ = e.db.View(func(tx *store.Tx) error {
		return tx.Entries("scripted", 0, 0, func(en *store.Entry) bool { got = append(got, *en); return true })
	})
	if len(got) != 1 {
		t.Fatalf("queued %d entries, want 1", len(got))
	}
	added, removed := fmt.Sprint(got[0].MembersAdded), fmt.Sprint(got[0].MembersRemoved)
	if added != "[still back]" || removed != "[gone]" {
		t.Errorf("retry queued added %s removed %s; want added [still back] removed [gone]", added, removed)
	}
}

// When a target re-creates a resource under a new id (SCC re-invites a
// user whose email changed; a group deleted behind the bridge's back is
// created again), its memberships there are gone with the old id. The
// dispatcher replays them: the user rejoins its groups, the group gets all
// its members, each under the member's current target id.
func TestRecreatedResourceGetsItsMembershipsBack(t *testing.T) {
	var mu sync.Mutex
	generation := map[string]int{} // SCIM id -> how often the target (re)created it
	c := &scriptedConn{answer: func(c connectors.Change) connectors.Result {
		mu.Lock()
		defer mu.Unlock()
		if c.Op == connectors.OpDelete {
			return connectors.Result{}
		}
		recreate := c.TargetID == "" ||
			(c.Type == connectors.User && c.Prev != nil && c.Prev["userName"] != c.Fields["userName"]) ||
			(c.Type == connectors.Group && c.Prev != nil && c.Prev["displayName"] != c.Fields["displayName"])
		if recreate {
			generation[c.ID]++
		}
		return connectors.Result{TargetID: fmt.Sprintf("t-%s-%d", c.ID, generation[c.ID])}
	}}
	e, _ := scriptedEnv(t, c)
	e.start()
	members := func(gid string, uids ...string) {
		err := e.db.Update(func(tx *store.Tx) error {
			for _, u := range uids {
				if _, err := tx.AddMember(gid, u, nil); err != nil {
					return err
				}
			}
			return e.d.Enqueue(tx, store.Change{Type: store.TypeGroup, ID: gid, After: group(gid, "G "+gid), MembersAdded: uids})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	e.write(createUser("u1"), createUser("u2"))
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "G g1")}, store.Change{Type: store.TypeGroup, ID: "g2", After: group("g2", "G g2")})
	members("g1", "u1", "u2")
	members("g2", "u1")
	e.drain()
	// Memberships as the target last heard them: group -> member -> target id.
	memberAdds := func(from int) map[string]map[string]string {
		c.mu.Lock()
		defer c.mu.Unlock()
		out := map[string]map[string]string{}
		for _, ch := range c.seen[from:] {
			for _, m := range ch.MembersAdded {
				if out[ch.ID] == nil {
					out[ch.ID] = map[string]string{}
				}
				out[ch.ID][m.ID] = m.TargetID
			}
		}
		return out
	}
	seen := func() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.seen) }

	// u1's userName changes: the target re-creates it as t-u1-2.
	from := seen()
	e.write(store.Change{Type: store.TypeUser, ID: "u1", After: user("u1", "new@example.com", true, "G")})
	e.drain()
	if got, want := fmt.Sprint(memberAdds(from)), "map[g1:map[u1:t-u1-2] g2:map[u1:t-u1-2]]"; got != want {
		t.Errorf("after u1 was re-created, member adds = %s, want %s", got, want)
	}
	// g1 is renamed and re-created: it gets both its members.
	from = seen()
	e.write(store.Change{Type: store.TypeGroup, ID: "g1", After: group("g1", "renamed")})
	e.drain()
	if got, want := fmt.Sprint(memberAdds(from)), "map[g1:map[u1:t-u1-2 u2:t-u2-1]]"; got != want {
		t.Errorf("after g1 was re-created, member adds = %s, want %s", got, want)
	}
	// An ordinary update (same target id) replays nothing.
	from = seen()
	e.write(store.Change{Type: store.TypeUser, ID: "u2", After: user("u2", "u2@example.com", false, "G")})
	e.drain()
	if got := memberAdds(from); len(got) != 0 {
		t.Errorf("an update in place replayed memberships: %v", got)
	}
	if len(e.deadLetters()) != 0 {
		t.Errorf("unexpected dead letters: %+v", e.deadLetters())
	}
}

// Entries waiting for a retry at the head of the queue, more than one scan
// window of them, do not hold back newer changes of other resources: the
// window widens until it finds them. (It used to deliver nothing newer
// until the head entries were due, up to the maximum backoff.)
func TestWaitingHeadDoesNotBlockNewerResources(t *testing.T) {
	c := &scriptedConn{answer: func(c connectors.Change) connectors.Result {
		if strings.HasPrefix(c.ID, "stuck") {
			return connectors.Result{Err: connectors.NewTransient("target busy for this one", nil)}
		}
		return connectors.Result{TargetID: "t-" + c.ID}
	}}
	// A window of 32 entries (4 batches of 8 for one worker); the stuck
	// entries back off for an hour after their first failure.
	e, _ := scriptedEnv(t, c, connectors.WithScanLimit(1), connectors.WithBackoff(time.Hour, time.Hour))
	for i := range 100 {
		e.write(createUser(fmt.Sprintf("stuck%03d", i)))
	}
	e.start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.seen)
		c.mu.Unlock()
		if n >= 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of the 100 stuck users were tried", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.write(createUser("fresh1"), createUser("fresh2"))
	deadline = time.Now().Add(20 * time.Second)
	for {
		delivered := 0
		_ = e.db.View(func(tx *store.Tx) error {
			for _, id := range []string{"fresh1", "fresh2"} {
				if m, _ := store.Optional(tx.GetMapping("scripted", store.TypeUser, id)); m != nil {
					delivered++
				}
			}
			return nil
		})
		if delivered == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("newer users not delivered behind 100 waiting entries (delivered %d of 2)", delivered)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
