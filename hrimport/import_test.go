package hrimport

import (
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/scimbridge/scimbridge/scim"
)

func workdayConfig(t testing.TB) Config {
	t.Helper()
	var cfg Config
	if err := yaml.UnmarshalWithOptions(fixture(t, "workday.yaml"), &cfg, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestImportWorkdayFile(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	sum, out, err := b.run(fixture(t, "workday.csv"), Options{Config: workdayConfig(t)})
	t.Logf("%s\n%s", out, sum)
	if err != nil {
		t.Fatal(err)
	}
}

var _ = strings.TrimSpace
