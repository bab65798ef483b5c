package scc

import (
	"cmp"
	"context"
	"encoding/json"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

var (
	_ connectors.Lister      = (*Connector)(nil)
	_ connectors.FieldLister = (*Connector)(nil)
)

// List calls fn with the target id of every user (typ User: its email,
// lower case) or admin group (typ Group: SCC's id) the organization
// holds: the ids Apply answers in Result.TargetID. It is ListFields
// without the fields (one page walk serves both drift checks).
func (c *Connector) List(ctx context.Context, typ string, fn func(targetID string) error) error {
	return c.ListFields(ctx, typ, func(targetID string, _ map[string]any) error { return fn(targetID) })
}

// ListFields implements connectors.FieldLister: every user or admin group
// with the fields the default mapping writes, read back under the same
// names and in the same form the id mapping records them (email lower
// case; active false only for a DISABLE user, since a PENDING invite is
// an active user to SCIM; name and description as SCC holds them). A
// field the answer does not carry is left out rather than reported empty.
//
// Users are listed whatever their status: a PENDING invite holds the
// user, and a disabled user is still there. It pages through GET /users
// or GET /adminGroups (max=500 a page, following the cursor) with the
// connector's usual call path (token refresh, pacing, classification,
// redaction); each id is passed once. An item without an id, or paging
// that does not end, fails the listing rather than passing a short list
// for a complete one. An error from fn stops the listing and is returned
// as is; another type is a Permanent error.
func (c *Connector) ListFields(ctx context.Context, typ string, fn func(targetID string, fields map[string]any) error) error {
	var op, path, key string
	// read answers the target id to report and its fields; for users it
	// also remembers the SCC id (a later name change needs no walk).
	var read func(json.RawMessage) (string, map[string]any)
	switch typ {
	case connectors.User:
		op, path, key = "list users", "/users", "users"
		read = func(raw json.RawMessage) (string, map[string]any) {
			id, mail, f := userReadBack(raw)
			if id == "" || mail == "" {
				return "", nil
			}
			c.learn(mail, id)
			return targetIDOf(mail), f
		}
	case connectors.Group:
		op, path, key = "list groups", "/adminGroups", "groups"
		read = groupReadBack
	default:
		return connectors.ErrListType("scc", typ)
	}
	seen := map[string]bool{}
	var stop error
	err := c.walk(ctx, op, path, key, nil, func(raw json.RawMessage) bool {
		id, fields := read(raw)
		if id == "" {
			stop = connectors.ErrListItemWithoutID(op)
			return false
		}
		if seen[id] {
			return true
		}
		seen[id] = true
		if err := fn(id, fields); err != nil {
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

// userReadBack reads one user of SCC's answers (a listing's item, GET
// /users/{id}) into its SCC id, email (lower case) and the mapped fields
// in the form the id mapping records them.
func userReadBack(raw json.RawMessage) (id, mail string, f map[string]any) {
	var u listedUser
	if json.Unmarshal(raw, &u) != nil {
		return "", "", nil
	}
	id = cmp.Or(jsonString(u.ID), jsonString(u.UserID), jsonString(u.UUID))
	mail = strings.ToLower(cmp.Or(jsonString(u.Email), jsonString(u.EmailAddress)))
	f = map[string]any{fieldEmail: mail}
	present(f, fieldFirstName, u.FirstName)
	present(f, fieldLastName, u.LastName)
	if st := strings.ToUpper(jsonString(u.Status)); st != "" {
		f[fieldActive] = st != "DISABLE"
	}
	return id, mail, f
}

// groupReadBack reads one admin group into its id and mapped fields.
func groupReadBack(raw json.RawMessage) (string, map[string]any) {
	o := parseObject(raw)
	f := map[string]any{}
	present(f, fieldName, o["name"])
	present(f, fieldDescription, o["description"])
	return o.str("id", "groupId"), f
}

// listedUser is one user of an answer, decoded once (parseUser's keys).
type listedUser struct {
	ID           json.RawMessage `json:"id"`
	UserID       json.RawMessage `json:"userId"`
	UUID         json.RawMessage `json:"uuid"`
	Email        json.RawMessage `json:"email"`
	EmailAddress json.RawMessage `json:"emailAddress"`
	FirstName    json.RawMessage `json:"firstName"`
	LastName     json.RawMessage `json:"lastName"`
	Status       json.RawMessage `json:"status"`
}

// present sets f[field] from a string attribute when the answer carries
// it (absent and null are left out).
func present(f map[string]any, field string, raw json.RawMessage) {
	if len(raw) == 0 || isNull(raw) {
		return
	}
	f[field] = jsonString(raw)
}
