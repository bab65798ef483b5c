package webex

import (
	"context"
	"encoding/json"

	"github.com/scimbridge/scimbridge/connectors"
)

// maxCreateLookups: from this many creates in one batch that may have
// landed unacknowledged (Change.MayExist: every create queued before a
// restart), one walk of the user list (500 a page, ids and externalIds
// only) is cheaper than a GET ?filter=externalId eq … each. Found by
// test/story: after a SIGKILL with 660 creates queued, Webex spent 659
// lookups (66 s at 10 requests/s) before its first /Bulk.
const maxCreateLookups = 10

// landedCreates returns, when batch holds at least maxCreateLookups such
// creates, the Webex id of every listed user by externalId (nil map: look
// each up alone). A user the walk misses (offset paging has no snapshot)
// is created and, if it had landed, adopted on the 409 like any other.
func (c *Connector) landedCreates(ctx context.Context, batch []connectors.Change) (map[string]string, error) {
	want := map[string]bool{}
	for _, ch := range batch {
		if ch.Type == connectors.User && ch.Op == connectors.OpUpsert && ch.TargetID == "" && ch.MayExist {
			if ext := text(ch.Fields, "externalId"); ext != "" {
				want[ext] = true
			}
		}
	}
	if len(want) < maxCreateLookups {
		return nil, nil
	}
	found := map[string]string{}
	err := c.listResources(ctx, connectors.User, "id,externalId", func(id string, raw json.RawMessage) error {
		var u struct {
			ExternalID string `json:"externalId"`
		}
		if json.Unmarshal(raw, &u) == nil && want[u.ExternalID] {
			found[u.ExternalID] = id
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}
