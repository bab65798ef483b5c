package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

// The start-up walk runs for a new connector or a changed mapping/scope,
// and not again once recorded.
func TestStaleConnectors(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fps := map[string]string{"webex": "webex/aaa", "scc": "scc/bbb"}
	stale := func(fps map[string]string) []string {
		t.Helper()
		got, err := staleConnectors(db, fps)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	if got := stale(fps); !slices.Equal(got, []string{"scc", "webex"}) {
		t.Fatalf("first start: stale %v, want both", got)
	}
	if err := recordReconciled(db, fps); err != nil {
		t.Fatal(err)
	}
	if got := stale(fps); len(got) != 0 {
		t.Errorf("unchanged config: stale %v, want none", got)
	}
	fps["webex"] = "webex/changed"
	fps["secureauth"] = "secureauth/ccc"
	if got := stale(fps); !slices.Equal(got, []string{"secureauth", "webex"}) {
		t.Errorf("changed mapping and a new connector: stale %v", got)
	}
}
