package secureaccess

import (
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
	"github.com/scimbridge/scimbridge/connectors/simkit"
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

// TestRetryAfterForms: a 429's Retry-After is honoured in both of RFC
// 9110's forms, seconds and an HTTP date; without one the connector backs
// off on its own (the target documents none).
func TestRetryAfterForms(t *testing.T) {
	for _, tc := range []struct {
		name     string
		after    time.Duration
		asDate   bool
		min, max time.Duration
	}{
		{"seconds", 7 * time.Second, false, 7 * time.Second, 7 * time.Second},
		{"HTTP date", 7 * time.Second, true, 5 * time.Second, 7 * time.Second},
		{"none", 0, false, time.Nanosecond, 3 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, secureaccesssim.Options{RetryAfterDate: tc.asDate, Faults: simkit.Faults{ThrottleRate: 1, RetryAfter: tc.after, Seed: 1}}, nil, nil)
			r := apply(t, e.c, userChange(1, true))[0]
			if connectors.ClassOf(r.Err) != connectors.Transient {
				t.Fatalf("429: %v, want transient", r.Err)
			}
			if got := connectors.RetryAfterOf(r.Err); got < tc.min || got > tc.max {
				t.Errorf("RetryAfter %v, want %v..%v", got, tc.min, tc.max)
			}
		})
	}
}
