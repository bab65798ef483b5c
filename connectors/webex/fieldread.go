package webex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/scimbridge/scimbridge/connectors"
)

var _ connectors.FieldReader = (*Connector)(nil)

// ReadFields implements connectors.FieldReader: one request,
//
//	GET /Users/{id}
//	GET /Groups/{id}?attributes=id,displayName,externalId
//
// (a group without its members), through c.do like every other call, read
// back into the mapped fields as ListFields reads them. A 404 is
// connectors.ErrTargetGone.
func (c *Connector) ReadFields(ctx context.Context, typ, targetID string) (map[string]any, error) {
	var cl call
	switch typ {
	case connectors.User:
		cl = call{op: "user.get", method: http.MethodGet, path: "/Users/" + url.PathEscape(targetID)}
	case connectors.Group:
		cl = call{op: "group.get", method: http.MethodGet, path: "/Groups/" + url.PathEscape(targetID),
			query: url.Values{"attributes": {groupReadBack}}}
	default:
		return nil, connectors.ErrListType("webex", typ)
	}
	var raw json.RawMessage
	if _, err := c.do(ctx, cl, &raw); err != nil {
		if e, ok := errors.AsType[*connectors.Error](err); ok && e.Status == http.StatusNotFound {
			return nil, fmt.Errorf("GET %s: %w", cl.path, connectors.ErrTargetGone)
		}
		return nil, err
	}
	return readBack(typ, targetID, raw)
}

// groupReadBack is what a group's read-back asks for: not its members.
const groupReadBack = "id,displayName,externalId"

// readBack reads one user or group resource into the mapped fields the
// connector writes (users: names, title, externalId and active; groups:
// displayName and externalId). Fields Webex cannot read back are left out.
func readBack(typ, id string, raw json.RawMessage) (map[string]any, error) {
	var u wireUser
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, permanentf("GET %s: unreadable resource %s", typ, id)
	}
	f := map[string]any{"externalId": u.ExternalID, "displayName": u.DisplayName}
	if typ == connectors.User {
		f["userName"], f["nickName"], f["title"] = u.UserName, u.NickName, u.Title
		f["active"] = u.Active == nil || *u.Active
		if u.Name != nil {
			f["firstName"], f["lastName"] = u.Name.GivenName, u.Name.FamilyName
		}
	}
	return f, nil
}
