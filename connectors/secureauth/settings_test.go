package secureauth

import (
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/secureauth/secureauthsim"
)

// Every key in options and credentials is one the connector reads: a
// misspelled or mistyped one fails New and check-config alike, named.
func TestStrictSettings(t *testing.T) {
	creds := func(extra ...string) map[string]string {
		m := map[string]string{"app_id": "app", "app_key": secureauthsim.DefaultAppKey}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	tests := []connectortest.SettingsCase[*Connector]{
		{Name: "valid", Creds: creds()},
		{Name: "options take effect", Creds: creds(), Opts: map[string]string{"domain": "corp.example", "association_batch": "3", "api_version": "v1"}, Check: func(t *testing.T, c *Connector) {
			if c.domain != "corp.example" || c.chunk != 3 || !strings.HasSuffix(c.base, "/api/v1") {
				t.Errorf("domain %q chunk %d base %q", c.domain, c.chunk, c.base)
			}
		}},
		{Name: "misspelled credential", Creds: creds("appkey", "x"), Want: `credentials.appkey: unknown key (did you mean "app_key"?)`},
		{Name: "misspelled option", Creds: creds(), Opts: map[string]string{"domian": "corp"}, Want: `options.domian: unknown key (did you mean "domain"?)`},
		{Name: "misspelled option 2", Creds: creds(), Opts: map[string]string{"association_bach": "3"}, Want: `options.association_bach: unknown key (did you mean "association_batch"?)`},
		{Name: "wrong type", Creds: creds(), Opts: map[string]string{"association_batch": "many"}, Want: `options.association_batch: "many" is not an integer`},
		{Name: "zero association_batch", Creds: creds(), Opts: map[string]string{"association_batch": "0"}, Want: "options.association_batch must be a positive integer"},
	}
	connectortest.StrictSettings(t, Registration, "https://idp.example.com/secureauth2", secureauthsim.DefaultAppKey, func(s connectors.Settings) (*Connector, error) {
		c, err := New(s, connectors.Deps{})
		if err != nil {
			return nil, err
		}
		return c.(*Connector), nil
	}, tests)
}
