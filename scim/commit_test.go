package scim

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/store"
)

func newTestGroupCommit(t *testing.T) *groupCommit {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "gc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetNoSync(true)
	return newGroupCommit(db)
}

// Writers in a closed loop (each sends its next write when the last is
// acknowledged, as an IdP's workers do) would split into two cohorts that
// take turns; the group waits for the writers it saw and they share each
// commit. The test plays the writers one write at a time, so the order of
// arrivals is exact and no wait runs out.
func TestGroupCommitMergesCohorts(t *testing.T) {
	for _, writers := range []int{2, 4, 7} {
		t.Run(fmt.Sprint(writers), func(t *testing.T) {
			g := newTestGroupCommit(t)
			never := make(chan time.Time)
			g.after = func(time.Duration) <-chan time.Time { return never }
			defer close(never) // lets the last wait end
			locked := func(f func() bool) func() bool {
				return func() bool { g.mu.Lock(); defer g.mu.Unlock(); return f() }
			}
			write := func(key string) <-chan struct{} {
				done := make(chan struct{})
				go func() {
					defer close(done)
					if err := g.Batch(func(tx *store.Tx) error {
						return tx.PutMapping("test", "User", key, store.Mapping{TargetID: key})
					}); err != nil {
						t.Error(err)
					}
				}()
				return done
			}
			// The group sees every writer outstanding at once: the first
			// commit is held until the others are queued.
			hold := make(chan struct{})
			first := make(chan struct{})
			go func() {
				defer close(first)
				g.Batch(func(tx *store.Tx) error { <-hold; return nil })
			}()
			waitFor(t, locked(func() bool { return g.running == 1 }))
			pending := make([]<-chan struct{}, 0, writers)
			for w := 1; w < writers; w++ {
				pending = append(pending, write(fmt.Sprintf("%d/0", w)))
				waitFor(t, locked(func() bool { return len(g.queue) == w }))
			}
			close(hold)
			<-first
			pending = append(pending, write("0/0"))
			for _, p := range pending {
				<-p
			}
			// Now the writers come back one by one, as their answers
			// reach them: no commit starts before the last is in.
			for round := 1; round <= 5; round++ {
				commits := g.commits.Load()
				pending = pending[:0]
				for w := range writers {
					pending = append(pending, write(fmt.Sprintf("%d/%d", w, round)))
					if w < writers-1 {
						waitFor(t, locked(func() bool { return len(g.queue) == w+1 }))
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
	g := newTestGroupCommit(t)
	runOut := make(chan time.Time)
	g.after = func(time.Duration) <-chan time.Time { return runOut }
	defer close(runOut) // lets the last wait end
	locked := func(f func() bool) func() bool {
		return func() bool { g.mu.Lock(); defer g.mu.Unlock(); return f() }
	}
	write := func(key string) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := g.Batch(func(tx *store.Tx) error {
				return tx.PutMapping("test", "User", key, store.Mapping{TargetID: key})
			}); err != nil {
				t.Error(err)
			}
		}()
		return done
	}
	// Three writes outstanding at once: the first commit is held until
	// the other two are queued, so the group has seen three writers.
	hold := make(chan struct{})
	first := make(chan struct{})
	go func() {
		defer close(first)
		g.Batch(func(tx *store.Tx) error { <-hold; return nil })
	}()
	waitFor(t, locked(func() bool { return g.running == 1 }))
	a, b := write("a"), write("b")
	waitFor(t, locked(func() bool { return len(g.queue) == 2 }))
	close(hold)
	<-first
	// a and b wait for the third writer, which comes: one commit of three.
	waitFor(t, locked(func() bool { return g.running == 0 && len(g.queue) == 2 }))
	commits := g.commits.Load()
	c := write("c")
	<-a
	<-b
	<-c
	if n := g.commits.Load() - commits; n != 1 {
		t.Errorf("a, b and c took %d commits, want 1", n)
	}
	// Only one of the three comes back. Its wait runs out (the test says
	// when), and it commits alone.
	holdD := make(chan struct{})
	d := make(chan struct{})
	go func() {
		defer close(d)
		g.Batch(func(tx *store.Tx) error { <-holdD; return nil })
	}()
	waitFor(t, locked(func() bool { return len(g.queue) == 1 && g.running == 0 }))
	select {
	case <-d:
		t.Fatal("d committed before the group's wait ran out")
	default:
	}
	runOut <- time.Time{}
	waitFor(t, locked(func() bool { return g.running == 1 }))
	if n := g.waitsRunOut.Load(); n != 1 {
		t.Errorf("waits run out: %d, want 1", n)
	}
	if expect := g.expectation(); expect != 1 {
		t.Errorf("the group expects %d writers after one came, want 1", expect)
	}
	close(holdD)
	<-d
}

func (g *groupCommit) expectation() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.expect
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
