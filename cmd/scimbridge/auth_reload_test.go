package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGHUP re-reads the clients: a token rotated in its ${file:} works, the
// old one stops, without a restart.
func TestSIGHUPReloadsClients(t *testing.T) {
	b := newAuthBridge(t)
	// What serve does: its reloader watches SIGHUP and runs the SCIM clients' step.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	r := newReloader(b.app.log)
	r.add("scim clients", b.app.reload)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.watch(ctx, hup)
	if status, _ := b.do("GET", "/Users", oktaHeaderToken, ""); status != 200 {
		t.Fatal(status)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "okta-header"), []byte(oktaHeaderNext+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if status, _ := b.do("GET", "/Users", oktaHeaderNext, ""); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rotated token never worked after SIGHUP")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// 401, or 429 if the polling above used up the address's failures.
	if status, _ := b.do("GET", "/Users", oktaHeaderToken, ""); status != 401 && status != 429 {
		t.Errorf("old token after SIGHUP: %d", status)
	}
	// The reloader logs after the new clients are in place: wait for it.
	for !strings.Contains(b.logs.String(), "reloaded SCIM clients") {
		if time.Now().After(deadline) {
			t.Fatal("no reload log line")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReadSecret(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"s3cret\n", "s3cret"},
		{"s3cret\r\n", "s3cret"},
		{"with spaces inside\n", "with spaces inside"},
		{"no newline", "no newline"},
	} {
		got, err := readSecret(strings.NewReader(tt.in), &strings.Builder{})
		if err != nil || got != tt.want {
			t.Errorf("readSecret(%q) = %q, %v", tt.in, got, err)
		}
	}
	if _, err := readSecret(strings.NewReader("\n"), &strings.Builder{}); err == nil {
		t.Error("empty secret accepted")
	}
}

// scimbridge reload asks the running server to re-read its clients.
func TestReloadCommand(t *testing.T) {
	b := newAuthBridge(t)
	if err := os.WriteFile(filepath.Join(b.dir, "okta-header"), []byte(oktaHeaderNext+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := adminFlags{server: b.ts.URL, token: authAdminToken}
	client, err := c.client()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.do(context.Background(), "POST", "/admin/reload", nil); err != nil {
		t.Fatal(err)
	}
	if status, _ := b.do("GET", "/Users", oktaHeaderNext, ""); status != 200 {
		t.Errorf("new token after reload: %d", status)
	}
	// A bad file: the error names the key, the clients stay.
	b.mu.Lock()
	b.yaml = strings.Replace(b.yaml, "read_only: true", "read_only: true\n    - name: broken", 1)
	b.mu.Unlock()
	err = client.do(context.Background(), "POST", "/admin/reload", nil)
	if err == nil || !strings.Contains(err.Error(), "scim.clients[broken]") {
		t.Errorf("bad reload: %v", err)
	}
	if status, _ := b.do("GET", "/Users", oktaHeaderNext, ""); status != 200 {
		t.Errorf("after a refused reload: %d", status)
	}
}
