package webex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

// Schema URNs the connector sends.
const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaBulkReq    = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
)

// userFields are the mapped user fields the connector understands, with
// the SCIM path each one is patched at ("" when special).
var userFields = map[string]string{
	"userName":    "userName", // also the work+primary email
	"displayName": "displayName",
	"nickName":    "nickName",
	"firstName":   "name.givenName",
	"lastName":    "name.familyName",
	"title":       "title",
	"externalId":  "externalId",
	"department":  schemaEnterprise + ":department",
	"phoneNumber": "phoneNumbers",
	"active":      "active",
}

var groupFields = map[string]string{
	"displayName": "displayName",
	"externalId":  "externalId",
}

func knownFields(m map[string]string) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// text renders a mapped value as a string ("" when absent); a multi-valued
// result contributes its first value.
func text(m map[string]any, k string) string {
	v := m[k]
	if l, ok := v.([]any); ok {
		if len(l) == 0 {
			return ""
		}
		v = l[0]
	}
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	default:
		return fmt.Sprint(v)
	}
}

// boolean reads a mapped boolean (true/false or their strings).
func boolean(m map[string]any, k string) (val, ok bool) {
	switch v := m[k].(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		return b, err == nil
	}
	return false, false
}

func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n")
}

// Wire shapes. Optional attributes are omitted, never null.
type wireUser struct {
	Schemas      []string        `json:"schemas"`
	UserName     string          `json:"userName"`
	Active       *bool           `json:"active,omitempty"`
	DisplayName  string          `json:"displayName,omitempty"`
	NickName     string          `json:"nickName,omitempty"`
	Name         *wireName       `json:"name,omitempty"`
	Title        string          `json:"title,omitempty"`
	ExternalID   string          `json:"externalId,omitempty"`
	Emails       []wireMulti     `json:"emails,omitempty"`
	PhoneNumbers []wireMulti     `json:"phoneNumbers,omitempty"`
	Enterprise   *wireEnterprise `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,omitempty"`
}

type wireName struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

type wireMulti struct {
	Value   string `json:"value"`
	Type    string `json:"type"`
	Primary bool   `json:"primary,omitempty"`
}

type wireEnterprise struct {
	Department string `json:"department"`
}

type patchBody struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

func newPatch(ops []patchOp) patchBody {
	return patchBody{Schemas: []string{schemaPatchOp}, Operations: ops}
}

// idOnly decodes the id of a created or fetched resource.
type idOnly struct {
	ID string `json:"id"`
}

type listResponse struct {
	TotalResults int      `json:"totalResults"`
	Resources    []idOnly `json:"Resources"`
}

func userBody(f map[string]any) wireUser {
	u := wireUser{
		Schemas:     []string{schemaUser},
		UserName:    text(f, "userName"),
		DisplayName: text(f, "displayName"),
		NickName:    text(f, "nickName"),
		Title:       text(f, "title"),
		ExternalID:  text(f, "externalId"),
		Emails:      []wireMulti{{Value: text(f, "userName"), Type: "work", Primary: true}},
	}
	if a, ok := boolean(f, "active"); ok {
		u.Active = &a
	}
	if g, l := text(f, "firstName"), text(f, "lastName"); g != "" || l != "" {
		u.Name = &wireName{GivenName: g, FamilyName: l}
	}
	if p := text(f, "phoneNumber"); p != "" {
		u.PhoneNumbers = []wireMulti{{Value: p, Type: "work"}}
	}
	if d := text(f, "department"); d != "" {
		u.Schemas = append(u.Schemas, schemaEnterprise)
		u.Enterprise = &wireEnterprise{Department: d}
	}
	return u
}

// userOps are the PATCH operations that take a user from prev to cur;
// prev nil (state unknown) replaces every mapped attribute.
func userOps(prev, cur map[string]any) []patchOp {
	var ops []patchOp
	for _, f := range []string{"userName", "displayName", "nickName", "firstName", "lastName", "title", "externalId", "department", "phoneNumber", "active"} {
		old, now := text(prev, f), text(cur, f)
		if prev != nil && old == now {
			continue
		}
		path := userFields[f]
		switch {
		case f == "active":
			if a, ok := boolean(cur, f); ok {
				ops = append(ops, patchOp{Op: "replace", Path: path, Value: a})
			}
		case now == "" && prev == nil:
		case now == "":
			ops = append(ops, patchOp{Op: "remove", Path: path})
		case f == "userName":
			// userName and its work email change together, in one PATCH.
			ops = append(ops, patchOp{Op: "replace", Path: "userName", Value: now},
				patchOp{Op: "replace", Path: "emails", Value: []wireMulti{{Value: now, Type: "work", Primary: true}}})
		case f == "phoneNumber":
			ops = append(ops, patchOp{Op: "replace", Path: path, Value: []wireMulti{{Value: now, Type: "work"}}})
		default:
			ops = append(ops, patchOp{Op: "replace", Path: path, Value: now})
		}
	}
	return ops
}

// userCall is one planned user write.
type userCall struct {
	idx    int
	ch     connectors.Change
	create bool
	call   call
}

// planUser turns a user change into its call, or answers it at once.
func (c *Connector) planUser(ch connectors.Change) (*userCall, connectors.Result, bool) {
	id := ch.TargetID
	if ch.Op == connectors.OpDelete {
		switch {
		case id == "":
			return nil, connectors.Result{}, true // the target never had it
		case c.onDelete == OnDeleteDeactivate:
			return &userCall{ch: ch, call: call{op: "user.deactivate", method: http.MethodPatch, path: "/Users/" + url.PathEscape(id),
				body: newPatch([]patchOp{{Op: "replace", Path: "active", Value: false}}), kind: connectors.CallDelete}}, connectors.Result{}, false
		default:
			return &userCall{ch: ch, call: call{op: "user.delete", method: http.MethodDelete, path: "/Users/" + url.PathEscape(id),
				kind: connectors.CallDelete}}, connectors.Result{}, false
		}
	}
	if ch.Fields == nil {
		return nil, connectors.Result{Err: permanentf("user upsert without mapped fields")}, true
	}
	if un := text(ch.Fields, "userName"); !isEmail(un) {
		return nil, connectors.Result{TargetID: id, Err: connectors.NewUnsupported("Webex needs an email address as userName; the user has none")}, true
	}
	if id == "" {
		return &userCall{ch: ch, create: true, call: call{op: "user.create", method: http.MethodPost, path: "/Users",
			body: userBody(ch.Fields), kind: connectors.CallCreate}}, connectors.Result{}, false
	}
	ops := userOps(ch.Prev, ch.Fields)
	if len(ops) == 0 {
		return nil, connectors.Result{TargetID: id}, true
	}
	return &userCall{ch: ch, call: call{op: "user.patch", method: http.MethodPatch, path: "/Users/" + url.PathEscape(id),
		body: newPatch(ops)}}, connectors.Result{}, false
}

// applyUser runs one planned call.
func (c *Connector) applyUser(ctx context.Context, uc *userCall) connectors.Result {
	var created idOnly
	outcome, err := c.do(ctx, uc.call, &created)
	switch {
	case err != nil && c.vanished(uc, err):
		return c.recreateUser(ctx, uc.ch)
	case err != nil:
		return connectors.Result{TargetID: uc.ch.TargetID, Err: err}
	case outcome == connectors.Adopt:
		return c.adoptUser(ctx, uc.ch)
	case uc.create:
		if created.ID == "" {
			return connectors.Result{Err: connectors.NewTransient("user created but the answer has no id", nil)}
		}
		return connectors.Result{TargetID: created.ID}
	}
	return connectors.Result{TargetID: uc.ch.TargetID}
}

// adoptUser finds the user a 409 named by userName, records its id and
// brings its attributes to the mapped values.
func (c *Connector) adoptUser(ctx context.Context, ch connectors.Change) connectors.Result {
	un := text(ch.Fields, "userName")
	id, err := c.findOne(ctx, "user.lookup", "/Users", "userName", un)
	if err != nil {
		return connectors.Result{Err: err}
	}
	if id == "" {
		return connectors.Result{Err: permanentf("create answered 409 but no user has userName %q", un)}
	}
	c.log.Info().Str("op", "user.adopt").Str("target_id", id).Msg("adopted existing Webex user")
	if _, err := c.do(ctx, call{op: "user.patch", method: http.MethodPatch, path: "/Users/" + url.PathEscape(id),
		body: newPatch(userOps(nil, ch.Fields))}, nil); err != nil {
		return connectors.Result{TargetID: id, Err: err}
	}
	return connectors.Result{TargetID: id}
}

// findOne looks a resource up by `attr eq value` and returns its id, "" if
// none.
func (c *Connector) findOne(ctx context.Context, op, path, attr, value string) (string, error) {
	q := url.Values{"filter": {attr + " eq " + filterString(value)}, "count": {"2"}}
	var lr listResponse
	if _, err := c.gdo(ctx, call{op: op, method: http.MethodGet, path: path, query: q}, &lr); err != nil {
		return "", err
	}
	for _, r := range lr.Resources {
		if r.ID != "" {
			return r.ID, nil
		}
	}
	return "", nil
}

// filterString is value as a SCIM filter's compValue: a JSON string
// (RFC 7644 §3.4.2.2), which strconv.Quote is not for every character.
func filterString(value string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(value) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// vanished says whether an update failed because Webex no longer has the
// user (deleted on the Webex side).
func (c *Connector) vanished(uc *userCall, err error) bool {
	var e *connectors.Error
	return uc.call.op == "user.patch" && errors.As(err, &e) && e.Status == http.StatusNotFound
}

// recreateUser creates a user again that Webex lost, so the IdP's state
// wins; the dispatcher records the new id.
func (c *Connector) recreateUser(ctx context.Context, ch connectors.Change) connectors.Result {
	c.log.Warn().Str("op", "user.recreate").Str("target_id", ch.TargetID).Msg("Webex no longer has the user; creating it again")
	ch.TargetID, ch.Prev = "", nil
	uc, res, done := c.planUser(ch)
	if done {
		return res
	}
	return c.applyUser(ctx, uc)
}
