package scc

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

var _ connectors.Lister = (*Connector)(nil)

// List calls fn with the target id of every user (typ User: its email,
// lower case) or admin group (typ Group: SCC's id) the organization
// holds: the ids Apply answers in Result.TargetID. Users are listed
// whatever their status: a PENDING invite holds the user, and a disabled
// user is still there. A user without an email or id fails the listing. It pages through GET /users or GET
// /adminGroups (max=500 a page, following the cursor) with the
// connector's usual call path; each id is passed once. An item without an
// id, or paging that does not end, fails the listing rather than passing
// a short list for a complete one. An error from fn stops the listing and
// is returned as is; another type is a Permanent error.
func (c *Connector) List(ctx context.Context, typ string, fn func(targetID string) error) error {
	var op, path, key string
	// idOf answers the target id to report and, for users, the email and
	// SCC id to remember.
	var idOf func(json.RawMessage) (id, mail, sccID string)
	switch typ {
	case connectors.User:
		op, path, key = "list users", "/users", "users"
		idOf = func(raw json.RawMessage) (string, string, string) {
			// A user's target id is its email (what Apply records).
			u := parseUser(raw)
			mail := strings.ToLower(u.Email)
			if u.ID == "" || mail == "" {
				return "", "", ""
			}
			return targetIDOf(mail), mail, u.ID
		}
	case connectors.Group:
		op, path, key = "list groups", "/adminGroups", "groups"
		idOf = func(raw json.RawMessage) (string, string, string) {
			return parseObject(raw).str("id", "groupId"), "", ""
		}
	default:
		return connectors.ErrListType("scc", typ)
	}
	seen := map[string]bool{}
	var stop error
	err := c.walk(ctx, op, path, key, nil, func(raw json.RawMessage) bool {
		id, mail, sccID := idOf(raw)
		if id == "" {
			stop = connectors.ErrListItemWithoutID(op)
			return false
		}
		if seen[id] {
			return true
		}
		seen[id] = true
		if mail != "" {
			c.learn(mail, sccID) // spares a later name change its walk
		}
		if err := fn(id); err != nil {
			stop = err
			return false
		}
		return true
	})
	if stop != nil {
		return stop
	}
	return err
}
