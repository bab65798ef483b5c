package scc

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

// maxUsersPerPatch is the most operations one bulk PATCH /users carries:
// the contract decides none, so the admin-group limit (100) is used.
const maxUsersPerPatch = 100

// userOpBody is one item of the bulk PATCH /users; names only on invite.
type userOpBody struct {
	Operation string `json:"operation"`
	Email     string `json:"email"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// bulkBody is the SDK's bulk form, client.users.patch(org_id, users=[…]).
type bulkBody struct {
	Users []userOpBody `json:"users"`
}

// nameBody is PUT /users/{id}: only the names that changed.
type nameBody struct {
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// userWork is what one user change still needs from SCC. Everything but a
// name change goes by email in bulk: steps run one per round, each round
// one PATCH /users (per 100) for every user of the batch, so a batch of
// 100 new users is one request. A name change needs the user's SCC id,
// resolved at the end for every user of the batch that waits for one,
// with at most one walk of the user list.
type userWork struct {
	index  int
	scimID string
	mail   string
	fields map[string]any
	steps  []userOpBody
	names  nameBody // PUT /users/{id} still to send
	id     string   // the SCC id, when known (a mapping from before ids were emails)
	// adopted: the invite found the user already there; its names and
	// status are brought in line once the user list shows them.
	adopted bool
	// verify: what SCC holds is unknown (Change.Prev is nil: an earlier
	// attempt may have landed, or it was queued before a restart). Like an
	// adopted user, its names and status are compared with the user list
	// (one walk for the batch) instead of a name PUT per user sent blindly;
	// unlike one, a user the list lacks is invited again.
	verify    bool
	reinvited bool // a step found the user gone and invited it again
	invited   bool // an invite of this address succeeded
	err       error
}

// targetIDOf is what a user's mapping records: its email (lower case).
// SCC writes users by email, so the bridge never needs SCC's id except for
// a name change (PUT /users/{id}), when it is looked up.
func targetIDOf(mail string) string { return mail }

// isEmailID reports whether a recorded target id is an email (mappings
// made before ids were emails hold SCC's own id).
func isEmailID(id string) bool { return strings.Contains(id, "@") }

// planUser turns one user change into its steps (nil when nothing is
// left to do, or r carries the outcome already).
// touched are the addresses the batch's user changes name.
func (c *Connector) planUser(ctx context.Context, ch connectors.Change, touched map[string]bool, r *connectors.Result) *userWork {
	if ch.Op == connectors.OpDelete {
		mail := email(ch.Prev)
		if mail == "" && isEmailID(ch.TargetID) {
			mail = strings.ToLower(ch.TargetID)
		}
		if mail == "" && ch.TargetID != "" {
			// A mapping from before ids were emails, without fields.
			out, a, err := c.call(ctx, "get user", http.MethodGet, "/users/"+url.PathEscape(ch.TargetID), nil, nil, connectors.CallDelete)
			if err != nil {
				r.Err = err
				return nil
			}
			if out == connectors.OK && a.status == http.StatusOK {
				mail = strings.ToLower(parseUser(a.body).Email)
			}
		}
		if mail == "" {
			return nil // the target never had it
		}
		return &userWork{mail: mail, steps: []userOpBody{c.deprovisionOp(mail)}}
	}
	mail := email(ch.Fields)
	if mail == "" || !validEmail(mail) {
		// Caught here, so one bad address does not fail a bulk call.
		r.TargetID, r.Err = ch.TargetID, connectors.NewPermanent("user has no valid email (the mapped field email is "+strconvQuote(mail)+")", nil)
		return nil
	}
	w := &userWork{scimID: ch.ID, mail: mail, fields: ch.Fields}
	if ch.TargetID != "" && !isEmailID(ch.TargetID) {
		w.id = ch.TargetID
	}
	old := email(ch.Prev)
	if old == "" && isEmailID(ch.TargetID) {
		old = strings.ToLower(ch.TargetID)
	}
	switch {
	case ch.TargetID == "" && ch.MayExist:
		// An invite may have landed unrecorded under an address the user
		// had earlier in this run: SCC cannot change an email, so that
		// user is deprovisioned (as an email change does) before the
		// invite, unless another change of the batch names the address
		// (one request carries an address once).
		for _, f := range ch.Earlier {
			if old := email(f); old != "" && old != mail && validEmail(old) && !touched[old] &&
				!c.ownedByAnother(old, ch.ID) &&
				!slices.ContainsFunc(w.steps, func(s userOpBody) bool { return s.Email == old }) {
				w.steps = append(w.steps, c.deprovisionOp(old))
			}
		}
		w.steps = append(w.steps, inviteSteps(mail, ch.Fields)...)
	case ch.TargetID == "":
		w.steps = inviteSteps(mail, ch.Fields)
	case old != "" && old != mail:
		// SCC has no email update: deprovision the old address (as the
		// on_delete setting says), then invite the new one.
		w.id = ""
		w.steps = append([]userOpBody{c.deprovisionOp(old)}, inviteSteps(mail, ch.Fields)...)
	case ch.Prev == nil:
		w.verify = true
	default:
		if v := str(ch.Fields, fieldFirstName); v != "" && v != str(ch.Prev, fieldFirstName) {
			w.names.FirstName = v
		}
		if v := str(ch.Fields, fieldLastName); v != "" && v != str(ch.Prev, fieldLastName) {
			w.names.LastName = v
		}
		if active(ch.Prev) != active(ch.Fields) {
			w.steps = []userOpBody{activeOp(mail, active(ch.Fields))}
		}
	}
	return w
}

// inviteSteps create a user: an invite (both names required; a missing
// one becomes the address's local part rather than never reaching SCC),
// then a disable when the user is inactive.
func inviteSteps(mail string, fields map[string]any) []userOpBody {
	first, last := str(fields, fieldFirstName), str(fields, fieldLastName)
	local, _, _ := strings.Cut(mail, "@")
	if first == "" {
		first = local
	}
	if last == "" {
		last = local
	}
	steps := []userOpBody{{Operation: "invite", Email: mail, FirstName: first, LastName: last}}
	if !active(fields) {
		steps = append(steps, activeOp(mail, false))
	}
	return steps
}

// validEmail is the shape SCC accepts: something@something, no spaces.
func validEmail(e string) bool {
	at := strings.IndexByte(e, '@')
	return at > 0 && at < len(e)-1 && !strings.ContainsAny(e, " \t\r\n")
}

func strconvQuote(s string) string { return strconv.Quote(s) }

func activeOp(mail string, on bool) userOpBody {
	if on {
		return userOpBody{Operation: "enable", Email: mail}
	}
	return userOpBody{Operation: "disable", Email: mail}
}

// deprovisionOp removes the user, or disables it with on_delete: deactivate.
func (c *Connector) deprovisionOp(mail string) userOpBody {
	if c.onDelete == onDeleteDisable {
		return userOpBody{Operation: "disable", Email: mail}
	}
	return userOpBody{Operation: "remove", Email: mail}
}

// applyUsers delivers a batch's user changes: bulk rounds by email, then
// the id lookups and name PUTs, then what those found (a user gone
// behind the bridge's back is invited again).
func (c *Connector) applyUsers(ctx context.Context, work []*userWork, results []connectors.Result) {
	c.rounds(ctx, work)
	var wait []*userWork
	for _, w := range work {
		if w.err == nil && (w.adopted || w.verify || (w.names != nameBody{})) {
			wait = append(wait, w)
		}
	}
	if len(wait) > 0 {
		c.resolveAndRename(ctx, wait)
		c.rounds(ctx, wait)
	}
	for _, w := range work {
		r := &results[w.index]
		r.Err = w.err
		if w.fields != nil && w.err == nil {
			c.own(w.mail, w.scimID)
		}
		switch {
		case w.fields == nil:
		case w.err == nil || w.invited || w.adopted:
			r.TargetID = targetIDOf(w.mail)
		case w.id != "" && !w.reinvited:
			r.TargetID = w.id // keep the old mapping on failure
		}
		// Else the change failed before SCC held the user under this
		// address: no target id was learned. (One derived from the email
		// would be recorded as the mapping, and a group's add would then
		// go ahead of the invite and be refused: "user not found".)
	}
}

// rounds sends each pending user's next step, all users together in bulk
// PATCHes, until no steps are left. A throttled or failed call fails the
// users it carried (a 429 also the users not sent yet).
func (c *Connector) rounds(ctx context.Context, work []*userWork) {
	// A user needs at most: its planned steps (deprovisions, invite,
	// disable), then a re-invite and a disable.
	limit := 8
	for _, w := range work {
		limit = max(limit, len(w.steps)+3)
	}
	for range limit {
		var due []*userWork
		for _, w := range work {
			if w.err == nil && len(w.steps) > 0 {
				due = append(due, w)
			}
		}
		if len(due) == 0 {
			return
		}
		for from := 0; from < len(due); from += maxUsersPerPatch {
			part := due[from:min(from+maxUsersPerPatch, len(due))]
			if err := c.bulk(ctx, part); isThrottle(err) {
				for _, w := range due[from:] {
					if w.err == nil {
						w.err = err
					}
				}
				return
			}
		}
	}
	for _, w := range work {
		if w.err == nil && len(w.steps) > 0 {
			w.err = connectors.NewTransient("update user: too many steps", nil)
		}
	}
}

// bulk sends the next step of every user in part as one PATCH /users and
// applies each item's result to its user. One step goes alone in the
// contract's form, one object; more go in the SDK's bulk form, and when
// the target refuses that form or answers it without per-item results
// (the contract decides neither), each step is sent alone instead.
func (c *Connector) bulk(ctx context.Context, part []*userWork) error {
	if len(part) == 1 {
		return c.oneByOne(ctx, part)
	}
	body := bulkBody{Users: make([]userOpBody, len(part))}
	for i, w := range part {
		body.Users[i] = w.steps[0]
	}
	_, a, err := c.call(ctx, "patch users", http.MethodPatch, "/users", nil, body, connectors.CallOther)
	if err != nil {
		if refusedWhole(err) {
			// The bulk form refused, or one item made the whole request
			// fail (409, 404, 400): only one operation per request tells
			// which item means what.
			c.log.Warn().Int("status", statusOf(err)).Msg("scc: bulk PATCH /users refused as a whole; sending its operations one by one")
			return c.oneByOne(ctx, part)
		}
		for _, w := range part {
			w.err = err
		}
		return err
	}
	items, err := bulkResults(a.body, body.Users)
	if err != nil {
		// A success without per-item results: some items may have landed,
		// and sending them again is safe (an invite that landed answers
		// 409 and is adopted, a remove 404, enable and disable repeat).
		c.log.Warn().Err(err).Msg("scc: bulk PATCH /users answered without per-item results; sending its operations one by one")
		return c.oneByOne(ctx, part)
	}
	for i, w := range part {
		c.stepDone(w, items[i], a.status)
	}
	return nil
}

// refusedWhole says whether a PATCH /users failed as a whole with a
// status an operation alone would mean something by (a 4xx other than
// 401 and 429: those are about the request, not its items).
func refusedWhole(err error) bool {
	st := statusOf(err)
	return connectors.ClassOf(err) == connectors.Permanent && st >= 400 && st < 500 &&
		st != http.StatusUnauthorized && st != http.StatusTooManyRequests
}

// oneByOne sends the next step of each user in part as one PATCH /users
// of one object, the contract's form, where the answer's status is the
// operation's: 409 (an invite of an address SCC has) and 404 (an address
// it does not have) mean what the contract says. A throttled call stops
// the part (its unsent users fail with it); another transient failure
// fails its user only.
func (c *Connector) oneByOne(ctx context.Context, part []*userWork) error {
	for i, w := range part {
		_, a, err := c.call(ctx, "patch user", http.MethodPatch, "/users", nil, w.steps[0], connectors.CallOther)
		var item bulkItem
		switch {
		case err == nil:
			item = parseItem(a.body)
		case refusedWhole(err):
			item = bulkItem{code: statusOf(err), message: errMsg(err)} // redacted by call
		case isThrottle(err):
			for _, w := range part[i:] {
				w.err = err
			}
			return err
		default:
			w.err = err
			continue
		}
		c.stepDone(w, item, a.status)
	}
	return nil
}

// errMsg is a classified error's message without its class.
func errMsg(err error) string {
	var e *connectors.Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}

// bulkItem is one item of a bulk answer's results array, or the answer
// to one operation sent alone.
type bulkItem struct {
	ok      bool
	code    int // an HTTP-like status the item carries (409, 404), 0 if none
	message string
}

// parseItem reads one operation's result {operation?, email?, status?,
// statusCode?, message?}: no status, SUCCESS, OK or a 2xx is done.
// Codes are read from statusCode/code or a numeric status; NOT_FOUND and
// CONFLICT-like statuses count as 404 and 409.
func parseItem(raw []byte) bulkItem {
	o := parseObject(raw)
	st := strings.ToUpper(o.str("status"))
	res := bulkItem{ok: st == "" || st == "SUCCESS" || st == "OK" || (len(st) == 3 && st[0] == '2'),
		message: o.str("message", "error", "detail")}
	if n, err := strconv.Atoi(cmp.Or(o.str("statusCode", "code"), st)); err == nil {
		res.code = n
		res.ok = res.ok && n >= 200 && n < 300
	}
	switch strings.ReplaceAll(st, "_", "") {
	case "NOTFOUND":
		res.code = http.StatusNotFound
	case "CONFLICT", "ALREADYEXISTS", "EXISTS", "DUPLICATE":
		res.code = http.StatusConflict
	}
	if res.message == "" {
		res.message = st
	}
	return res
}

// bulkResults maps the answer's results array onto the items sent: by
// email and operation, else (no email in the results) by position when
// the counts match. An item the answer does not mention is an error: the
// answer is not what the contract promises.
func bulkResults(body []byte, sent []userOpBody) ([]bulkItem, error) {
	var env struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Results == nil {
		return nil, errors.New("the answer carries no results array")
	}
	byKey := map[string]bulkItem{}
	var inOrder []bulkItem
	for _, raw := range env.Results {
		o := parseObject(raw)
		res := parseItem(raw)
		inOrder = append(inOrder, res)
		if mail := strings.ToLower(o.str("email", "id")); mail != "" {
			byKey[strings.ToLower(o.str("operation"))+" "+mail] = res
			if _, dup := byKey[mail]; !dup {
				byKey[mail] = res
			}
		}
	}
	out := make([]bulkItem, len(sent))
	for i, s := range sent {
		mail := strings.ToLower(s.Email)
		if r, ok := byKey[s.Operation+" "+mail]; ok {
			out[i] = r
		} else if r, ok := byKey[mail]; ok {
			out[i] = r
		} else if len(byKey) == 0 && len(inOrder) == len(sent) {
			out[i] = inOrder[i]
		} else {
			return nil, errors.New("the results array has no item for " + s.Operation + " " + mail)
		}
	}
	return out, nil
}

// stepDone applies one item's result to its user: the step is done, or
// what its failure means (already there, already gone, gone behind the
// bridge's back) decides the next steps; any other failure fails only
// this user's change.
func (c *Connector) stepDone(w *userWork, r bulkItem, status int) {
	step := w.steps[0]
	w.steps = w.steps[1:]
	msg := strings.ToLower(r.message)
	notFound := r.code == http.StatusNotFound || strings.Contains(msg, "not found") || strings.Contains(msg, "not exist") || strings.Contains(msg, "no such")
	if r.code != 0 && !r.ok {
		status = r.code
	}
	switch {
	case r.ok:
		if step.Operation == "remove" {
			c.forget(step.Email)
		}
		if step.Operation == "invite" && step.Email == w.mail {
			w.invited = true
		}
	case step.Operation == "invite" && (r.code == http.StatusConflict || strings.Contains(msg, "exist") || strings.Contains(msg, "duplicate")):
		// Already there (a crash hid an invite that landed, or someone
		// invited it by hand): adopt it and bring it in line.
		w.adopted = true
		w.steps = nil
	case (step.Operation == "remove" || step.Operation == "disable") && step.Email != w.mail && notFound,
		(step.Operation == "remove" || step.Operation == "disable") && w.fields == nil && notFound:
		// Deprovisioning what is already gone.
		c.forget(step.Email)
	case (step.Operation == "enable" || step.Operation == "disable") && notFound && !w.reinvited:
		// Removed in SCC behind the bridge's back: invite it again.
		c.forget(step.Email)
		w.reinvited, w.id, w.names = true, "", nameBody{} // the invite carries the names
		w.steps = inviteSteps(w.mail, w.fields)
	default:
		w.err = connectors.Errorf(connectors.Permanent, status, "%s user: %s", step.Operation, r.message)
	}
}

// resolveAndRename finds the SCC ids of the users waiting for one (known
// ones from the cache, the rest in one walk of the user list for all of
// them), then sends each name change and brings adopted users in line.
func (c *Connector) resolveAndRename(ctx context.Context, wait []*userWork) {
	rest := map[string]bool{}
	found := map[string]targetUser{}
	// Users to compare with SCC: one GET each when their ids are known and
	// they are few, else one walk of the list for all of them (a restart
	// leaves a backlog of changes whose Prev is unknown).
	compared := 0
	for _, w := range wait {
		if w.adopted || w.verify {
			compared++
		}
	}
	for _, w := range wait {
		compare := w.adopted || w.verify
		if w.id == "" && !compare {
			w.id = c.cached(w.mail)
		}
		if compare && compared < maxGetsForCompare {
			// An adopted user's names and status are needed: one GET
			// when its id is known, else the walk.
			if id := c.cached(w.mail); id != "" {
				out, a, err := c.call(ctx, "get user", http.MethodGet, "/users/"+url.PathEscape(id), nil, nil, connectors.CallDelete)
				if err != nil {
					w.err = err
					continue
				}
				if tu := parseUser(a.body); out == connectors.OK && a.status == http.StatusOK && strings.EqualFold(tu.Email, w.mail) {
					found[w.mail] = tu
					continue
				}
				c.forget(w.mail)
			}
		}
		if w.id == "" || compare {
			rest[w.mail] = true
		}
	}
	if len(rest) > 0 {
		err := c.walk(ctx, "list users", "/users", "users", nil, func(raw json.RawMessage) bool {
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
		if err != nil {
			for _, w := range wait {
				if _, ok := found[w.mail]; !ok && (w.id == "" || w.adopted || w.verify) {
					w.err = err
				}
			}
		}
	}
	for _, w := range wait {
		if w.err != nil {
			continue
		}
		if tu, ok := found[w.mail]; ok && w.id == "" {
			w.id = tu.ID
		}
		if tu, ok := found[w.mail]; w.adopted || (w.verify && ok) {
			if !ok {
				w.err = connectors.NewTransient("invite user: "+w.mail+" already exists but is not listed", nil)
				continue
			}
			w.id = tu.ID
			w.names = nameBody{}
			if v := str(w.fields, fieldFirstName); v != "" && v != tu.FirstName {
				w.names.FirstName = v
			}
			if v := str(w.fields, fieldLastName); v != "" && v != tu.LastName {
				w.names.LastName = v
			}
			if want, disabled := active(w.fields), tu.Status == "DISABLE"; want == disabled {
				w.steps = append(w.steps, activeOp(w.mail, want))
			}
		}
		if w.id == "" {
			if w.reinvited {
				continue // just invited with the current names
			}
			// Not in SCC (removed behind the bridge's back): invite it again.
			w.reinvited, w.steps = true, inviteSteps(w.mail, w.fields)
			continue
		}
		if w.names == (nameBody{}) {
			continue
		}
		_, _, err := c.call(ctx, "update user", http.MethodPut, "/users/"+url.PathEscape(w.id), nil, w.names, connectors.CallOther)
		switch {
		case statusOf(err) == http.StatusNotFound && !w.reinvited:
			c.forget(w.mail)
			w.reinvited, w.id, w.steps = true, "", inviteSteps(w.mail, w.fields)
		case err != nil:
			w.err = err
		}
	}
}

// maxGetsForCompare: from this many users to compare in one batch, a walk
// of the user list (100 a page) is cheaper than a GET each.
const maxGetsForCompare = 10

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

// uncache drops the SCC id remembered for an address.
func (c *Connector) uncache(mail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cache, mail)
}

// forget drops what is known of an address that is gone (or about to
// be invited again): its SCC id and its owner.
func (c *Connector) forget(mail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cache, mail)
	delete(c.owners, mail)
}

func (c *Connector) own(mail, scimID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owners[mail] = scimID
}

// ownedByAnother reports whether this process delivered address mail
// for a SCIM user other than scimID.
func (c *Connector) ownedByAnother(mail, scimID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.owners[mail]
	return o != "" && o != scimID
}

// statusOf is the HTTP status carried by a classified error, or 0.
func statusOf(err error) int {
	var e *connectors.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
