package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/admin"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/testconn"
	"github.com/scimbridge/scimbridge/store"
)

func TestAdminClient(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	target := testconn.NewTarget(testconn.Options{})
	target.Poison("u1", "no such department")
	conn := testconn.New("lab", target, connectors.Limits{BatchSize: 5, Timeout: time.Second})
	d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: conn, Settings: connectors.Settings{Name: "lab", Type: "testconn"}}},
		zerolog.Nop(), nil, connectors.WithBackoff(time.Millisecond, 5*time.Millisecond), connectors.WithPollInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *store.Tx) error {
		return d.Enqueue(tx, store.Change{Type: store.TypeUser, ID: "u1", After: map[string]any{"userName": "u1@example.com"}})
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// The dead letter is committed before the in-memory last error is
	// set: wait for both, or the status table may not show the error yet.
	for {
		st, _ := d.Status()
		if st[0].DeadLetters == 1 && st[0].LastError != "" {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}

	srv := httptest.NewServer(admin.Handler(d, "tok"))
	defer srv.Close()
	c := &adminClient{base: srv.URL, token: "tok", http: srv.Client()}
	var out bytes.Buffer
	if err := c.status(ctx, &out, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "lab") || !strings.Contains(out.String(), "no such department") {
		t.Errorf("status output:\n%s", out.String())
	}
	out.Reset()
	if err := c.listDead(ctx, &out, "lab", false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "User/u1") {
		t.Errorf("deadletters list output:\n%s", out.String())
	}
	if err := c.do(ctx, http.MethodDelete, "/admin/deadletters/lab/999", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("discard unknown: %v, want a 404 error", err)
	}
	bad := &adminClient{base: srv.URL, token: "wrong", http: srv.Client()}
	if err := bad.status(ctx, &out, false); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v, want 401", err)
	}
}
