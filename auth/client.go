// Package auth authenticates SCIM clients: named clients from config.yaml
// (scim.clients) with static bearer tokens (sent as "Bearer <t>" or, for
// Okta's Header Auth, as the raw header value), HTTP Basic (RFC 7617) and
// OAuth 2.0 access tokens issued by scimbridge's own authorization server
// (package auth/oauth). Secrets may be literal or argon2id/bcrypt hashes;
// a verified credential is cached by its SHA-256 until the next Reload,
// and hash verifications run a few at a time so that a flood of wrong
// credentials cannot exhaust CPU or memory. Failures are counted per
// client and per source address; an address with too many failures gets
// 429 for its failing attempts (never for a valid credential).
package auth

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Client is one entry of scim.clients.
type Client struct {
	Name     string   `yaml:"name"`
	Bearer   []string `yaml:"bearer"`
	Basic    *Basic   `yaml:"basic"`
	OAuth    *OAuth   `yaml:"oauth"`
	ReadOnly bool     `yaml:"read_only"`
	// Internal marks a client the program adds for itself (the console's
	// imports): it authenticates like any other but is not advertised in
	// /ServiceProviderConfig or the 401 challenges, which list only what
	// the operator configured.
	Internal bool `yaml:"-"`
}

// Basic is an HTTP Basic user name and password (or its hash).
type Basic struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// OAuth lets a client obtain access tokens from /oauth/token.
type OAuth struct {
	ClientID      string   `yaml:"client_id"`
	ClientSecrets []string `yaml:"client_secrets"`
	// AccessTokenTTL is the access tokens' lifetime: 5m to 6h, default 1h.
	AccessTokenTTL time.Duration `yaml:"access_token_ttl"`
	// RedirectURIs are the authorization code grant's callbacks, matched
	// exactly (RFC 6749 §3.1.2). None: only client credentials.
	RedirectURIs []string `yaml:"redirect_uris"`
	// RequirePKCE refuses authorization requests without a code_challenge.
	RequirePKCE bool `yaml:"require_pkce"`
}

// Access token lifetime bounds.
const (
	MinAccessTokenTTL     = 5 * time.Minute
	MaxAccessTokenTTL     = 6 * time.Hour
	DefaultAccessTokenTTL = time.Hour
)

// LegacyClient names the client made of the top-level tokens: list (and
// SCIMBRIDGE_TOKENS); no entry of scim.clients may take the name.
const LegacyClient = "tokens"

var clientName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate checks the clients the way start-up and Reload do; the errors
// name keys, never values.
func Validate(clients []Client) error {
	var errs []error
	names := map[string]bool{}
	users := map[string]bool{}
	ids := map[string]bool{}
	for i, c := range clients {
		key := fmt.Sprintf("scim.clients[%d]", i)
		if !clientName.MatchString(c.Name) {
			errs = append(errs, fmt.Errorf("%s.name: %q must be 1-64 letters, digits, '.', '_' or '-'", key, c.Name))
		} else {
			key = fmt.Sprintf("scim.clients[%s]", c.Name)
		}
		if c.Name == LegacyClient {
			errs = append(errs, fmt.Errorf("%s.name: %q is reserved for the top-level tokens", key, c.Name))
		}
		if names[c.Name] {
			errs = append(errs, fmt.Errorf("%s.name: used twice", key))
		}
		names[c.Name] = true
		if len(c.Bearer) == 0 && c.Basic == nil && c.OAuth == nil {
			errs = append(errs, fmt.Errorf("%s: set bearer, basic or oauth", key))
		}
		for j, b := range c.Bearer {
			if _, err := parseSecret(strings.TrimSpace(b)); err != nil {
				errs = append(errs, fmt.Errorf("%s.bearer[%d]: %w", key, j, err))
			}
		}
		if b := c.Basic; b != nil {
			if b.Username == "" || strings.Contains(b.Username, ":") {
				errs = append(errs, fmt.Errorf("%s.basic.username: must be set and hold no ':' (RFC 7617)", key))
			}
			if users[b.Username] {
				errs = append(errs, fmt.Errorf("%s.basic.username: used by another client", key))
			}
			users[b.Username] = true
			if _, err := parseSecret(b.Password); err != nil {
				errs = append(errs, fmt.Errorf("%s.basic.password: %w", key, err))
			}
		}
		if o := c.OAuth; o != nil {
			if o.ClientID == "" || strings.Contains(o.ClientID, ":") {
				errs = append(errs, fmt.Errorf("%s.oauth.client_id: must be set and hold no ':'", key))
			}
			if ids[o.ClientID] {
				errs = append(errs, fmt.Errorf("%s.oauth.client_id: used by another client", key))
			}
			ids[o.ClientID] = true
			if len(o.ClientSecrets) == 0 {
				errs = append(errs, fmt.Errorf("%s.oauth.client_secrets: at least one", key))
			}
			for j, s := range o.ClientSecrets {
				if _, err := parseSecret(s); err != nil {
					errs = append(errs, fmt.Errorf("%s.oauth.client_secrets[%d]: %w", key, j, err))
				}
			}
			if o.AccessTokenTTL != 0 && (o.AccessTokenTTL < MinAccessTokenTTL || o.AccessTokenTTL > MaxAccessTokenTTL) {
				errs = append(errs, fmt.Errorf("%s.oauth.access_token_ttl: %s is outside 5m..6h", key, o.AccessTokenTTL))
			}
			for j, u := range o.RedirectURIs {
				if err := checkRedirectURI(u); err != nil {
					errs = append(errs, fmt.Errorf("%s.oauth.redirect_uris[%d]: %w", key, j, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// checkRedirectURI accepts absolute https URIs (http only on loopback)
// without a fragment (RFC 6749 §3.1.2).
func checkRedirectURI(u string) error {
	switch {
	case strings.Contains(u, "#"):
		return errors.New("must not hold a fragment")
	case strings.HasPrefix(u, "https://") && len(u) > len("https://"):
		return nil
	case strings.HasPrefix(u, "http://127.0.0.1") || strings.HasPrefix(u, "http://localhost") || strings.HasPrefix(u, "http://[::1]"):
		return nil
	}
	return errors.New("must be an absolute https URL (http only on loopback)")
}

// HasOAuth reports whether any client uses the authorization server.
func HasOAuth(clients []Client) bool {
	for _, c := range clients {
		if c.OAuth != nil {
			return true
		}
	}
	return false
}
