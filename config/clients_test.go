package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestClientsConfig(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "okta")
	if err := os.WriteFile(secretFile, []byte("from-file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ENTRA": "from-env-token"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	yaml := `external_url: https://scim.example.com
tokens: [literal-legacy]
server:
  trusted_proxies: [10.0.0.0/8, 192.0.2.1]
scim:
  clients:
    - name: okta
      basic: {username: okta, password: "${file:` + secretFile + `}"}
    - name: entra
      bearer: ["${ENTRA}", "$2a$10$abcdefghijklmnopqrstuuMZsQ3PxF6tPZ/cqnVZ5kG6NnM3E4.2a"]
    - name: audit
      bearer: [audit-literal]
      read_only: true
    - name: gallery
      oauth: {client_id: g, client_secrets: [gallery-literal], access_token_ttl: 2h}
`
	cfg, err := Parse([]byte(yaml), lookup)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.SCIM.Clients
	if c[0].Basic.Password != "from-file-secret" || c[1].Bearer[0] != "from-env-token" || !c[2].ReadOnly || c[3].OAuth.AccessTokenTTL.Hours() != 2 {
		t.Errorf("clients %+v", c)
	}
	want := []string{"tokens[0]", "scim.clients[audit].bearer[0]", "scim.clients[gallery].oauth.client_secrets[0]"}
	if !slices.Equal(cfg.LiteralSecrets, want) {
		t.Errorf("literal secrets %q, want %q", cfg.LiteralSecrets, want)
	}
	p, err := cfg.TrustedProxyPrefixes()
	if err != nil || len(p) != 2 || p[1].String() != "192.0.2.1/32" {
		t.Errorf("trusted proxies %v %v", p, err)
	}
	ac := cfg.AuthConfig()
	if len(ac.Clients) != 4 || ac.Tokens[0] != "literal-legacy" {
		t.Errorf("auth config %+v", ac)
	}
}

func TestClientsConfigErrors(t *testing.T) {
	lookup := func(string) (string, bool) { return "", false }
	tests := []struct{ name, yaml, want string }{
		{"oauth without external_url", "scim:\n  clients:\n    - {name: g, oauth: {client_id: g, client_secrets: [s]}}\n", "external_url: required"},
		{"missing secret file", "scim:\n  clients:\n    - {name: a, bearer: [\"${file:/nonexistent/x}\"]}\n", "${file:/nonexistent/x}"},
		{"bad proxy", "server:\n  trusted_proxies: [nonsense]\n", "server.trusted_proxies[0]"},
		{"client without credentials", "scim:\n  clients:\n    - {name: a}\n", "scim.clients[a]: set bearer, basic or oauth"},
		{"unknown key", "scim:\n  clients:\n    - {name: a, token: x}\n", "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), lookup)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
