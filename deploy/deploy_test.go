// Package deploy holds the deployment files (Dockerfile build script,
// systemd unit, Kubernetes manifests, compose file, alert rules); its
// tests check the ones the main module can check without new
// dependencies. The Kubernetes manifests and alert rules are checked by
// the side module in deploy/kubernetes/manifesttest.
package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lookTool finds a tool the test needs; in CI a missing one is a failure.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (Debian: apt-get install systemd): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return path
}

// The unit passes systemd-analyze verify without a single warning (an
// unknown or misspelt key is only a warning there), and its hardening
// scores at most 2.0 in systemd-analyze security (0 best, 10 worst).
func TestSystemdUnit(t *testing.T) {
	analyze := lookTool(t, "systemd-analyze")
	unit, err := os.ReadFile(filepath.Join("systemd", "scimbridge.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=scimbridge", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"ExecReload=/bin/kill -HUP $MAINPID", "ExecStart=/usr/local/bin/scimbridge serve"} {
		if !strings.Contains(string(unit), want+"\n") {
			t.Errorf("unit lacks %q", want)
		}
	}
	// verify checks that ExecStart's binary exists: point it at one that does.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scimbridge.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/scimbridge", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0 (%v):\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "Overall exposure level") {
			t.Log(strings.TrimSpace(l))
		}
	}
}
