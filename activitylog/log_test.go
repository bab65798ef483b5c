package activitylog

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/store"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newLog(t testing.TB, opts Options) (*Log, *store.DB, *clock) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "act.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = db.View(func(tx *store.Tx) error {
			if p, _ := tx.Verify(20); len(p) > 0 {
				t.Errorf("store.Verify: %q", p)
			}
			return nil
		})
		db.Close()
	})
	db.SetNoSync(true)
	l := New(db, opts)
	c := &clock{now: t0}
	l.SetClock(c.Now)
	return l, db, c
}

// write records a user's SCIM write at the clock's time.
func write(t testing.TB, l *Log, db *store.DB, id, method string, before, after map[string]any) {
	t.Helper()
	err := db.Update(func(tx *store.Tx) error {
		// The resource itself, as scim stores it: its current names are
		// found through the store's indexes.
		var err error
		switch {
		case before == nil:
			_, err = tx.CreateResource(store.TypeUser, id, docJSON(id, after))
		case after == nil:
			err = tx.DeleteResource(store.TypeUser, id)
		default:
			err = tx.UpdateResource(store.TypeUser, id, docJSON(id, after))
		}
		if err != nil {
			return err
		}
		return l.SCIMWrite(tx, Write{Method: method, Status: 200, Type: store.TypeUser, ID: id, Before: before, After: after})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func docJSON(id string, doc map[string]any) []byte {
	d := maps.Clone(doc)
	d["id"] = id
	b, _ := json.Marshal(d)
	return b
}

func user(name, email string) map[string]any {
	return map[string]any{"userName": name, "emails": []any{map[string]any{"value": email}}, "active": true}
}

func ids(p activity.Page) []string {
	var out []string
	for _, e := range p.Events {
		out = append(out, e.ID+":"+e.Method)
	}
	return out
}

func TestPrune(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name      string
		retention time.Duration
		max       int
		events    int           // one per user, a day apart
		after     time.Duration // from the last event to the prune
		want      int           // events left
	}{
		{"nothing due", 30 * day, 100, 10, 0, 10},
		{"by age", 5 * day, 100, 10, 0, 5},
		{"by count", 30 * day, 3, 10, 0, 3},
		{"age and count", 5 * day, 2, 10, 0, 2},
		{"all too old", day, 100, 10, 30 * day, 0},
		{"more than a chunk", 1000 * day, 7, pruneChunk*2 + 11, 0, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, db, c := newLog(t, Options{Retention: tc.retention, MaxEvents: tc.max})
			for i := range tc.events {
				c.now = t0.Add(time.Duration(i) * day)
				write(t, l, db, fmt.Sprint("u", i), "POST", nil, user(fmt.Sprint("user", i), fmt.Sprint("u", i, "@example.com")))
			}
			c.now = c.now.Add(tc.after).Add(time.Second)
			pruned, _, err := l.Prune(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var left int
			_ = db.View(func(tx *store.Tx) error { left, _ = tx.ActivityStats(); return nil })
			if left != tc.want || pruned != tc.events-tc.want {
				t.Fatalf("left %d (pruned %d), want %d", left, pruned, tc.want)
			}
			// The newest stay; the pruned users' names go with their events.
			for i := range tc.events {
				p, err := l.Timeline(context.Background(), fmt.Sprint("user", i), "", 10)
				if err != nil {
					t.Fatal(err)
				}
				if kept := i >= tc.events-tc.want; kept != (len(p.Events) == 1) {
					t.Errorf("user%d: kept %v, timeline %v", i, kept, ids(p))
				}
			}
		})
	}
}

func TestEraseDeletedUsersValues(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name   string
		after  time.Duration // from the delete to the prune
		erased bool
	}{
		{"within the retention", 6 * day, false},
		{"after the retention", 7*day + time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, db, c := newLog(t, Options{})
			jane, bob := user("jane@example.com", "jane.w@example.com"), user("bob@example.com", "bob.w@example.com")
			write(t, l, db, "u1", "POST", nil, jane)
			write(t, l, db, "u2", "POST", nil, bob)
			renamed := user("jane.doe@example.com", "jane.w@example.com")
			write(t, l, db, "u1", "PUT", jane, renamed)
			_ = db.Update(func(tx *store.Tx) error {
				return l.Append(tx, activity.Event{Kind: activity.KindRetry, Connector: "scc", Type: store.TypeUser, ID: "u1", Detail: "409 jane.doe@example.com exists"})
			})
			write(t, l, db, "u1", "DELETE", renamed, nil)
			c.now = c.now.Add(tc.after)
			_, erased, err := l.Prune(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if (erased == 1) != tc.erased {
				t.Fatalf("erased %d", erased)
			}
			p, _ := l.Timeline(context.Background(), "u1", "", 50)
			if len(p.Events) != 4 {
				t.Fatalf("the deleted user's events: %v, want all 4 kept", ids(p))
			}
			for _, ev := range p.Events {
				for k, v := range ev.Changes {
					if tc.erased && v != Erased {
						t.Errorf("%s %s=%v not erased", ev.Method, k, v)
					}
					if !tc.erased && v == Erased {
						t.Errorf("%s %s erased too early", ev.Method, k)
					}
				}
				if tc.erased && (ev.Name != "" || ev.Kind == activity.KindRetry && ev.Detail != Erased) {
					t.Errorf("left after erasure: %+v", ev)
				}
			}
			for _, name := range []string{"jane@example.com", "jane.doe@example.com", "jane.w@example.com"} {
				p, _ := l.Timeline(context.Background(), name, "", 50)
				if found := len(p.Events) > 0; found == tc.erased {
					t.Errorf("found by %s: %v (erased %v)", name, found, tc.erased)
				}
			}
			if p, _ := l.Timeline(context.Background(), "bob@example.com", "", 50); len(p.Events) != 1 || p.Events[0].Changes["userName"] != "bob@example.com" {
				t.Errorf("another user's events changed: %+v", p.Events)
			}
		})
	}
}

func TestChanges(t *testing.T) {
	l := New(nil, Options{Redact: []string{"nickName", "employeeNumber"}})
	ent := "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	for _, tc := range []struct {
		name          string
		before, after map[string]any
		want          map[string]any
	}{
		{"create lists everything but derived attributes",
			nil, map[string]any{"userName": "a", "id": "x", "meta": map[string]any{}, "schemas": []any{}, "password": "p", "name": map[string]any{"givenName": "A"}},
			map[string]any{"userName": "a", "name": map[string]any{"givenName": "A"}}},
		{"one attribute", map[string]any{"active": true, "userName": "a"}, map[string]any{"active": false, "userName": "a"}, map[string]any{"active": false}},
		{"a sub-attribute", map[string]any{"name": map[string]any{"givenName": "A", "familyName": "B"}}, map[string]any{"name": map[string]any{"givenName": "C", "familyName": "B"}},
			map[string]any{"name.givenName": "C"}},
		{"removed", map[string]any{"title": "x", "name": map[string]any{"givenName": "A"}}, map[string]any{"name": map[string]any{}}, map[string]any{"title": nil, "name.givenName": nil}},
		{"numbers compare as JSON", map[string]any{"n": float64(3)}, map[string]any{"n": 3}, nil},
		{"redacted top-level", map[string]any{}, map[string]any{"nickName": "secret"}, map[string]any{"nickName": Redacted}},
		{"redacted in an extension, whole", nil, map[string]any{ent: map[string]any{"employeeNumber": "7", "department": "D"}},
			map[string]any{ent: map[string]any{"employeeNumber": Redacted, "department": "D"}}},
		{"redacted in an extension, changed", map[string]any{ent: map[string]any{"employeeNumber": "7"}}, map[string]any{ent: map[string]any{"employeeNumber": "8"}},
			map[string]any{ent + ".employeeNumber": Redacted}},
		{"redacted value removed says so", map[string]any{"nickName": "n"}, map[string]any{}, map[string]any{"nickName": nil}},
		{"unchanged", map[string]any{"userName": "a"}, map[string]any{"userName": "a"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := l.changes(tc.before, tc.after); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Timelines page newest first with a cursor, merge every resource a name
// has named, and the recent feed filters.
func TestTimelineAndRecentPaging(t *testing.T) {
	l, db, c := newLog(t, Options{})
	a := user("pat@example.com", "pat@example.com")
	write(t, l, db, "u1", "POST", nil, a)
	for i := range 9 {
		c.now = c.now.Add(time.Minute)
		_ = db.Update(func(tx *store.Tx) error {
			return l.Append(tx, activity.Event{Kind: activity.KindDelivered, Connector: []string{"webex", "scc"}[i%2], Type: store.TypeUser, ID: "u1"})
		})
	}
	write(t, l, db, "u1", "DELETE", a, nil)
	c.now = c.now.Add(time.Hour)
	write(t, l, db, "u2", "POST", nil, a) // a new user with the old name
	_ = db.Update(func(tx *store.Tx) error {
		return l.Append(tx, activity.Event{Kind: activity.KindRetry, Outcome: activity.OutcomeFailed, Connector: "scc", Type: store.TypeUser, ID: "u2"})
	})
	var all []activity.Event
	cursor := ""
	for range 10 {
		p, err := l.Timeline(context.Background(), "PAT@example.com", cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Events...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(all) != 13 || all[0].ID != "u2" || all[len(all)-1].Method != "POST" || all[len(all)-1].ID != "u1" {
		t.Fatalf("timeline: %d events %v", len(all), all)
	}
	if !slices.IsSortedFunc(all, func(x, y activity.Event) int { return y.Time.Compare(x.Time) }) {
		t.Error("timeline not newest first")
	}
	if p, _ := l.Timeline(context.Background(), "u1", "", 50); len(p.Events) != 11 {
		t.Errorf("by id: %d events", len(p.Events))
	}
	if _, err := l.Timeline(context.Background(), "u1", "nope", 5); err != activity.ErrBadCursor {
		t.Errorf("bad cursor: %v", err)
	}
	for _, tc := range []struct {
		f    activity.Filter
		want int
	}{
		{activity.Filter{Limit: 100}, 13},
		{activity.Filter{Connector: "scc", Limit: 100}, 5},
		{activity.Filter{Failed: true, Limit: 100}, 1},
		{activity.Filter{Kind: activity.KindSCIM, Limit: 100}, 3},
		{activity.Filter{Since: c.now.Add(-time.Minute), Limit: 100}, 2},
		{activity.Filter{Limit: 5}, 13}, // paged
	} {
		var got []activity.Event
		f := tc.f
		for range 10 {
			p, err := l.Recent(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.Events...)
			if f.Cursor = p.Next; f.Cursor == "" {
				break
			}
		}
		if len(got) != tc.want {
			t.Errorf("%+v: %d events, want %d", tc.f, len(got), tc.want)
		}
	}
}

func TestDisabledLog(t *testing.T) {
	off := false
	var l *Log = New(nil, Options{Enabled: &off})
	if l != nil {
		t.Fatal("enabled: false still makes a log")
	}
	if _, err := l.Timeline(context.Background(), "x", "", 1); err != activity.ErrUnavailable {
		t.Errorf("timeline: %v", err)
	}
	if err := l.Append(nil, activity.Event{}); err != nil {
		t.Error(err)
	}
}
