package secureaccess

import (
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"time"
)

// Every key in options and credentials is one the connector reads: a
// misspelled or mistyped one fails New and check-config alike, named.
func TestStrictSettings(t *testing.T) {
	creds := func(extra ...string) map[string]string {
		m := map[string]string{"api_key": "k", "api_secret": "S3CR3T"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	tests := []connectortest.SettingsCase[*Connector]{
		{Name: "valid", Creds: creds(), Check: func(t *testing.T, c *Connector) {
			if c.timeout != 30*time.Second {
				t.Errorf("timeout %s", c.timeout)
			}
		}},
		{Name: "options take effect", Creds: creds(), Opts: map[string]string{"request_timeout": "5s", "rate_scale": "0.5"}, Check: func(t *testing.T, c *Connector) {
			if c.timeout != 5*time.Second {
				t.Errorf("timeout %s", c.timeout)
			}
		}},
		{Name: "misspelled credential", Creds: creds("api_secrett", "x"), Want: `credentials.api_secrett: unknown key (did you mean "api_secret"?)`},
		{Name: "misspelled option", Creds: creds(), Opts: map[string]string{"rate_scael": "2"}, Want: `options.rate_scael: unknown key (did you mean "rate_scale"?)`},
		{Name: "wrong type", Creds: creds(), Opts: map[string]string{"rate_scale": "fast"}, Want: `options.rate_scale: "fast" is not a number`},
		{Name: "wrong duration", Creds: creds(), Opts: map[string]string{"request_timeout": "30"}, Want: `options.request_timeout: "30" is not a duration`},
		{Name: "zero timeout", Creds: creds(), Opts: map[string]string{"request_timeout": "0s"}, Want: "options.request_timeout 0s is not a positive duration"},
		{Name: "negative scale", Creds: creds(), Opts: map[string]string{"rate_scale": "-1"}, Want: "options.rate_scale -1 is not a positive number"},
	}
	connectortest.StrictSettings(t, Registration, "https://api.example.com/deployments/v2", "S3CR3T", func(s connectors.Settings) (*Connector, error) {
		c, err := New(s, connectors.Deps{})
		if err != nil {
			return nil, err
		}
		return c.(*Connector), nil
	}, tests)
}
