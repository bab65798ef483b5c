package scc

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

// userOpBody is PATCH /users with one operation; names only on invite.
type userOpBody struct {
	Operation string `json:"operation"`
	Email     string `json:"email"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// nameBody is PUT /users/{id}: only the names that changed.
type nameBody struct {
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// invitedUser is an invite whose user id is still to be found.
type invitedUser struct {
	index   int
	email   string
	id      string // when the invite answer carried one
	fields  map[string]any
	adopted bool // the invite answered "already exists": sync the existing user once found
}

func (c *Connector) applyUser(ctx context.Context, ch connectors.Change) (connectors.Result, *invitedUser) {
	if ch.Op == connectors.OpDelete {
		return c.deleteUser(ctx, ch), nil
	}
	mail := email(ch.Fields)
	if mail == "" {
		return connectors.Result{TargetID: ch.TargetID, Err: connectors.NewPermanent("user has no email (the mapped field email is empty)", nil)}, nil
	}
	if ch.TargetID == "" {
		return c.invite(ctx, mail, ch.Fields)
	}
	if old := email(ch.Prev); old != "" && old != mail {
		// SCC has no email update: deprovision the old address (as the
		// on_delete setting says) and invite the new one, which gets a new id.
		if err := c.deprovision(ctx, old); err != nil {
			return connectors.Result{TargetID: ch.TargetID, Err: err}, nil
		}
		return c.invite(ctx, mail, ch.Fields)
	}

	var names nameBody
	if v := str(ch.Fields, fieldFirstName); v != "" && (ch.Prev == nil || v != str(ch.Prev, fieldFirstName)) {
		names.FirstName = v
	}
	if v := str(ch.Fields, fieldLastName); v != "" && (ch.Prev == nil || v != str(ch.Prev, fieldLastName)) {
		names.LastName = v
	}
	if names != (nameBody{}) {
		_, _, err := c.call(ctx, "update user", http.MethodPut, "/users/"+url.PathEscape(ch.TargetID), nil, names, connectors.CallOther)
		if statusOf(err) == http.StatusNotFound {
			// Removed in SCC behind our back: invite it again.
			c.forget(mail)
			return c.invite(ctx, mail, ch.Fields)
		}
		if err != nil {
			return connectors.Result{TargetID: ch.TargetID, Err: err}, nil
		}
	}
	if ch.Prev == nil || active(ch.Prev) != active(ch.Fields) {
		if err := c.setActive(ctx, mail, active(ch.Fields)); err != nil {
			if statusOf(err) == http.StatusNotFound {
				c.forget(mail)
				return c.invite(ctx, mail, ch.Fields)
			}
			return connectors.Result{TargetID: ch.TargetID, Err: err}, nil
		}
	}
	return connectors.Result{TargetID: ch.TargetID}, nil
}

// invite creates the user. The answer usually has no id: the caller
// resolves it for the whole batch. "Already exists" adopts the user.
func (c *Connector) invite(ctx context.Context, mail string, fields map[string]any) (connectors.Result, *invitedUser) {
	first, last := str(fields, fieldFirstName), str(fields, fieldLastName)
	// An invite needs both names; a user without them gets the address's
	// local part rather than never reaching SCC.
	local, _, _ := strings.Cut(mail, "@")
	if first == "" {
		first = local
	}
	if last == "" {
		last = local
	}
	out, a, err := c.call(ctx, "invite user", http.MethodPatch, "/users", nil,
		userOpBody{Operation: "invite", Email: mail, FirstName: first, LastName: last}, connectors.CallCreate)
	if err != nil {
		return connectors.Result{Err: err}, nil
	}
	inv := &invitedUser{email: mail, fields: fields, adopted: out == connectors.Adopt}
	if out == connectors.OK {
		if msg, failed := opFailed(a.body); failed {
			if !strings.Contains(strings.ToLower(msg), "exist") {
				return connectors.Result{Err: connectors.Errorf(connectors.Permanent, a.status, "invite user: %s", msg)}, nil
			}
			inv.adopted = true
		} else {
			inv.id = opAnswerID(a.body)
			if !active(fields) {
				if err := c.setActive(ctx, mail, false); err != nil {
					return connectors.Result{Err: err}, nil
				}
			}
		}
	}
	return connectors.Result{}, inv
}

// resolveInvited finds the ids of a batch's invited users with as few
// listings as possible and syncs adopted users to their mapped fields.
func (c *Connector) resolveInvited(ctx context.Context, invited []invitedUser, results []connectors.Result) {
	want := map[string]bool{}
	pendingOnly := true
	for _, u := range invited {
		if u.id == "" || u.adopted {
			want[u.email] = true
			pendingOnly = pendingOnly && !u.adopted
		}
	}
	found, err := c.findUsers(ctx, want, pendingOnly)
	for _, u := range invited {
		res := &results[u.index]
		tu, ok := found[u.email]
		switch {
		case ok:
			res.TargetID = tu.ID
		case u.id != "":
			res.TargetID = u.id
			c.learn(u.email, u.id)
			continue
		case err != nil:
			res.Err = err
			continue
		default:
			// Invited but not listed (yet): a retry invites again, gets 409
			// and adopts.
			res.Err = connectors.NewTransient("invite user: invited "+u.email+" but the user is not listed yet", nil)
			continue
		}
		if u.adopted {
			res.Err = c.syncAdopted(ctx, tu, u.fields)
		}
	}
}

// syncAdopted brings a pre-existing user in line with the mapped fields.
func (c *Connector) syncAdopted(ctx context.Context, tu targetUser, fields map[string]any) error {
	var names nameBody
	if v := str(fields, fieldFirstName); v != "" && v != tu.FirstName {
		names.FirstName = v
	}
	if v := str(fields, fieldLastName); v != "" && v != tu.LastName {
		names.LastName = v
	}
	if names != (nameBody{}) {
		if _, _, err := c.call(ctx, "update user", http.MethodPut, "/users/"+url.PathEscape(tu.ID), nil, names, connectors.CallOther); err != nil {
			return err
		}
	}
	if want, disabled := active(fields), tu.Status == "DISABLE"; want == disabled {
		return c.setActive(ctx, tu.Email, want)
	}
	return nil
}

func (c *Connector) setActive(ctx context.Context, mail string, on bool) error {
	if on {
		return c.userOp(ctx, "enable", mail, connectors.CallOther)
	}
	return c.userOp(ctx, "disable", mail, connectors.CallOther)
}

// userOp sends one PATCH /users operation by email.
func (c *Connector) userOp(ctx context.Context, op, mail string, kind connectors.CallKind) error {
	out, a, err := c.call(ctx, op+" user", http.MethodPatch, "/users", nil, userOpBody{Operation: op, Email: mail}, kind)
	if err != nil || out != connectors.OK || a.status < 200 || a.status > 299 {
		return err
	}
	if msg, failed := opFailed(a.body); failed {
		return connectors.Errorf(connectors.Permanent, a.status, "%s user: %s", op, msg)
	}
	return nil
}

func (c *Connector) deleteUser(ctx context.Context, ch connectors.Change) connectors.Result {
	mail := email(ch.Prev)
	if mail == "" && ch.TargetID != "" {
		out, a, err := c.call(ctx, "get user", http.MethodGet, "/users/"+url.PathEscape(ch.TargetID), nil, nil, connectors.CallDelete)
		if err != nil {
			return connectors.Result{Err: err}
		}
		if out == connectors.OK && a.status == http.StatusOK {
			mail = strings.ToLower(parseUser(a.body).Email)
		}
	}
	if mail == "" {
		return connectors.Result{} // the target never had it
	}
	return connectors.Result{Err: c.deprovision(ctx, mail)}
}

// deprovision removes the user, or disables it with on_delete: deactivate.
// 404 means already gone.
func (c *Connector) deprovision(ctx context.Context, mail string) error {
	if c.onDelete == onDeleteDisable {
		return c.userOp(ctx, "disable", mail, connectors.CallDelete)
	}
	if err := c.userOp(ctx, "remove", mail, connectors.CallDelete); err != nil {
		return err
	}
	c.forget(mail)
	return nil
}

// findUsers finds users by email. Known ids are checked with one GET each;
// the rest are found by walking the user list (SCC has no email filter),
// first among PENDING users when every wanted user was just invited.
func (c *Connector) findUsers(ctx context.Context, want map[string]bool, pendingFirst bool) (map[string]targetUser, error) {
	found := map[string]targetUser{}
	rest := map[string]bool{}
	for mail := range want {
		id := c.cached(mail)
		if id == "" {
			rest[mail] = true
			continue
		}
		out, a, err := c.call(ctx, "get user", http.MethodGet, "/users/"+url.PathEscape(id), nil, nil, connectors.CallDelete)
		if err != nil {
			return found, err
		}
		if tu := parseUser(a.body); out == connectors.OK && a.status == http.StatusOK && strings.EqualFold(tu.Email, mail) {
			found[mail] = tu
		} else {
			c.forget(mail)
			rest[mail] = true
		}
	}
	scan := func(q url.Values) error {
		return c.walk(ctx, "list users", "/users", "users", q, func(raw json.RawMessage) bool {
			tu := parseUser(raw)
			if tu.ID == "" || tu.Email == "" {
				return true
			}
			mail := strings.ToLower(tu.Email)
			c.learn(mail, tu.ID)
			if rest[mail] {
				found[mail] = tu
				delete(rest, mail)
			}
			return len(rest) > 0
		})
	}
	if len(rest) > 0 && pendingFirst {
		if err := scan(url.Values{"status": {"PENDING"}}); err != nil {
			return found, err
		}
	}
	if len(rest) > 0 {
		if err := scan(nil); err != nil {
			return found, err
		}
	}
	return found, nil
}

func (c *Connector) cached(mail string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cache[mail]
}

func (c *Connector) learn(mail, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cache[mail] = id
}

func (c *Connector) forget(mail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cache, mail)
}

// opFailed reports a 2xx operation answer that says it failed: a status
// field (top level or the first of results) other than success.
func opFailed(body []byte) (string, bool) {
	o := parseObject(body)
	if o == nil {
		return "", false
	}
	if raw, ok := o["results"]; ok {
		var rs []json.RawMessage
		if json.Unmarshal(raw, &rs) == nil && len(rs) > 0 {
			o = parseObject(rs[0])
		}
	}
	st := strings.ToUpper(o.str("status"))
	if st == "FAILED" || st == "FAILURE" || st == "ERROR" {
		return cmp.Or(o.str("message", "error", "detail"), st), true
	}
	return "", false
}

// opAnswerID reads a user id from an invite answer, if the target sends
// one (an "id" that is an email address is not a user id).
func opAnswerID(body []byte) string {
	if id := answerID(body); !strings.Contains(id, "@") {
		return id
	}
	return ""
}

func answerID(body []byte) string {
	o := parseObject(body)
	if id := o.str("id", "userId"); id != "" {
		return id
	}
	for _, k := range []string{"user", "data"} {
		if sub := parseObject(o[k]); sub != nil {
			if id := sub.str("id", "userId"); id != "" {
				return id
			}
		}
	}
	if raw, ok := o["results"]; ok {
		var rs []json.RawMessage
		if json.Unmarshal(raw, &rs) == nil && len(rs) == 1 {
			return parseObject(rs[0]).str("id", "userId")
		}
	}
	return ""
}

// statusOf is the HTTP status carried by a classified error, or 0.
func statusOf(err error) int {
	var e *connectors.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
