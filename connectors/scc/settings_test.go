package scc

import (
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
)

// Every key in options and credentials is one the connector reads: a
// misspelled or mistyped one fails New and check-config alike, named.
func TestStrictSettings(t *testing.T) {
	creds := func(extra ...string) map[string]string {
		m := map[string]string{"org_id": "o", "access_token": "AT-S3CR3T"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	tests := []struct {
		name  string
		creds map[string]string
		opts  map[string]string
		want  string // "" = valid
		check func(*testing.T, *Connector)
	}{
		{name: "valid", creds: creds()},
		{name: "refresh", creds: creds("refresh_token", "RT-S3CR3T", "api_key_id", "k")},
		{name: "misspelled credential", creds: creds("api_keyid", "k"), want: `credentials.api_keyid: unknown key (did you mean "api_key_id"?)`},
		{name: "misspelled credential 2", creds: creds("acess_token", "x"), want: `credentials.acess_token: unknown key (did you mean "access_token"?)`},
		{name: "unknown option", creds: creds(), opts: map[string]string{"page_size": "10"}, want: `options.page_size: unknown key (known: drift_check_interval)`},
		{name: "drift check interval", creds: creds(), opts: map[string]string{"drift_check_interval": "1h"}},
		{name: "empty credential is unset", creds: creds("refresh_token", ""), check: func(t *testing.T, c *Connector) {
			if c.tokens == nil {
				t.Error("no token source")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := connectors.Settings{Name: "mine", BaseURL: "", Credentials: tt.creds, Options: tt.opts}
			conn, err := New(s, connectors.Deps{})
			checkErr := connectors.CheckSettings(Registration, s)
			switch {
			case tt.want == "":
				if err != nil || checkErr != nil {
					t.Fatalf("New: %v; CheckSettings: %v", err, checkErr)
				}
				if tt.check != nil {
					tt.check(t, conn.(*Connector))
				}
				return
			case err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `scc connector "mine": `):
				t.Fatalf("New: %v, want `scc connector \"mine\": ...%s`", err, tt.want)
			case strings.Contains(err.Error(), "S3CR3T"):
				t.Errorf("a credential's value is in the error: %v", err)
			}
			// check-config finds what decoding finds; the checks New adds
			// on top (ranges, combinations) stay in New.
			if strings.Contains(tt.want, ": unknown key") || strings.Contains(tt.want, `: "`) { // a decoding error
				if checkErr == nil || !strings.HasPrefix(checkErr.Error(), `connector "mine": `) || !strings.Contains(checkErr.Error(), tt.want) {
					t.Errorf("CheckSettings: %v, want `connector \"mine\": ...%s`", checkErr, tt.want)
				}
			} else if checkErr != nil {
				t.Errorf("CheckSettings: %v", checkErr)
			}
		})
	}
}
