package webex

import (
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
)

// Every key in options and credentials is one the connector reads: a
// misspelled or mistyped one fails New and check-config alike, named.
func TestStrictSettings(t *testing.T) {
	creds := func(extra ...string) map[string]string {
		m := map[string]string{"org_id": "o", "access_token": "AT-S3CR3T"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	tests := []struct {
		name  string
		creds map[string]string
		opts  map[string]string
		want  string // "" = valid
		check func(*testing.T, *Connector)
	}{
		{name: "defaults", creds: creds(), check: func(t *testing.T, c *Connector) {
			if !c.bulk || !c.groupBulk || c.memberChunk != defaultMemberChunk {
				t.Errorf("bulk %v groupBulk %v chunk %d", c.bulk, c.groupBulk, c.memberChunk)
			}
		}},
		{name: "options take effect", creds: creds(), opts: map[string]string{"bulk": "false", "member_chunk": "50"}, check: func(t *testing.T, c *Connector) {
			if c.bulk || c.groupBulk || c.memberChunk != 50 { // group_bulk follows bulk
				t.Errorf("bulk %v groupBulk %v chunk %d", c.bulk, c.groupBulk, c.memberChunk)
			}
		}},
		{name: "group_bulk overrides bulk", creds: creds(), opts: map[string]string{"bulk": "false", "group_bulk": "true"}, check: func(t *testing.T, c *Connector) {
			if c.bulk || !c.groupBulk {
				t.Errorf("bulk %v groupBulk %v", c.bulk, c.groupBulk)
			}
		}},
		{name: "empty values are unset", creds: creds("refresh_token", ""), opts: map[string]string{"bulk": "", "member_chunk": " "}},
		{name: "misspelled option", creds: creds(), opts: map[string]string{"bulkk": "false"}, want: `options.bulkk: unknown key (did you mean "bulk"?)`},
		{name: "misspelled option 2", creds: creds(), opts: map[string]string{"member_chunck": "50"}, want: `options.member_chunck: unknown key (did you mean "member_chunk"?)`},
		{name: "misspelled credential", creds: creds("client_secert", "x"), want: `credentials.client_secert: unknown key (did you mean "client_secret"?)`},
		{name: "wrong type", creds: creds(), opts: map[string]string{"member_chunk": "abc"}, want: `options.member_chunk: "abc" is not an integer`},
		{name: "zero member_chunk", creds: creds(), opts: map[string]string{"member_chunk": "0"}, want: "options.member_chunk must be 1..500, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := connectors.Settings{Name: "wx", Credentials: tt.creds, Options: tt.opts}
			c, err := newConnector(s, connectors.Deps{})
			checkErr := connectors.CheckSettings(Registration, s)
			switch {
			case tt.want == "":
				if err != nil || checkErr != nil {
					t.Fatalf("New: %v; CheckSettings: %v", err, checkErr)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			case err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `webex connector "wx": `):
				t.Fatalf("New: %v, want `webex connector \"wx\": ...%s`", err, tt.want)
			case strings.Contains(err.Error(), "S3CR3T"):
				t.Errorf("a credential's value is in the error: %v", err)
			}
			// check-config finds what decoding finds; the checks New adds
			// on top (ranges, combinations) stay in New.
			if strings.Contains(tt.want, ": unknown key") || strings.Contains(tt.want, `: "`) { // a decoding error
				if checkErr == nil || !strings.HasPrefix(checkErr.Error(), `connector "wx": `) || !strings.Contains(checkErr.Error(), tt.want) {
					t.Errorf("CheckSettings: %v, want `connector \"wx\": ...%s`", checkErr, tt.want)
				}
			} else if checkErr != nil {
				t.Errorf("CheckSettings: %v", checkErr)
			}
		})
	}
}
