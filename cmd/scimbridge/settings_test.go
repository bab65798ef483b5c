package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// A config.yaml a new user might write: every value right, but keys
// misspelled in options and credentials. Before typed settings it passed
// check-config and the misspelled settings did nothing.
const misspelledSettings = `
tokens: [t0123456789abcdef]
connectors:
  webex:
    enabled: true
    credentials:
      org_id: ${WX_ORG:-org}
      access_token: ${WX_TOKEN:-tok}
      client_secert: ${WX_SECRET:-S3CR3T}
    options:
      bulkk: "false"
      member_chunck: "50"
  scc:
    enabled: true
    credentials:
      org_id: o
      access_token: t
    options:
      page_size: "10"
  secureaccess:
    enabled: true
    credentials:
      api_key: k
      api_secret: s
    options:
      request_timeout: soon
`

// The lines check-config prints for misspelledSettings, sorted by connector.
var misspelledProblems = []string{
	`connector "scc": options.page_size: unknown key (known: drift_check_interval)`,
	`connector "secureaccess": options.request_timeout: "soon" is not a duration (such as 30s or 2m)`,
	`connector "webex": credentials.client_secert: unknown key (did you mean "client_secret"?) (known: access_token, client_id, client_secret, org_id, refresh_token, token, token_url)`,
	`connector "webex": options.bulkk: unknown key (did you mean "bulk"?) (known: bulk, drift_check_interval, group_bulk, member_chunk)`,
	`connector "webex": options.member_chunck: unknown key (did you mean "member_chunk"?) (known: bulk, drift_check_interval, group_bulk, member_chunk)`,
}

// check-config, run as the command with the build's connectors, names
// every misspelled option and credential and fails.
func TestCheckConfigMisspelledSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(misspelledSettings), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	rootCmd.SetArgs([]string{"check-config", "--config", path})
	defer func() { rootCmd.SetArgs(nil); rootCmd.SetOut(nil); rootCmd.SetErr(nil) }()
	err := rootCmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "5 problems") {
		t.Fatalf("err %v, want 5 problems; stdout %q", err, out.String())
	}
	for _, want := range misspelledProblems {
		if !strings.Contains(errOut.String(), want+"\n") {
			t.Errorf("stderr lacks\n  %s\ngot:\n%s", want, errOut.String())
		}
	}
	if strings.Contains(errOut.String(), "S3CR3T") {
		t.Errorf("a credential's value reached the output:\n%s", errOut.String())
	}
}

// Start-up refuses the same config with the same messages, before any
// connector or simulator is built.
func TestStartupMisspelledSettings(t *testing.T) {
	cfg, err := config.Parse([]byte(misspelledSettings), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = buildApp(cfg, db, cfg.Tokens, "", prometheus.NewRegistry(), zerolog.Nop())
	if err == nil {
		t.Fatal("buildApp accepted misspelled settings")
	}
	for _, want := range misspelledProblems {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start-up error lacks\n  %s\ngot:\n%v", want, err)
		}
	}
}

// A connector's own refusal of its settings names the connector once: the
// ConfigError it returns is not wrapped again.
func TestStartupConnectorErrorNamedOnce(t *testing.T) {
	cfg, err := config.Parse([]byte("connectors:\n  wx:\n    type: webex\n    enabled: true\n    credentials: {org_id: o}\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = buildApp(cfg, db, nil, "", prometheus.NewRegistry(), zerolog.Nop())
	want := `webex connector "wx": credentials.access_token or credentials.refresh_token is required`
	if err == nil || err.Error() != want {
		t.Fatalf("err %v, want %q", err, want)
	}
}

// Every connector of the build declares typed settings, and what its
// simulator hands it (simulate: true merges these into credentials) are
// keys it declares.
func TestSimulatorCredentialsAreDeclared(t *testing.T) {
	for _, r := range registrations() {
		if r.Credentials == nil || r.Options == nil {
			t.Errorf("%s declares no typed settings", r.Type)
			continue
		}
		s := connectors.Settings{Name: r.Type, Credentials: r.NewSimulator().Credentials()}
		if err := connectors.CheckSettings(r, s); err != nil {
			t.Errorf("%s simulator credentials: %v", r.Type, err)
		}
	}
}
