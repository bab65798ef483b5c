package webex

import (
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
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
	tests := []connectortest.SettingsCase[*Connector]{
		{Name: "defaults", Creds: creds(), Check: func(t *testing.T, c *Connector) {
			if !c.bulk || !c.groupBulk || c.memberChunk != defaultMemberChunk {
				t.Errorf("bulk %v groupBulk %v chunk %d", c.bulk, c.groupBulk, c.memberChunk)
			}
		}},
		{Name: "options take effect", Creds: creds(), Opts: map[string]string{"bulk": "false", "member_chunk": "50"}, Check: func(t *testing.T, c *Connector) {
			if c.bulk || c.groupBulk || c.memberChunk != 50 { // group_bulk follows bulk
				t.Errorf("bulk %v groupBulk %v chunk %d", c.bulk, c.groupBulk, c.memberChunk)
			}
		}},
		{Name: "group_bulk overrides bulk", Creds: creds(), Opts: map[string]string{"bulk": "false", "group_bulk": "true"}, Check: func(t *testing.T, c *Connector) {
			if c.bulk || !c.groupBulk {
				t.Errorf("bulk %v groupBulk %v", c.bulk, c.groupBulk)
			}
		}},
		{Name: "empty values are unset", Creds: creds("refresh_token", ""), Opts: map[string]string{"bulk": "", "member_chunk": " "}},
		{Name: "misspelled option", Creds: creds(), Opts: map[string]string{"bulkk": "false"}, Want: `options.bulkk: unknown key (did you mean "bulk"?)`},
		{Name: "misspelled option 2", Creds: creds(), Opts: map[string]string{"member_chunck": "50"}, Want: `options.member_chunck: unknown key (did you mean "member_chunk"?)`},
		{Name: "misspelled credential", Creds: creds("client_secert", "x"), Want: `credentials.client_secert: unknown key (did you mean "client_secret"?)`},
		{Name: "wrong type", Creds: creds(), Opts: map[string]string{"member_chunk": "abc"}, Want: `options.member_chunk: "abc" is not an integer`},
		{Name: "zero member_chunk", Creds: creds(), Opts: map[string]string{"member_chunk": "0"}, Want: "options.member_chunk must be 1..500, got 0"},
	}
	connectortest.StrictSettings(t, Registration, "", "S3CR3T", func(s connectors.Settings) (*Connector, error) { return newConnector(s, connectors.Deps{}) }, tests)
}
