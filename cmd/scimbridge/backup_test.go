package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
)

// backupTestConfig runs a webex connector against its in-process
// simulator (so the backup holds queues and id mappings too), or, for the
// restored server, none: a new in-process simulator would hand out the
// target ids the first one did.
func backupTestConfig(t *testing.T, dataDir string, webex bool) *config.Config {
	t.Helper()
	connectors := "connectors:\n  webex: {type: webex, enabled: true, simulate: true}\n"
	if !webex {
		connectors = ""
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
tokens: [backup-scim]
admin_token: backup-admin
log: {level: error}
%s`, dataDir, connectors)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func scimReq(ctx context.Context, base, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer backup-scim")
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// A backup taken while SCIM writes keep coming verifies clean, and a
// server started on it serves every write acknowledged before the backup
// began.
func TestHotBackup(t *testing.T) {
	dir := t.TempDir()
	backupFile := filepath.Join(dir, "backup.db")
	var mu sync.Mutex
	var acked []string // user ids, in acknowledgement order
	var beforeBackup []string
	err := serve(context.Background(), backupTestConfig(t, filepath.Join(dir, "data"), true), io.Discard, func(ctx context.Context, r running) error {
		wctx, stopWriters := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := 0; wctx.Err() == nil; i++ {
					code, body, err := scimReq(wctx, r.base, http.MethodPost, "/scim/v2/Users",
						fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"w%d.u%d@example.com","active":true}`, w, i))
					if err != nil || code != http.StatusCreated {
						if wctx.Err() == nil {
							t.Errorf("create: %d %s %v", code, body, err)
						}
						return
					}
					var u struct{ ID string }
					_ = json.Unmarshal(body, &u)
					mu.Lock()
					acked = append(acked, u.ID)
					mu.Unlock()
				}
			})
		}
		ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
		for ackedCount() < 60 {
			time.Sleep(5 * time.Millisecond)
		}
		mu.Lock()
		beforeBackup = append([]string(nil), acked...)
		mu.Unlock()
		c := &adminClient{base: r.base, token: r.adminToken, http: &http.Client{Timeout: 30 * time.Second}}
		var out strings.Builder
		err := runBackup(ctx, c, backupFile, &out)
		// Writes went on during the backup; let a few more land after it.
		for n := ackedCount(); ackedCount() < n+20; {
			time.Sleep(5 * time.Millisecond)
		}
		stopWriters()
		wg.Wait()
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if !strings.Contains(out.String(), "verified: no problems") {
			t.Errorf("backup output: %q", out.String())
		}
		// The server records the backup, and leaves no snapshot behind.
		resp, err := http.Get(r.base + "/metrics")
		if err != nil {
			return err
		}
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(metrics), "scimbridge_backup_last_success_timestamp_seconds 1") { // 1.7e9: a time
			t.Errorf("no backup time in the metrics")
		}
		entries, _ := os.ReadDir(filepath.Join(dir, "data"))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".backup-") {
				t.Errorf("snapshot left in the data directory: %s", e.Name())
			}
		}
		if _, err := os.Stat(backupFile + ".partial"); err == nil {
			t.Error("backup.db.partial left behind")
		}
		return context.Canceled
	})
	if err != context.Canceled {
		t.Fatal(err)
	}
	t.Logf("%d writes acknowledged before the backup began, %d in all", len(beforeBackup), len(acked))

	// Restore: the backup becomes a fresh server's data file.
	restored := filepath.Join(dir, "restored")
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(backupFile, filepath.Join(restored, dbFile)); err != nil {
		t.Fatal(err)
	}
	err = serve(context.Background(), backupTestConfig(t, restored, false), io.Discard, func(ctx context.Context, r running) error {
		for _, id := range beforeBackup {
			if code, body, err := scimReq(ctx, r.base, http.MethodGet, "/scim/v2/Users/"+id, ""); err != nil || code != http.StatusOK {
				t.Errorf("acknowledged before the backup, missing after restore: %s: %d %s %v", id, code, body, err)
			}
		}
		if problems, _, err := r.app.verify(20); err != nil || len(problems) > 0 {
			t.Errorf("restored store: %q %v", problems, err)
		}
		return context.Canceled
	})
	if err != context.Canceled {
		t.Fatal(err)
	}
}

// Only an admin may take a backup.
func TestBackupNeedsAdminToken(t *testing.T) {
	dir := t.TempDir()
	err := serve(context.Background(), backupTestConfig(t, filepath.Join(dir, "data"), true), io.Discard, func(ctx context.Context, r running) error {
		c := &adminClient{base: r.base, token: "backup-scim", http: &http.Client{Timeout: 10 * time.Second}}
		err := runBackup(ctx, c, filepath.Join(dir, "b.db"), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("backup with the SCIM token: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "b.db")); err == nil {
			t.Error("a refused backup left a file")
		}
		return context.Canceled
	})
	if err != context.Canceled {
		t.Fatal(err)
	}
}
