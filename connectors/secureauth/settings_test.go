package secureauth

import (
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
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
	tests := []struct {
		name  string
		creds map[string]string
		opts  map[string]string
		want  string // "" = valid
		check func(*testing.T, *Connector)
	}{
		{name: "valid", creds: creds()},
		{name: "options take effect", creds: creds(), opts: map[string]string{"domain": "corp.example", "association_batch": "3", "api_version": "v1"}, check: func(t *testing.T, c *Connector) {
			if c.domain != "corp.example" || c.chunk != 3 || !strings.HasSuffix(c.base, "/api/v1") {
				t.Errorf("domain %q chunk %d base %q", c.domain, c.chunk, c.base)
			}
		}},
		{name: "misspelled credential", creds: creds("appkey", "x"), want: `credentials.appkey: unknown key (did you mean "app_key"?)`},
		{name: "misspelled option", creds: creds(), opts: map[string]string{"domian": "corp"}, want: `options.domian: unknown key (did you mean "domain"?)`},
		{name: "misspelled option 2", creds: creds(), opts: map[string]string{"association_bach": "3"}, want: `options.association_bach: unknown key (did you mean "association_batch"?)`},
		{name: "wrong type", creds: creds(), opts: map[string]string{"association_batch": "many"}, want: `options.association_batch: "many" is not an integer`},
		{name: "zero association_batch", creds: creds(), opts: map[string]string{"association_batch": "0"}, want: "options.association_batch must be a positive integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := connectors.Settings{Name: "mine", BaseURL: "https://idp.example.com/secureauth2", Credentials: tt.creds, Options: tt.opts}
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
			case err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `secureauth connector "mine": `):
				t.Fatalf("New: %v, want `secureauth connector \"mine\": ...%s`", err, tt.want)
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
