package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileReferences(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token := write("token", "s3cr3t: #not yaml\n")
	crlf := write("crlf", "adm\r\n")
	big := write("big", strings.Repeat("x", maxSecretFile+1))
	tests := []struct {
		name, yaml string
		env        map[string]string
		wantTokens string
		wantAdmin  string
		wantErr    string
	}{
		{name: "file content without its newline", yaml: "tokens: [\"${file:" + token + "}\"]\nadmin_token: ${file:" + crlf + "}\n",
			wantTokens: "s3cr3t: #not yaml", wantAdmin: "adm"},
		{name: "file and env in one value", yaml: "admin_token: \"${file:" + crlf + "}-${SUFFIX}\"\n", env: map[string]string{"SUFFIX": "x"},
			wantAdmin: "adm-x"},
		{name: "missing file is an error, never an empty secret", yaml: "admin_token: ${file:" + filepath.Join(dir, "nope") + "}\n",
			wantErr: "${file:" + filepath.Join(dir, "nope") + "}: open"},
		{name: "a file too large to be a secret", yaml: "admin_token: ${file:" + big + "}\n", wantErr: "not a secret"},
		{name: "in a connector's credentials", yaml: "connectors:\n  w:\n    type: webex\n    credentials:\n      token: ${file:" + token + "}\n",
			wantTokens: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.Tokens, "|"); got != tt.wantTokens {
				t.Errorf("tokens = %q, want %q", got, tt.wantTokens)
			}
			if c.AdminToken != tt.wantAdmin {
				t.Errorf("admin token = %q, want %q", c.AdminToken, tt.wantAdmin)
			}
			if w, ok := c.Connectors["w"]; ok && w.Credentials["token"] != "s3cr3t: #not yaml" {
				t.Errorf("credential = %q", w.Credentials["token"])
			}
		})
	}
}

func TestLoadIfExists(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvListen, "0.0.0.0:8080")
	t.Setenv(EnvDataDir, "/data")
	c, err := LoadIfExists(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if c.Listen != "0.0.0.0:8080" || c.DataDir != "/data" || len(c.Connectors) != 0 {
		t.Errorf("from the environment: %+v", c)
	}
	if _, err := Load(filepath.Join(dir, "config.yaml")); err == nil {
		t.Error("Load: a missing file must stay an error")
	}
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("lisen: x\n"), 0o600)
	if _, err := LoadIfExists(bad); err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Errorf("present but wrong: %v", err)
	}
}

func TestParseEmptyKeepsDefaults(t *testing.T) {
	for _, doc := range []string{"", "\n", "# only a comment\n"} {
		c, err := Parse([]byte(doc), env(nil))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if c.Listen != Default().Listen || c.SCIM.MaxResults != Default().SCIM.MaxResults {
			t.Errorf("%q: defaults lost: %+v", doc, c)
		}
	}
}
