package scc

import (
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
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
	tests := []connectortest.SettingsCase[*Connector]{
		{Name: "valid", Creds: creds()},
		{Name: "refresh", Creds: creds("refresh_token", "RT-S3CR3T", "api_key_id", "k")},
		{Name: "misspelled credential", Creds: creds("api_keyid", "k"), Want: `credentials.api_keyid: unknown key (did you mean "api_key_id"?)`},
		{Name: "misspelled credential 2", Creds: creds("acess_token", "x"), Want: `credentials.acess_token: unknown key (did you mean "access_token"?)`},
		{Name: "unknown option", Creds: creds(), Opts: map[string]string{"page_size": "10"}, Want: `options.page_size: unknown key (known: drift_check_interval)`},
		{Name: "drift check interval", Creds: creds(), Opts: map[string]string{"drift_check_interval": "1h"}},
		{Name: "empty credential is unset", Creds: creds("refresh_token", ""), Check: func(t *testing.T, c *Connector) {
			if c.tokens == nil {
				t.Error("no token source")
			}
		}},
	}
	connectortest.StrictSettings(t, Registration, "", "S3CR3T", func(s connectors.Settings) (*Connector, error) {
		c, err := New(s, connectors.Deps{})
		if err != nil {
			return nil, err
		}
		return c.(*Connector), nil
	}, tests)
}
