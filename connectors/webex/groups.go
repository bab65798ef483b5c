package webex

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

type wireGroup struct {
	Schemas     []string     `json:"schemas"`
	DisplayName string       `json:"displayName"`
	ExternalID  string       `json:"externalId,omitempty"`
	Members     []wireMember `json:"members,omitempty"`
}

type wireMember struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

func groupOps(prev, cur map[string]any) []patchOp {
	var ops []patchOp
	for _, f := range []string{"displayName", "externalId"} {
		old, now := text(prev, f), text(cur, f)
		switch {
		case prev != nil && old == now, prev == nil && now == "":
		case now == "":
			ops = append(ops, patchOp{Op: "remove", Path: f})
		default:
			ops = append(ops, patchOp{Op: "replace", Path: f, Value: now})
		}
	}
	return ops
}

// applyGroup creates, updates or deletes one group, with its member delta.
func (c *Connector) applyGroup(ctx context.Context, ch connectors.Change) connectors.Result {
	id := ch.TargetID
	if ch.Op == connectors.OpDelete {
		if id == "" {
			return connectors.Result{}
		}
		_, err := c.gdo(ctx, call{op: "group.delete", method: http.MethodDelete, path: "/Groups/" + url.PathEscape(id), kind: connectors.CallDelete}, nil)
		return connectors.Result{Err: err}
	}
	if ch.Fields == nil {
		return connectors.Result{TargetID: id, Err: permanentf("group upsert without mapped fields")}
	}
	name := text(ch.Fields, "displayName")
	if name == "" {
		return connectors.Result{TargetID: id, Err: permanentf("group has no displayName")}
	}

	memberErrs := map[string]error{}
	var adds, removes []connectors.Member
	for _, m := range ch.MembersAdded {
		if m.TargetID == "" {
			memberErrs[m.ID] = permanentf("member %s has no Webex id", m.ID)
			continue
		}
		adds = append(adds, m)
	}
	for _, m := range ch.MembersRemoved {
		if m.TargetID != "" { // else Webex never had it
			removes = append(removes, m)
		}
	}

	prev := ch.Prev
	// An unacknowledged group the target may hold members of that SCIM
	// does not: adopted (by externalId or after a 409), or a retry.
	converge := ch.TargetID != "" && ch.Prev == nil && ch.Members != nil
	if id == "" && ch.MayExist {
		// The create may have landed before a crash or a failed member
		// call: find it by what the bridge wrote into it, not by a
		// displayName that may have changed since.
		found, err := c.lookupExternal(ctx, "group.lookup", "/Groups", ch.Fields)
		if err != nil {
			return connectors.Result{Err: err, MemberErrors: nilIfEmpty(memberErrs)}
		}
		if found != "" {
			id, prev, converge = found, nil, true
		}
	}
	if id == "" {
		var err error
		if id, adds, prev, err = c.createOrAdopt(ctx, ch.Fields, adds); err != nil {
			return connectors.Result{Err: err, MemberErrors: nilIfEmpty(memberErrs)}
		}
		if prev != nil {
			removes = nil // created: it has no one to remove
		} else {
			converge = true // adopted after a 409
		}
	}
	if converge {
		var err error
		if adds, removes, err = c.convergeMembers(ctx, id, ch, adds, removes); err != nil {
			// The id is known: the retry updates this group, never a new one.
			return connectors.Result{TargetID: id, Err: err, MemberErrors: nilIfEmpty(memberErrs)}
		}
	}
	err := c.patchGroup(ctx, id, groupOps(prev, ch.Fields), adds, removes, memberErrs)
	if notFound(err) && ch.TargetID != "" {
		// Deleted in Webex behind the bridge's back: create it again. It
		// comes back bare: the dispatcher sees the new id and sends every
		// member the group has now, not only this change's delta.
		c.log.Warn().Str("op", "group.recreate").Str("target_id", ch.TargetID).Msg("Webex no longer has the group: creating it again")
		if id, _, prev, err = c.createOrAdopt(ctx, ch.Fields, nil); err != nil {
			return connectors.Result{Err: err, MemberErrors: nilIfEmpty(memberErrs)}
		}
		clear(memberErrs)
		err = c.patchGroup(ctx, id, groupOps(prev, ch.Fields), nil, nil, memberErrs)
	}
	return connectors.Result{TargetID: id, Err: err, MemberErrors: nilIfEmpty(memberErrs)}
}

// lookupExternal finds the resource whose externalId is the mapped one
// ("" when the mapping writes none, or nothing has it).
func (c *Connector) lookupExternal(ctx context.Context, op, path string, f map[string]any) (string, error) {
	ext := text(f, "externalId")
	if ext == "" {
		return "", nil
	}
	id, err := c.findOne(ctx, op, path, "externalId", ext)
	var e *connectors.Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest {
		// The target cannot filter on externalId (the vendor's documents
		// show userName and displayName filters only): create, and a 409
		// adopts by userName or displayName. Only a rename since the lost
		// create goes unnoticed, as it would without this lookup.
		c.log.Warn().Str("op", op).Err(err).Msg("lookup by externalId refused; relying on the create's 409")
		return "", nil
	}
	if err == nil && id != "" {
		c.log.Info().Str("op", op).Str("target_id", id).Msg("found an earlier create by externalId")
	}
	return id, err
}

// convergeMembers makes an adopted (or not yet acknowledged) group's
// member delta bring it to exactly SCIM's membership: it reads the
// group's members once and removes those SCIM does not have, and skips
// adds the group already has. Without SCIM's whole membership
// (ch.Members nil) it keeps the change's own removals: a SCIM removal is
// never dropped because the group was adopted.
func (c *Connector) convergeMembers(ctx context.Context, id string, ch connectors.Change, adds, removes []connectors.Member) ([]connectors.Member, []connectors.Member, error) {
	if ch.Members == nil {
		return adds, removes, nil
	}
	cur, err := c.Members(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	has := map[string]bool{}
	for _, t := range cur {
		has[t] = true
	}
	want := map[string]bool{}
	for _, m := range ch.Members {
		want[m.TargetID] = true
	}
	for _, m := range adds {
		want[m.TargetID] = true
	}
	scimID := map[string]string{}
	for _, m := range removes {
		scimID[m.TargetID] = m.ID
	}
	var toAdd, toRemove []connectors.Member
	for _, m := range adds {
		if !has[m.TargetID] {
			toAdd = append(toAdd, m)
		}
	}
	for _, t := range cur {
		if want[t] {
			continue
		}
		who := scimID[t]
		if who == "" {
			who = "webex:" + t // a member SCIM never had
		}
		toRemove = append(toRemove, connectors.Member{ID: who, TargetID: t})
	}
	if len(toRemove) > 0 {
		c.log.Info().Str("op", "group.converge").Str("target_id", id).Int("removed", len(toRemove)).
			Msg("removing members SCIM does not have from an adopted group")
	}
	return toAdd, toRemove, nil
}

// createOrAdopt creates the group with its first members, or adopts the
// Webex group of the same displayName after a 409. It returns the id, the
// members still to add, and the fields the target now holds (prev: the
// created ones, or nil for an adopted group, so every field is written).
func (c *Connector) createOrAdopt(ctx context.Context, f map[string]any, adds []connectors.Member) (string, []connectors.Member, map[string]any, error) {
	id, rest, err := c.createGroup(ctx, f, adds)
	if err != nil || id != "" {
		return id, rest, f, err
	}
	name := text(f, "displayName")
	if id, err = c.findOne(ctx, "group.lookup", "/Groups", "displayName", name); err != nil {
		return "", rest, nil, err
	}
	if id == "" {
		return "", rest, nil, permanentf("create answered 409 but no group has displayName %q", name)
	}
	c.log.Info().Str("op", "group.adopt").Str("target_id", id).Msg("adopted existing Webex group")
	return id, rest, nil, nil
}

// createGroup POSTs the group with its first chunk of members and returns
// its id ("" after a 409: the caller adopts) and the members still to add.
func (c *Connector) createGroup(ctx context.Context, f map[string]any, adds []connectors.Member) (string, []connectors.Member, error) {
	first := adds[:min(len(adds), c.memberChunk)]
	body := wireGroup{Schemas: []string{schemaGroup}, DisplayName: text(f, "displayName"), ExternalID: text(f, "externalId")}
	for _, m := range first {
		body.Members = append(body.Members, wireMember{Value: m.TargetID, Type: "user"})
	}
	var created idOnly
	cl := call{op: "group.create", method: http.MethodPost, path: "/Groups", body: body, kind: connectors.CallCreate}
	outcome, err := c.gdo(ctx, cl, &created)
	if err != nil && isPermanent(err) && len(first) > 0 {
		// A member Webex rejects must not block the group: create it bare
		// and add the members one chunk at a time, which finds the bad one.
		body.Members = nil
		cl.body = body
		outcome, err = c.gdo(ctx, cl, &created)
		first = nil
	}
	switch {
	case err != nil:
		return "", adds, err
	case outcome == connectors.Adopt:
		return "", adds, nil
	case created.ID == "":
		return "", adds, connectors.NewTransient("group created but the answer has no id", nil)
	}
	return created.ID, adds[len(first):], nil
}

// unit is one logical part of a group PATCH: the attribute operations, or
// one member's add or remove.
type unit struct {
	fields []patchOp
	member *connectors.Member
	remove bool
}

// patchGroup sends the attribute changes and member delta in PATCHes of at
// most memberChunk members. A PATCH Webex rejects as a whole is retried
// unit by unit, so one bad member is reported alone (memberErrs) and the
// others land. The error is the attribute change's, or a transient one.
func (c *Connector) patchGroup(ctx context.Context, id string, fieldOps []patchOp, adds, removes []connectors.Member, memberErrs map[string]error) error {
	var units []unit
	if len(fieldOps) > 0 {
		units = append(units, unit{fields: fieldOps})
	}
	for i := range removes {
		units = append(units, unit{member: &removes[i], remove: true})
	}
	for i := range adds {
		units = append(units, unit{member: &adds[i]})
	}
	var fieldErr error
	for len(units) > 0 {
		n, members := 0, 0
		for n < len(units) && (units[n].member == nil || members < c.memberChunk) {
			if units[n].member != nil {
				members++
			}
			n++
		}
		pack := units[:n]
		units = units[n:]
		err := c.sendPatch(ctx, id, pack)
		if err == nil {
			continue
		}
		if notFound(err) {
			return err // the group is gone: no unit of it can land
		}
		if !isPermanent(err) {
			return err // retried as a whole; adds and removes are idempotent
		}
		for _, u := range pack {
			e := err
			if len(pack) > 1 {
				if e = c.sendPatch(ctx, id, []unit{u}); e != nil && !isPermanent(e) {
					return e
				}
			}
			switch {
			case e == nil:
			case u.member == nil:
				fieldErr = e
			default:
				memberErrs[u.member.ID] = e
			}
		}
	}
	return fieldErr
}

// sendPatch sends one PATCH for a pack of units: attribute operations,
// one remove per member, and one add carrying every added member.
func (c *Connector) sendPatch(ctx context.Context, id string, pack []unit) error {
	var ops []patchOp
	var added []wireMember
	kind := connectors.CallDelete // a PATCH of removals only: 404 means already gone
	for _, u := range pack {
		switch {
		case u.member == nil:
			ops = append(ops, u.fields...)
			kind = connectors.CallOther
		case u.remove:
			ops = append(ops, patchOp{Op: "remove", Path: "members[value eq " + filterString(u.member.TargetID) + "]"})
		default:
			added = append(added, wireMember{Value: u.member.TargetID, Type: "user"})
			kind = connectors.CallOther
		}
	}
	if len(added) > 0 {
		ops = append(ops, patchOp{Op: "add", Path: "members", Value: added})
	}
	_, err := c.gdo(ctx, call{op: "group.patch", method: http.MethodPatch, path: "/Groups/" + url.PathEscape(id), body: newPatch(ops), kind: kind}, nil)
	if kind == connectors.CallDelete && isNoTarget(err) {
		// Removals only, and a filter matched nothing: the members are
		// not there (a retry of a removal that landed), which is done.
		return nil
	}
	return err
}

// isNoTarget says whether err is a 400 with scimType noTarget: "the
// specified path did not yield an attribute or attribute value that
// could be operated on", e.g. a filter that yields no match (RFC 7644
// §3.12). errorMessage puts the scimType first.
func isNoTarget(err error) bool {
	var e *connectors.Error
	return errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.HasPrefix(e.Msg, "noTarget:")
}

func nilIfEmpty(m map[string]error) map[string]error {
	if len(m) == 0 {
		return nil
	}
	return m
}

// Members lists the Webex ids of a group's members, paging through
// /Groups/{id}/Members (at most 500 a page) until startIndex passes
// memberSize. It is for reconciliation and tests.
func (c *Connector) Members(ctx context.Context, groupID string) ([]string, error) {
	var ids []string
	start := 1
	for {
		var page struct {
			MemberSize   int `json:"memberSize"`
			ItemsPerPage int `json:"itemsPerPage"`
			StartIndex   int `json:"startIndex"`
			Members      []struct {
				Value string `json:"value"`
			} `json:"members"`
		}
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(maxMemberChunk)}}
		if _, err := c.do(ctx, call{op: "group.members", method: http.MethodGet, path: "/Groups/" + url.PathEscape(groupID) + "/Members", query: q}, &page); err != nil {
			return nil, err
		}
		for _, m := range page.Members {
			ids = append(ids, m.Value)
		}
		start += len(page.Members)
		if len(page.Members) == 0 || start > page.MemberSize {
			return ids, nil
		}
	}
}

// notFound says whether err is Webex answering 404.
func notFound(err error) bool {
	var e *connectors.Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
