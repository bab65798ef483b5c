package secureaccess

import (
	"testing"

	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
)

// TestTokenBasicAuthIsRaw: the contract's token request is
// `Authorization: Basic base64(apiKey:apiSecret)`, the key and secret as
// issued (Cisco's samples use requests' HTTPBasicAuth, which does not
// encode them). golang.org/x/oauth2 form-encodes both first (RFC 6749
// §2.3.1), which changes a secret holding '+', '/', '=' or '%': the
// target then refuses the grant.
func TestTokenBasicAuthIsRaw(t *testing.T) {
	for _, cred := range []struct{ key, secret string }{
		{"sim-api-key", "a+b/c=d%e f"},
		{"key+with/slash=", "plain-secret"},
		{"ключ", "秘密:with:colons"},
	} {
		e := newEnv(t, secureaccesssim.Options{APIKey: cred.key, APISecret: cred.secret}, nil, nil)
		if r := apply(t, e.c, userChange(1, true))[0]; r.Err != nil {
			t.Errorf("key %q secret %q: %v", cred.key, cred.secret, r.Err)
		}
	}
}
