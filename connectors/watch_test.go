package connectors_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/store"
)

// A target that is down makes its queue grow: the log says so once, and
// says so again when it has caught up.
func TestQueueWarning(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	c := &scriptedConn{answer: func(connectors.Change) connectors.Result {
		if down.Load() {
			return connectors.Result{Err: connectors.NewTransient("target down", nil)}
		}
		return connectors.Result{TargetID: "t"}
	}}
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var logs testkit.LogBuffer
	d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: c, Settings: connectors.Settings{Name: "scripted"}}},
		zerolog.New(&logs), nil, append(fast, connectors.WithQueueWarning(3, time.Hour, 5*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *store.Tx) error {
		for i := range 4 {
			if err := d.Enqueue(tx, createUser(fmt.Sprintf("u%d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), what); {
			if time.Now().After(deadline) {
				t.Fatalf("log never said %q:\n%s", what, logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("falling behind")
	if n := strings.Count(logs.String(), "falling behind"); n != 1 {
		t.Errorf("warned %d times, want once while behind", n)
	}
	down.Store(false)
	waitFor("caught up")
}
