package scim

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/store"
)

// testGroup drives a group commit from a test: its waits end when a
// write completes the group or when the test sends on timeout, never by
// the clock.
type testGroup struct {
	*groupCommit
	t       *testing.T
	timeout chan time.Time
}

func newTestGroup(t *testing.T) *testGroup {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "gc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetNoSync(true)
	g := &testGroup{groupCommit: newGroupCommit(db), t: t, timeout: make(chan time.Time)}
	g.after = func(time.Duration) <-chan time.Time { return g.timeout }
	t.Cleanup(func() { close(g.timeout) }) // lets the last wait end (runs before db.Close)
	return g
}

// write sends a write of key; the channel closes once it is committed.
func (g *testGroup) write(key string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := g.Batch(func(tx *store.Tx) error {
			return tx.PutMapping("test", "User", key, store.Mapping{TargetID: key})
		}); err != nil {
			g.t.Error(err)
		}
	}()
	return done
}

// writeHeld sends a write whose commit lasts until release is closed.
func (g *testGroup) writeHeld(release <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Batch(func(tx *store.Tx) error { <-release; return nil })
	}()
	return done
}

// await waits until cond holds under the group's lock.
func (g *testGroup) await(cond func() bool) {
	g.t.Helper()
	waitFor(g.t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return cond() })
}

// seeOutstanding makes the group see n writes outstanding at once: the
// first commit is held until the other n-1 are queued. It returns the
// queued writes.
func (g *testGroup) seeOutstanding(n int, key func(i int) string) []<-chan struct{} {
	g.t.Helper()
	release := make(chan struct{})
	first := g.writeHeld(release)
	g.await(func() bool { return g.running == 1 })
	var queued []<-chan struct{}
	for i := 1; i < n; i++ {
		queued = append(queued, g.write(key(i)))
		g.await(func() bool { return len(g.queue) == i })
	}
	close(release)
	<-first
	return queued
}

// Writers in a closed loop (each sends its next write when the last is
// acknowledged, as an IdP's workers do) would split into two cohorts that
// take turns; the group waits for the writers it saw and they share each
// commit. The test plays the writers one write at a time, so the order of
// arrivals is exact and no wait runs out.
func TestGroupCommitMergesCohorts(t *testing.T) {
	for _, writers := range []int{2, 4, 7} {
		t.Run(fmt.Sprint(writers), func(t *testing.T) {
			g := newTestGroup(t)
			pending := g.seeOutstanding(writers, func(w int) string { return fmt.Sprintf("%d/0", w) })
			pending = append(pending, g.write("0/0"))
			for _, p := range pending {
				<-p
			}
			// Now the writers come back one by one, as their answers
			// reach them: no commit starts before the last is in.
			for round := 1; round <= 5; round++ {
				commits := g.commits.Load()
				pending = pending[:0]
				for w := range writers {
					pending = append(pending, g.write(fmt.Sprintf("%d/%d", w, round)))
					if w < writers-1 {
						g.await(func() bool { return len(g.queue) == w+1 })
						if n := g.commits.Load() - commits; n != 0 {
							t.Fatalf("round %d: %d commits with %d of %d writers in", round, n, w+1, writers)
						}
					}
				}
				for _, p := range pending {
					<-p
				}
				if n := g.commits.Load() - commits; n != 1 {
					t.Errorf("round %d: %d writers took %d commits, want 1", round, writers, n)
				}
			}
			if err := g.db.View(func(tx *store.Tx) error {
				for w := range writers {
					for round := 0; round <= 5; round++ {
						key := fmt.Sprintf("%d/%d", w, round)
						if _, err := tx.GetMapping("test", "User", key); err != nil {
							return fmt.Errorf("%s: %w", key, err)
						}
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A writer that leaves costs the group one wait: the wait runs out and
// the group expects only the writers that came.
func TestGroupCommitWaitRunsOutWhenAWriterLeaves(t *testing.T) {
	g := newTestGroup(t)
	// Three writes outstanding at once.
	queued := g.seeOutstanding(3, func(i int) string { return "ab"[i-1 : i] })
	// a and b wait for the third writer, which comes: one commit of three.
	g.await(func() bool { return g.running == 0 && len(g.queue) == 2 })
	commits := g.commits.Load()
	c := g.write("c")
	<-queued[0]
	<-queued[1]
	<-c
	if n := g.commits.Load() - commits; n != 1 {
		t.Errorf("a, b and c took %d commits, want 1", n)
	}
	// Only one of the three comes back. Its wait runs out (the test says
	// when), and it commits alone.
	release := make(chan struct{})
	d := g.writeHeld(release)
	g.await(func() bool { return len(g.queue) == 1 && g.running == 0 })
	select {
	case <-d:
		t.Fatal("d committed before the group's wait ran out")
	default:
	}
	g.timeout <- time.Time{}
	g.await(func() bool { return g.running == 1 })
	if n := g.waitsRunOut.Load(); n != 1 {
		t.Errorf("waits run out: %d, want 1", n)
	}
	g.mu.Lock()
	expect := g.expect
	g.mu.Unlock()
	if expect != 1 {
		t.Errorf("the group expects %d writers after one came, want 1", expect)
	}
	close(release)
	<-d
}

// waitFor polls cond until it holds (the state it waits for is reached by
// other goroutines in a moment).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 10000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("condition not reached")
}
