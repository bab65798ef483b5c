package scim

import (
	"fmt"
	"path/filepath"
	"sync"
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
// commit.
func TestGroupCommitMergesCohorts(t *testing.T) {
	for _, writers := range []int{2, 4, 7} {
		t.Run(fmt.Sprint(writers), func(t *testing.T) {
			g := newTestGroupCommit(t)
			// Waits long enough that, in the loop, only a full group
			// ends them (a wait runs out at the start, at the end, and
			// if a writer is not scheduled for that long).
			g.after = func(time.Duration) <-chan time.Time { return time.After(100 * time.Millisecond) }
			const each = 60
			write := func(key string) {
				if err := g.Batch(func(tx *store.Tx) error {
					return tx.PutMapping("test", "User", key, store.Mapping{TargetID: key})
				}); err != nil {
					t.Error(err)
				}
			}
			// Every writer makes its first write before any makes its
			// second, so the loop starts with all writers in it.
			var started, wg sync.WaitGroup
			var once sync.Once
			var commitsAtStart int64
			started.Add(writers)
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					write(fmt.Sprintf("%d/start", w))
					started.Done()
					started.Wait()
					once.Do(func() { commitsAtStart = g.commits.Load() })
					for i := range each {
						write(fmt.Sprintf("%d/%d", w, i))
					}
				}()
			}
			wg.Wait()
			commits, writes := g.commits.Load()-commitsAtStart, g.writes.Load()
			if writes != int64(writers*(each+1)) {
				t.Fatalf("writes %d, want %d", writes, writers*(each+1))
			}
			// A few commits go by before the group has seen every writer
			// outstanding at once.
			if limit := int64(each + 2*writers); commits > limit {
				t.Errorf("%d writers: %d commits for %d writes in the loop (%.2f per commit), want at most %d",
					writers, commits, writers*each, float64(writers*each)/float64(commits), limit)
			}
			if err := g.db.View(func(tx *store.Tx) error {
				for w := range writers {
					for i := range each {
						key := fmt.Sprintf("%d/%d", w, i)
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
