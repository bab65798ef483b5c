package config

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "defaults",
			yaml: "listen: 127.0.0.1:9000\n",
			check: func(t *testing.T, c *Config) {
				if c.ExternalURL != "" || c.SCIM.ExternalURL != "" {
					t.Errorf("external url = %q / %q", c.ExternalURL, c.SCIM.ExternalURL)
				}
				if c.SCIM.MaxResults != 1000 || c.Server.ReadTimeout != time.Minute {
					t.Errorf("defaults not applied: %+v", c)
				}
				if len(c.Tokens) != 0 {
					t.Errorf("tokens = %q", c.Tokens)
				}
			},
		},
		{
			name: "env expansion, unset expands empty and is dropped",
			yaml: "tokens: [\"${TOK_A}\", \"${TOK_B}\", \"${TOK_C:-fallback}\"]\nadmin_token: ${ADMIN}\n",
			env:  map[string]string{"TOK_A": "a#b: c", "ADMIN": "adm"},
			check: func(t *testing.T, c *Config) {
				if strings.Join(c.Tokens, "|") != "a#b: c|fallback" || c.AdminToken != "adm" {
					t.Errorf("tokens %q admin %q", c.Tokens, c.AdminToken)
				}
			},
		},
		{
			name: "environment wins over the file",
			yaml: "listen: 127.0.0.1:1\ndata_dir: /a\nexternal_url: http://x/\ntokens: [f]\n",
			env: map[string]string{EnvListen: "0.0.0.0:2", EnvDataDir: "/b", EnvExternalURL: "https://y.example/",
				EnvTokens: "t1, t2", EnvAdminToken: "adm"},
			check: func(t *testing.T, c *Config) {
				if c.Listen != "0.0.0.0:2" || c.DataDir != "/b" || c.ExternalURL != "https://y.example" ||
					strings.Join(c.Tokens, ",") != "t1,t2" || c.AdminToken != "adm" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "tokens are trimmed, a blank admin token is unset",
			yaml: "tokens: [\"${TOK}\"]\nadmin_token: ${ADMIN}\n",
			env:  map[string]string{"TOK": " t1\n", "ADMIN": "adm\n"},
			check: func(t *testing.T, c *Config) {
				if strings.Join(c.Tokens, "|") != "t1" || c.AdminToken != "adm" {
					t.Errorf("tokens %q admin %q", c.Tokens, c.AdminToken)
				}
				c, err := Parse([]byte("admin_token: \" \"\n"), env(map[string]string{EnvAdminToken: " \n"}))
				if err != nil || c.AdminToken != "" {
					t.Errorf("blank admin token: %q %v", c.AdminToken, err)
				}
			},
		},
		{
			name: "connectors get names, defaults and expanded credentials",
			yaml: "connectors:\n  wx:\n    type: webex\n    enabled: true\n    credentials:\n      token: ${WX_TOKEN}\n    sync_timeout: 3s\n  scc:\n    enabled: false\n",
			env:  map[string]string{"WX_TOKEN": "secret"},
			check: func(t *testing.T, c *Config) {
				wx := c.Connectors["wx"]
				if wx.Name != "wx" || wx.Type != "webex" || wx.Credentials["token"] != "secret" || wx.SyncTimeout != 3*time.Second || wx.Concurrency != 4 {
					t.Errorf("wx = %+v", wx)
				}
				if c.Connectors["scc"].Type != "scc" {
					t.Errorf("type defaults to name")
				}
				if got := c.ConnectorNames(); len(got) != 1 || got[0] != "wx" {
					t.Errorf("enabled = %v", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key names it with its line", "listen: x\nlistn: y\n", `[2:1] unknown field "listn"`},
		{"bad url", "external_url: ftp://x\n", "external_url"},
		{"bad on_delete", "connectors:\n  a:\n    on_delete: nuke\n", "connectors.a.on_delete"},
		{"half tls", "tls:\n  cert_file: a\n", "tls:"},
		{"bad duration", "server:\n  read_timeout: soon\n", `invalid duration "soon"`},
		{"negative log flush interval", "log:\n  flush_interval: -1s\n", "log.flush_interval: must not be negative"},
		{"sync outlasting the write timeout", "server:\n  write_timeout: 5s\nconnectors:\n  a:\n    enabled: true\n    sync: true\n    sync_timeout: 5s\n",
			"connectors.a.sync_timeout: 5s must be shorter than server.write_timeout (5s)"},
		{"unknown import transform", "import:\n  transforms:\n    Start: datum\n", `import.transforms.Start: unknown transform "datum"`},
		{"import client unknown", "import:\n  client: hr\n", `import.client: "hr" names no scim.clients entry`},
		{"empty import target", "import:\n  columns:\n    Notes: []\n", "import.columns.Notes: no target"},
		{"default sync timeout over a short write timeout", "server:\n  write_timeout: 3s\nconnectors:\n  a:\n    enabled: true\n    sync: true\n",
			"connectors.a.sync_timeout: 10s must be shorter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// import.columns takes one path or a list; ${ENV} expands inside both.
func TestParseImport(t *testing.T) {
	c, err := Parse([]byte("import:\n  managed_by: ${HR:-hr}\n  groups: [Staff]\n  columns:\n    Employee ID: externalId\n    Work Email: [userName, 'emails[type eq \"work\"].value']\n  transforms: {Work Email: lower|email}\n"), env(map[string]string{"HR": "workday"}))
	if err != nil {
		t.Fatal(err)
	}
	im := c.Import
	if im.ManagedBy != "workday" || len(im.Groups) != 1 || !slices.Equal(im.Columns["Employee ID"], []string{"externalId"}) ||
		!slices.Equal(im.Columns["Work Email"], []string{"userName", `emails[type eq "work"].value`}) || im.Transforms["Work Email"] != "lower|email" {
		t.Errorf("import section: %+v", im)
	}
}

// The shipped config.yaml must load as it is, with no environment at all.
func TestShippedConfigLoads(t *testing.T) {
	data, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Skip("no config.yaml yet")
	}
	c, err := Parse(data, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tokens) != 0 {
		t.Errorf("shipped config must not carry a token: %q", c.Tokens)
	}
	if c.Log.FlushInterval != Default().Log.FlushInterval {
		t.Errorf("log.flush_interval %s, the default is %s", c.Log.FlushInterval, Default().Log.FlushInterval)
	}
}

// log.flush_interval: 0 is every line at once, not the default.
func TestLogFlushIntervalZero(t *testing.T) {
	c, err := Parse([]byte("log:\n  flush_interval: 0s\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.FlushInterval != 0 {
		t.Errorf("flush_interval %s, want 0", c.Log.FlushInterval)
	}
}
