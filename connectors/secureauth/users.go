package secureauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

// user is a Change's mapped fields as SecureAuth sees them.
type user struct {
	id     string
	props  map[string]string // properties with a value
	active *bool             // nil: not mapped
}

func parseUser(m map[string]any) user {
	u := user{id: text(m["userId"]), props: map[string]string{}}
	for k, v := range m {
		if isProperty(k) {
			if s := text(v); s != "" {
				u.props[k] = s
			}
		}
	}
	switch v := m["active"].(type) {
	case bool:
		u.active = &v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			u.active = &b
		}
	}
	return u
}

// text renders a mapped value as the API's string.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any: // a multi-valued attribute without a filter: its first value
		if len(v) > 0 {
			return text(v[0])
		}
		return ""
	}
	return fmt.Sprint(v)
}

// diff returns the properties among keys whose value differs between
// have and want; a property want lacks is cleared with "".
func diff(keys []string, have, want map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if have[k] != want[k] {
			out[k] = want[k]
		}
	}
	return out
}

// keysOf is c.userKeys plus any property present in the maps (a mapping
// the connector was not built with still gets its changes through).
func (c *Connector) keysOf(ms ...map[string]string) []string {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, k := range c.userKeys {
		add(k)
	}
	for _, m := range ms {
		for k := range m {
			add(k)
		}
	}
	slices.Sort(keys)
	return keys
}

type createBody struct {
	UserID     string            `json:"userId"`
	Password   string            `json:"password"`
	Properties map[string]string `json:"properties"`
}

type updateBody struct {
	Properties map[string]string `json:"properties"`
}

type passwordBody struct {
	Password string `json:"password"`
}

type deleteBody struct {
	UserID               string `json:"user_id"`
	DeleteAllRelatedData bool   `json:"deleteAllRelatedData"`
	Domain               string `json:"domain"`
}

func (c *Connector) upsertUser(ctx context.Context, ch connectors.Change) connectors.Result {
	u := parseUser(ch.Fields)
	if u.id == "" {
		return connectors.Result{Err: connectors.NewPermanent("userId (mapped from userName) is empty", nil)}
	}
	switch {
	case ch.TargetID == "" && ch.MayExist:
		// A create that landed unrecorded under an earlier userId must not
		// stay behind: continue from it as a rename.
		for i := len(ch.Earlier) - 1; i >= 0; i-- {
			old := parseUser(ch.Earlier[i]).id
			if old == "" || strings.EqualFold(old, u.id) {
				continue
			}
			rep, err := c.do(ctx, call{op: "get_user", method: http.MethodGet, segs: []string{"users", old}, found: true})
			if notFound(rep) {
				continue
			}
			if err != nil {
				return connectors.Result{Err: err}
			}
			return c.rename(ctx, old, u)
		}
		return c.create(ctx, u)
	case ch.TargetID == "":
		return c.create(ctx, u)
	case !strings.EqualFold(ch.TargetID, u.id):
		return c.rename(ctx, ch.TargetID, u)
	case ch.Prev == nil:
		// The target has it but we do not know what it holds: compare
		// with the target itself.
		return c.sync(ctx, ch.TargetID, u)
	}
	prev := parseUser(ch.Prev)
	if changed := diff(c.keysOf(prev.props, u.props), prev.props, u.props); len(changed) > 0 {
		rep, err := c.do(ctx, call{op: "update_user", method: http.MethodPut, segs: []string{"users", ch.TargetID}, body: updateBody{changed}})
		if err != nil && c.vanished(ctx, rep, ch.TargetID) {
			// Removed behind our back: provision it again.
			return c.create(ctx, u)
		}
		if err != nil {
			return connectors.Result{Err: err}
		}
	}
	return connectors.Result{TargetID: ch.TargetID, Err: c.activation(ctx, ch.TargetID, prev.active, u.active)}
}

// create provisions u with a fresh random password, adopting an existing
// account of the same userId.
func (c *Connector) create(ctx context.Context, u user) connectors.Result {
	body := createBody{UserID: u.id, Password: newPassword(u.id), Properties: u.props}
	rep, err := c.do(ctx, call{op: "create_user", method: http.MethodPost, segs: []string{"users", ""}, body: body, kind: connectors.CallCreate})
	if errors.Is(err, errAdopt) {
		return c.sync(ctx, u.id, u)
	}
	if err != nil && rep != nil && strings.Contains(strings.ToLower(rep.Message), "duplicate email") {
		// A target may check emails before userIds: a create whose first
		// answer was lost then hears "Duplicate email." about the account
		// it made. Adopt that account; another user's email stays an error.
		got, gerr := c.do(ctx, call{op: "get_user", method: http.MethodGet, segs: []string{"users", u.id}, found: true})
		switch {
		case gerr == nil && got != nil:
			return c.sync(ctx, u.id, u)
		case gerr != nil && !notFound(got) && connectors.ClassOf(gerr) == connectors.Transient:
			return connectors.Result{Err: gerr} // ask again later
		}
	}
	if err != nil {
		return connectors.Result{Err: err}
	}
	// A new account's password is random and unknown already, but an
	// inactive user is scrambled as a deactivation would be, so the target
	// holds the same whether or not the create and the deactivation were
	// coalesced into one change.
	return connectors.Result{TargetID: u.id, Err: c.activation(ctx, u.id, nil, u.active)}
}

// sync makes an existing account hold u's properties (adoption, or a
// mapping without history), and scrambles it when u is inactive.
func (c *Connector) sync(ctx context.Context, userID string, u user) connectors.Result {
	rep, err := c.do(ctx, call{op: "get_user", method: http.MethodGet, segs: []string{"users", userID}, found: true})
	if notFound(rep) {
		if strings.EqualFold(userID, u.id) {
			return c.create(ctx, u)
		}
		return connectors.Result{Err: connectors.NewTransient("user reported as duplicate but not found", nil)}
	}
	if err != nil {
		return connectors.Result{Err: err}
	}
	have := map[string]string{}
	for k, p := range rep.Properties {
		if isProperty(k) {
			have[k] = text(p.Value)
		}
	}
	// Only mapped properties are ours to set or clear.
	if changed := diff(c.keysOf(u.props), have, u.props); len(changed) > 0 {
		if _, err := c.do(ctx, call{op: "update_user", method: http.MethodPut, segs: []string{"users", userID}, body: updateBody{changed}}); err != nil {
			return connectors.Result{Err: err}
		}
	}
	id := userID
	if rep.UserID != "" {
		id = rep.UserID
	}
	var aerr error
	if u.active != nil && !*u.active {
		aerr = c.activation(ctx, id, nil, u.active)
	}
	return connectors.Result{TargetID: id, Err: aerr}
}

// rename: SecureAuth keys users by userId and cannot rename, so the user
// is created under the new userId, joins the old one's groups, and the old
// account is deprovisioned as on delete.
func (c *Connector) rename(ctx context.Context, oldID string, u user) connectors.Result {
	res := c.create(ctx, u)
	if res.Err != nil && connectors.ClassOf(res.Err) != connectors.Unsupported {
		return res
	}
	old, err := c.do(ctx, call{op: "get_user", method: http.MethodGet, segs: []string{"users", oldID}, found: true})
	if notFound(old) {
		return res
	}
	if err != nil {
		return connectors.Result{Err: err}
	}
	var groups []string
	for _, dn := range old.Groups {
		if cn := commonName(dn); cn != "" {
			groups = append(groups, cn)
		}
	}
	if len(groups) > 0 {
		rep, err := c.do(ctx, call{op: "associate_user_groups", method: http.MethodPost, segs: []string{"users", u.id, "groups"}, body: groupNamesBody{groups}})
		failed := failures(rep)
		if err != nil && len(failed) == 0 {
			return connectors.Result{Err: err}
		}
		joined := make([]string, 0, len(groups))
		for _, g := range groups {
			if !failed[strings.ToLower(g)] {
				joined = append(joined, g)
			}
		}
		c.members.rename(oldID, u.id, joined)
		if len(failed) > 0 {
			return connectors.Result{Err: connectors.Errorf(connectors.Permanent, rep.HTTP,
				"renamed user could not join %d of its %d groups: %s", len(failed), len(groups), rep.Message)}
		}
	}
	if err := c.deprovision(ctx, oldID); err != nil {
		return connectors.Result{Err: err}
	}
	return res
}

// activation applies a change of active: SecureAuth has no disable, so
// deactivation scrambles the password; it has no enable either.
func (c *Connector) activation(ctx context.Context, userID string, was, now *bool) error {
	if now == nil {
		return nil
	}
	wasActive := was == nil || *was
	switch {
	case wasActive && !*now:
		if c.onDelete == OnDeleteNone {
			return connectors.NewUnsupported("SecureAuth cannot disable a user (on_delete is none, so the account was left as is)")
		}
		return c.scramble(ctx, userID)
	case !wasActive && *now:
		return connectors.NewUnsupported("SecureAuth cannot enable a user: its password stays scrambled until an administrator or the user resets it")
	}
	return nil
}

// deprovision applies on_delete to a user; a user already gone is done.
func (c *Connector) deprovision(ctx context.Context, userID string) error {
	if userID == "" { // the target never had it
		return nil
	}
	switch c.onDelete {
	case OnDeleteNone:
		return nil
	case OnDeleteDelete:
		_, err := c.do(ctx, call{op: "delete_user", method: http.MethodDelete, segs: []string{"users", ""},
			body: deleteBody{UserID: userID, DeleteAllRelatedData: true, Domain: c.domain}, kind: connectors.CallDelete})
		return err
	}
	return c.scramble(ctx, userID)
}

// scramble resets the password to a random one nobody knows; a user the
// target does not hold is done.
func (c *Connector) scramble(ctx context.Context, userID string) error {
	rep, err := c.do(ctx, call{op: "scramble_password", method: http.MethodPost, segs: []string{"users", userID, "resetpwd"},
		body: passwordBody{newPassword(userID)}, kind: connectors.CallDelete})
	if err != nil && c.vanished(ctx, rep, userID) {
		return nil
	}
	return err
}

// vanished reports whether a failed answer about userID means the target
// does not hold it. "User Id was not found" says so; the guide also lists
// {"status":"error","message":"Not_Found"} among the update answers and
// {"status":"failed","message":""} as the reset's failure, which name no
// cause: for those a GET asks (TestGoneUserVagueAnswers).
func (c *Connector) vanished(ctx context.Context, rep *reply, userID string) bool {
	if notFound(rep) {
		return true
	}
	if rep == nil {
		return false
	}
	vague := (rep.Status == "error" && strings.EqualFold(strings.ReplaceAll(rep.Message, " ", "_"), "not_found")) ||
		((rep.Status == "failed" || rep.Status == "failure") && strings.TrimSpace(rep.Message) == "")
	if !vague {
		return false
	}
	got, _ := c.do(ctx, call{op: "get_user", method: http.MethodGet, segs: []string{"users", userID}, found: true})
	return notFound(got)
}

// commonName is the first RDN's value of a group DN (CN=Sales\, EMEA,OU=…),
// unescaped; a value that is not a DN is taken as the name.
func commonName(dn string) string {
	v, ok := strings.CutPrefix(dn, "CN=")
	if !ok {
		if v, ok = strings.CutPrefix(dn, "cn="); !ok {
			return dn
		}
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if i+1 < len(v) {
				i++
				b.WriteByte(v[i])
			}
		case ',':
			return b.String()
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}
