package connectortest

import (
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
)

// SettingsCase is one row of a connector's strict-settings table.
type SettingsCase[C any] struct {
	Name  string
	Creds map[string]string
	Opts  map[string]string
	Want  string // "" = valid; otherwise a fragment of New's error
	Check func(*testing.T, C)
}

// StrictSettings runs a connector's strict-settings table: every key in
// options and credentials is one the connector reads, so a misspelled or
// mistyped one fails newFn (the connector's New) and check-config
// (connectors.CheckSettings) alike, naming the connector and the key, and
// never echoing a credential value (every test credential contains
// secret).
func StrictSettings[C any](t *testing.T, reg connectors.Registration, baseURL, secret string,
	newFn func(connectors.Settings) (C, error), cases []SettingsCase[C]) {
	t.Helper()
	const name = "mine"
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			s := connectors.Settings{Name: name, BaseURL: baseURL, Credentials: tt.Creds, Options: tt.Opts}
			conn, err := newFn(s)
			checkErr := connectors.CheckSettings(reg, s)
			prefix := reg.Type + ` connector "` + name + `": `
			switch {
			case tt.Want == "":
				if err != nil || checkErr != nil {
					t.Fatalf("New: %v; CheckSettings: %v", err, checkErr)
				}
				if tt.Check != nil {
					tt.Check(t, conn)
				}
				return
			case err == nil || !strings.Contains(err.Error(), tt.Want) || !strings.HasPrefix(err.Error(), prefix):
				t.Fatalf("New: %v, want `%s...%s`", err, prefix, tt.Want)
			case strings.Contains(err.Error(), secret):
				t.Errorf("a credential's value is in the error: %v", err)
			}
			// check-config finds what decoding finds; the checks New adds
			// on top (ranges, combinations) stay in New.
			if strings.Contains(tt.Want, ": unknown key") || strings.Contains(tt.Want, `: "`) { // a decoding error
				want := `connector "` + name + `": `
				if checkErr == nil || !strings.HasPrefix(checkErr.Error(), want) || !strings.Contains(checkErr.Error(), tt.Want) {
					t.Errorf("CheckSettings: %v, want `%s...%s`", checkErr, want, tt.Want)
				}
			} else if checkErr != nil {
				t.Errorf("CheckSettings: %v", checkErr)
			}
		})
	}
}
