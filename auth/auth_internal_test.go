package auth

import (
	"strings"
	"testing"
)

// An internal client (the console's imports) authenticates but is never
// advertised: with only Basic configured, the schemes and the challenge
// name Basic alone.
func TestInternalClientNotAdvertised(t *testing.T) {
	for _, tt := range []struct {
		name    string
		clients []Client
		schemes []string
		chal    []string
	}{
		{"basic and internal", []Client{
			{Name: "okta", Basic: &Basic{Username: "okta", Password: "pw-okta-123456"}},
			{Name: "console", Bearer: []string{"internal-token-123456789"}, Internal: true},
		}, []string{"httpbasic"}, []string{"Basic"}},
		{"bearer and internal", []Client{
			{Name: "entra", Bearer: []string{"entra-token-123456789"}},
			{Name: "console", Bearer: []string{"internal-token-123456789"}, Internal: true},
		}, []string{"oauthbearertoken"}, []string{"Bearer"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRegistry(func() (Config, error) { return Config{Clients: tt.clients}, nil }, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := r.cur.Load()
			var got []string
			for _, m := range r.Schemes("") {
				got = append(got, m["type"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tt.schemes, ",") {
				t.Errorf("schemes %v, want %v", got, tt.schemes)
			}
			var chal []string
			for _, c := range s.challenges() {
				chal = append(chal, strings.Fields(c)[0])
			}
			if strings.Join(chal, ",") != strings.Join(tt.chal, ",") {
				t.Errorf("challenges %v, want %v", chal, tt.chal)
			}
		})
	}
}
