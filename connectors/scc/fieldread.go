package scc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

var _ connectors.FieldReader = (*Connector)(nil)

// ReadFields implements connectors.FieldReader (the console's check of
// one resource), read back into the mapped fields as ListFields reads
// them:
//
//	GET /adminGroups/{id}                       an admin group
//	GET /users/{id}                             a user whose SCC id is known
//	GET /users?max=500[&cursor=…] until found   a user whose SCC id is not
//
// A user's target id is its email and SCC cannot get a user by email, so
// its SCC id comes from the connector's cache (every listing and every
// name change learns ids; a drift check learns them all); without it the
// user list is walked until the user turns up, a request per 500 users
// before it. A 404, or a user the walk does not find, is
// connectors.ErrTargetGone.
func (c *Connector) ReadFields(ctx context.Context, typ, targetID string) (map[string]any, error) {
	switch typ {
	case connectors.Group:
		path := "/adminGroups/" + url.PathEscape(targetID)
		_, a, err := c.call(ctx, "get group", http.MethodGet, path, nil, nil, connectors.CallOther)
		if statusOf(err) == http.StatusNotFound {
			return nil, fmt.Errorf("GET %s: %w", path, connectors.ErrTargetGone)
		}
		if err != nil {
			return nil, err
		}
		_, f := groupReadBack(a.body)
		return f, nil
	case connectors.User:
		if !isEmailID(targetID) {
			return c.readUser(ctx, targetID, "") // a mapping from before ids were emails
		}
		mail := strings.ToLower(targetID)
		if id := c.cached(mail); id != "" {
			f, err := c.readUser(ctx, id, mail)
			if !errors.Is(err, connectors.ErrTargetGone) {
				return f, err
			}
			c.uncache(mail) // removed and perhaps invited again: walk
		}
		var found map[string]any
		err := c.walk(ctx, "list users", "/users", "users", nil, func(raw json.RawMessage) bool {
			id, m, f := userReadBack(raw)
			if id == "" || m == "" {
				return true
			}
			c.learn(m, id)
			if m == mail {
				found = f
				return false
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if found == nil {
			return nil, fmt.Errorf("user %s is not listed: %w", mail, connectors.ErrTargetGone)
		}
		return found, nil
	}
	return nil, connectors.ErrListType("scc", typ)
}

// readUser is GET /users/{id}, read back; a 404, or a user with another
// email than mail (when given), is connectors.ErrTargetGone.
func (c *Connector) readUser(ctx context.Context, id, mail string) (map[string]any, error) {
	path := "/users/" + url.PathEscape(id)
	_, a, err := c.call(ctx, "get user", http.MethodGet, path, nil, nil, connectors.CallOther)
	if statusOf(err) == http.StatusNotFound {
		return nil, fmt.Errorf("GET %s: %w", path, connectors.ErrTargetGone)
	}
	if err != nil {
		return nil, err
	}
	_, m, f := userReadBack(a.body)
	if m == "" || (mail != "" && m != mail) {
		return nil, fmt.Errorf("GET %s answered another user: %w", path, connectors.ErrTargetGone)
	}
	return f, nil
}
