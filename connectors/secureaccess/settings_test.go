package secureaccess

import (
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
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
	tests := []struct {
		name  string
		creds map[string]string
		opts  map[string]string
		want  string // "" = valid
		check func(*testing.T, *Connector)
	}{
		{name: "valid", creds: creds(), check: func(t *testing.T, c *Connector) {
			if c.timeout != 30*time.Second {
				t.Errorf("timeout %s", c.timeout)
			}
		}},
		{name: "options take effect", creds: creds(), opts: map[string]string{"request_timeout": "5s", "rate_scale": "0.5"}, check: func(t *testing.T, c *Connector) {
			if c.timeout != 5*time.Second {
				t.Errorf("timeout %s", c.timeout)
			}
		}},
		{name: "misspelled credential", creds: creds("api_secrett", "x"), want: `credentials.api_secrett: unknown key (did you mean "api_secret"?)`},
		{name: "misspelled option", creds: creds(), opts: map[string]string{"rate_scael": "2"}, want: `options.rate_scael: unknown key (did you mean "rate_scale"?)`},
		{name: "wrong type", creds: creds(), opts: map[string]string{"rate_scale": "fast"}, want: `options.rate_scale: "fast" is not a number`},
		{name: "wrong duration", creds: creds(), opts: map[string]string{"request_timeout": "30"}, want: `options.request_timeout: "30" is not a duration`},
		{name: "zero timeout", creds: creds(), opts: map[string]string{"request_timeout": "0s"}, want: "options.request_timeout 0s is not a positive duration"},
		{name: "negative scale", creds: creds(), opts: map[string]string{"rate_scale": "-1"}, want: "options.rate_scale -1 is not a positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := connectors.Settings{Name: "mine", BaseURL: "https://api.example.com/deployments/v2", Credentials: tt.creds, Options: tt.opts}
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
			case err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `secureaccess connector "mine": `):
				t.Fatalf("New: %v, want `secureaccess connector \"mine\": ...%s`", err, tt.want)
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
