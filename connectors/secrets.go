package connectors

import (
	"net/http"
	"strings"
)

// Redact blanks every secret in a target's message: a gateway may echo
// the credential it was sent, and the message is logged, kept as a dead
// letter's reason and shown by the admin API.
func Redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// NoRedirects returns a copy of c that answers a redirect instead of
// following it. Token requests use it: their form carries a client secret
// or refresh token, which net/http would send again to wherever a 307 or
// 308 points, another host included.
func NoRedirects(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}
