package crash

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scimbridge/scimbridge/test/e2ekit"
)

// backupDuringLoad runs `scimbridge backup` against the bridge while the
// load goes on (the CLI verifies the copy with store.Verify before it
// keeps it) and returns the file with the users whose writes were all
// acknowledged before the backup began.
func backupDuringLoad(t *testing.T, b *bridge, dir string, acked []*expected) (string, []*expected) {
	t.Helper()
	file := filepath.Join(dir, "backup.db")
	out, err := exec.Command(b.Bin, "backup", file, "--server", b.Base, "--admin-token", adminToken).CombinedOutput()
	if err != nil {
		t.Fatalf("scimbridge backup during the load: %v\n%s", err, out)
	}
	t.Logf("backup during the load: %s", out)
	return file, acked
}

// checkBackup starts a second bridge (no connectors) on a copy of the
// backup and checks it serves the acknowledged state of every user
// acknowledged before the backup began.
func checkBackup(t *testing.T, bin, dir, file string, before []*expected) {
	t.Helper()
	data := filepath.Join(dir, "restored")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "scimbridge.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	port := e2ekit.FreePort(t)
	cfg := filepath.Join(dir, "restored.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "listen: 127.0.0.1:%d\ndata_dir: %s\ntokens: [%q]\nadmin_token: %q\nlog: {level: warn}\n", port, data, scimToken, adminToken), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, _ := os.Create(filepath.Join(dir, "restored.log"))
	r := newBridge(t, bin, cfg, port, logFile)
	r.Start()
	defer r.Kill()
	c := &client{base: r.Base, http: http.DefaultClient}
	checked := 0
	for _, e := range before {
		code, body := c.do(t.Context(), http.MethodGet, "/scim/v2/Users/"+e.id, nil)
		if e.deleted {
			if code != http.StatusNotFound {
				t.Errorf("restored backup: deleted user %s: GET %d", e.userName, code)
			}
			checked++
			continue
		}
		var u struct {
			Active bool `json:"active"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &u) != nil || u.Active != e.active {
			t.Errorf("restored backup: user %s acknowledged before the backup: %d %s, want active=%v", e.userName, code, body, e.active)
		}
		checked++
	}
	if problems := adminVerify(t, r); len(problems) > 0 {
		t.Errorf("restored backup: store.Verify: %q", problems)
	}
	t.Logf("restored backup serves all %d users acknowledged before it began", checked)
}
