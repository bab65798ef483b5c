package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/config"
)

// The commands end to end against the whole bridge: import writes through
// the SCIM endpoint, so the outbox delivers to Webex (simulated); a failed
// row gives a non-zero exit and a report line; export writes a 0600 file
// that imports back without a write.
func TestImportExportCommands(t *testing.T) {
	b := newBridge(t, "  webex: {type: webex, enabled: true, simulate: true}\n")
	server := strings.TrimSuffix(b.scim, "/scim/v2")
	dir := t.TempDir()
	file := filepath.Join(dir, "hr.csv")
	if err := os.WriteFile(file, []byte("\xef\xbb\xbfuserName;name.givenName;name.familyName;emails[type eq \"work\"].value;active;groups\r\n"+
		"amelie@example.com;Amélie;D'Souza;amelie@example.com;yes;Webex Users\r\n"+
		"bob@example.com;Bob;Smith;bob@example;yes;Webex Users\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.csv")
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		rootCmd.SetOut(&out)
		rootCmd.SetErr(&out)
		rootCmd.SetArgs(args)
		defer rootCmd.SetArgs(nil)
		defer rootCmd.SetOut(nil)
		defer rootCmd.SetErr(nil)
		err := rootCmd.Execute()
		return out.String(), err
	}
	out, err := run("import", file, "--server", server, "--token", e2eToken, "--report", report, "--config", filepath.Join(dir, "none.yaml"))
	if err == nil || !strings.Contains(err.Error(), "1 rows rejected") {
		t.Fatalf("import with a bad row: err %v\n%s", err, out)
	}
	if !strings.Contains(out, `row 3: rejected bob@example`) || !strings.Contains(out, "1 created") {
		t.Errorf("output:\n%s", out)
	}
	rep, _ := os.ReadFile(report)
	if !strings.Contains(string(rep), "2,amelie@example.com,create") || !strings.Contains(string(rep), `3,bob@example.com,rejected,"emails[type eq ""work""].value"`) {
		t.Errorf("report:\n%s", rep)
	}
	b.settle()
	if got := memberNames(b.sim(0), "Webex Users"); !slices.Equal(got, []string{"amelie@example.com"}) {
		t.Errorf("Webex group members: %v", got)
	}

	export := filepath.Join(dir, "export.csv")
	if out, err := run("export", "--server", server, "--token", e2eToken, "-o", export); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if st, err := os.Stat(export); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", st, err)
	}
	out, err = run("import", export, "--server", server, "--token", e2eToken, "--dry-run=false", "--report", "")
	if err != nil || !strings.Contains(out, "1 unchanged") || !strings.Contains(out, "(0 writes)") {
		t.Errorf("re-import of the export: %v\n%s", err, out)
	}
}

// --token's default: the named import client's bearer token, unless hashed.
func TestImportClientToken(t *testing.T) {
	cfg, err := config.Parse([]byte(`scim:
  clients:
    - {name: okta, bearer: ["okta-token-0123456789"]}
    - {name: hr-import, bearer: ["hr-token-0123456789"]}
    - {name: hashed, bearer: ["$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"]}
import: {client: hr-import}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if got := importClientToken(cfg); got != "hr-token-0123456789" {
		t.Errorf("token = %q", got)
	}
	cfg.Import.Client = "hashed"
	if got := importClientToken(cfg); got != "" {
		t.Errorf("a hashed token was used: %q", got)
	}
	cfg.Import.Client = ""
	if got := importClientToken(cfg); got != "" {
		t.Errorf("no import.client, token = %q", got)
	}
}
