package e2ekit

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// WriteConfig writes serve's config.yaml to path: listen on port, data in
// dataDir, SCIM and admin tokens from the environment (TokenEnv), and one
// enabled connector per target with the connector's own (shipped) rate
// limit.
func WriteConfig(t testing.TB, path string, port int, dataDir, logLevel string, targets []*Target) {
	t.Helper()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "listen: 127.0.0.1:%d\ndata_dir: %s\ntokens: [\"${E2E_SCIM_TOKEN}\"]\nadmin_token: ${E2E_ADMIN_TOKEN}\nlog: {level: %s}\nserver: {shutdown_timeout: 5s}\nconnectors:\n",
		port, dataDir, logLevel)
	for _, tg := range targets {
		fmt.Fprintf(&cfg, "  %s:\n    type: %s\n    enabled: true\n    simulate: false\n    base_url: %q\n    credentials:\n", tg.Type, tg.Type, tg.BaseURL)
		for k, v := range tg.Creds {
			fmt.Fprintf(&cfg, "      %s: %q\n", k, v)
		}
		if len(tg.Options) > 0 {
			cfg.WriteString("    options:\n")
			for k, v := range tg.Options {
				fmt.Fprintf(&cfg, "      %s: %q\n", k, v)
			}
		}
	}
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TokenEnv is the environment WriteConfig's config expects.
func TokenEnv(scimToken, adminToken string) []string {
	return []string{"E2E_SCIM_TOKEN=" + scimToken, "E2E_ADMIN_TOKEN=" + adminToken}
}
