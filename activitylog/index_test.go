package activitylog

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/store"
)

// snapshot is every way a reader finds the scenario's events, paged 3 at
// a time, each event named by its time (the clock moves a second per
// event); an event seen twice on one walk fails the test.
func snapshot(t *testing.T, l *Log) string {
	t.Helper()
	var b strings.Builder
	walk := func(label string, page func(cursor string) (activity.Page, error)) {
		seen := map[time.Time]bool{}
		fmt.Fprintf(&b, "%s:", label)
		cursor := ""
		for range 50 {
			p, err := page(cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Events {
				if seen[e.Time] {
					t.Errorf("%s: event at %s twice", label, e.Time)
				}
				seen[e.Time] = true
				fmt.Fprintf(&b, " %s/%s@%d", e.Kind, e.ID, e.Time.Sub(t0)/time.Second)
			}
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		b.WriteString("\n")
	}
	for _, q := range []string{"u1", "u2", "pat@example.com", "pat2@example.com", "pat.w@example.com", "nobody@example.com"} {
		walk(q, func(c string) (activity.Page, error) { return l.Timeline(context.Background(), q, c, 3) })
	}
	walk("recent", func(c string) (activity.Page, error) {
		return l.Recent(context.Background(), activity.Filter{Cursor: c, Limit: 3})
	})
	return b.String()
}

func unindexedEvents(db *store.DB) (n int) {
	_ = db.View(func(tx *store.Tx) error { n = tx.UnindexedActivity(); return nil })
	return n
}

// The crash window: events committed with their writes but not yet filed
// by the indexer (the process killed before it ran) are found by id, by
// current and past name and in the recent feed, each once; after a
// restart the indexer files them and every reader answers the same, each
// event still once, and running it again files nothing.
func TestUnindexedEventsAcrossACrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "act.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: t0}
	l := New(db, Options{})
	l.SetClock(func() time.Time { c.now = c.now.Add(time.Second); return c.now })
	pat, renamed := user("pat@example.com", "pat.w@example.com"), user("pat2@example.com", "pat.w@example.com")
	write(t, l, db, "u1", "POST", nil, pat)
	for _, conn := range []string{"webex", "scc", "webex"} {
		_ = db.Update(func(tx *store.Tx) error {
			return l.Append(tx, activity.Event{Kind: activity.KindDelivered, Connector: conn, Type: store.TypeUser, ID: "u1"})
		})
	}
	write(t, l, db, "u1", "PUT", pat, renamed) // leaves pat@example.com behind
	write(t, l, db, "u1", "DELETE", renamed, nil)
	write(t, l, db, "u2", "POST", nil, pat) // a new user with the old name
	want := snapshot(t, l)
	for _, line := range []string{
		"u1: scim/u1@6 scim/u1@5 delivered/u1@4 delivered/u1@3 delivered/u1@2 scim/u1@1\n",
		"u2: scim/u2@7\n",
		"pat@example.com: scim/u2@7 scim/u1@6 scim/u1@5 delivered/u1@4 delivered/u1@3 delivered/u1@2 scim/u1@1\n",
		"pat2@example.com: scim/u1@6 scim/u1@5 delivered/u1@4 delivered/u1@3 delivered/u1@2 scim/u1@1\n",
		"pat.w@example.com: scim/u2@7 scim/u1@6 scim/u1@5 delivered/u1@4 delivered/u1@3 delivered/u1@2 scim/u1@1\n",
		"recent: scim/u2@7 scim/u1@6 scim/u1@5 delivered/u1@4 delivered/u1@3 delivered/u1@2 scim/u1@1\n",
		"nobody@example.com:\n",
	} {
		if !strings.Contains(want, line) {
			t.Fatalf("before indexing, %q missing from\n%s", line, want)
		}
	}
	if n := unindexedEvents(db); n == 0 {
		t.Fatal("the events were indexed in their writes' transactions")
	}
	// The crash: the process dies before the indexer runs.
	db.Close()
	if db, err = store.Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l = New(db, Options{})
	l.SetClock(c.Now) // its pruning must not find the events old
	if got := snapshot(t, l); got != want {
		t.Fatalf("after the restart:\n%s\nwant\n%s", got, want)
	}
	// The restarted server's Run files the tail.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); unindexedEvents(db) > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := unindexedEvents(db); n != 0 {
		t.Fatalf("%d events left unindexed by Run", n)
	}
	if got := snapshot(t, l); got != want {
		t.Fatalf("after indexing:\n%s\nwant\n%s", got, want)
	}
	if n, err := l.Index(context.Background()); n != 0 || err != nil {
		t.Errorf("indexing again filed %d (%v)", n, err)
	}
	_ = db.View(func(tx *store.Tx) error {
		if p, _ := tx.Verify(20); len(p) > 0 {
			t.Errorf("Verify: %q", p)
		}
		return nil
	})
}

// Appending wakes the indexer once indexKick events wait, and Prune files
// the tail before it prunes (pruning stops at the unindexed tail).
func TestIndexerKickAndPruneFilesFirst(t *testing.T) {
	l, db, c := newLog(t, Options{Retention: time.Hour})
	for i := range indexKick + 3 {
		_ = db.Update(func(tx *store.Tx) error {
			return l.Append(tx, activity.Event{Kind: activity.KindDelivered, Connector: "webex", Type: store.TypeUser, ID: fmt.Sprint("u", i%7)})
		})
	}
	select {
	case <-l.idx.kick:
	default:
		t.Fatal("no kick after indexKick appends")
	}
	c.now = c.now.Add(2 * time.Hour)
	pruned, _, err := l.Prune(context.Background())
	if err != nil || pruned != indexKick+3 || unindexedEvents(db) != 0 {
		t.Fatalf("pruned %d (%v), %d unindexed", pruned, err, unindexedEvents(db))
	}
}
