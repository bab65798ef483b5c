package scim

import (
	"bytes"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/internal/rawjson"
	"github.com/scimbridge/scimbridge/scimpath"
	"github.com/scimbridge/scimbridge/store"
)

// PATCH (RFC 7644 §3.5.2). Every non-member operation is validated by the
// library's rules (checkPatch); scimpath applies them to the
// stored document; operations on a group's members are applied here as
// deltas on the members bucket, never by rewriting the member list.

// memberOp is a PATCH operation on a group's members.
type memberOp struct {
	kind    string           // add, replace, remove
	filter  *scimpath.Filter // members[filter]; nil for the whole attribute
	members []member         // values for add/replace; for remove, the ids to remove (Entra)
}

// parsePatch reads a PATCH body into the operations for scimpath (which
// the library's rules validate, see checkPatch) and the member operations.
func parsePatch(d *resourceDef, body []byte) (ops []scimpath.Operation, mops []memberOp, e *Error) {
	env, e := decodeObject(body)
	if e != nil {
		return nil, nil, e
	}
	if e := checkMessageSchemas(env, urnPatchOp); e != nil {
		return nil, nil, e
	}
	rawOps, _ := lookupFold(env, "Operations")
	list, ok := rawOps.([]any)
	if !ok || len(list) == 0 {
		return nil, nil, errorf(http.StatusBadRequest, "invalidValue", "a PATCH needs a non-empty \"Operations\" list")
	}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, nil, errorf(http.StatusBadRequest, "invalidSyntax", "each operation must be an object")
		}
		opv, _ := lookupFold(m, "op")
		pathv, _ := lookupFold(m, "path")
		value, hasValue := lookupFold(m, "value")
		op, _ := opv.(string)
		op = strings.ToLower(op)
		path, _ := pathv.(string)
		path = strings.TrimSpace(path)
		if op != "add" && op != "replace" && op != "remove" {
			return nil, nil, errorf(http.StatusBadRequest, "invalidSyntax", "op must be add, replace or remove")
		}
		if a := commonReadOnly(d, path); a != "" {
			// RFC 7644 §3.5.2: an operation on a readOnly attribute is a
			// mutability error. id and meta are in no schema, so the
			// validator would call the path invalid instead.
			return nil, nil, errorf(http.StatusBadRequest, "mutability", a+" is readOnly (RFC 7643 §3.1): "+strconv.Quote(path))
		}
		if op == "remove" && path == "" {
			// RFC 7644 §3.5.2.2 names the error (the library says invalidValue).
			return nil, nil, errorf(http.StatusBadRequest, "noTarget", "remove needs a path (RFC 7644 §3.5.2.2)")
		}
		if d.typ == store.TypeGroup {
			mop, rest, isMember, e := splitMemberOp(op, path, value)
			if e != nil {
				return nil, nil, e
			}
			if isMember {
				mops = append(mops, mop)
				if rest == nil {
					continue
				}
				value = rest
			}
		}
		if d.typ == store.TypeUser {
			value = normalizePatchManager(path, value)
		}
		// A null makes its attribute unassigned (below); a path naming a
		// whole extension is expanded after that, path-less values before.
		for _, o := range unassign(scimpath.Operation{Op: op, Path: path, Value: value}, hasValue) {
			for _, x := range expandExtension(d, o) {
				ops = append(ops, unassign(x, true)...)
			}
		}
	}
	return ops, mops, nil
}

// commonReadOnly returns "id" or "meta" when path names one of these
// common attributes (or a sub-attribute of meta), with or without the
// core schema's URN.
func commonReadOnly(d *resourceDef, path string) string {
	if len(path) > len(d.core.ID) && strings.EqualFold(path[:len(d.core.ID)+1], d.core.ID+":") {
		path = path[len(d.core.ID)+1:]
	}
	attr := path
	if i := strings.IndexAny(attr, ".["); i >= 0 {
		attr = attr[:i]
	}
	switch {
	case strings.EqualFold(attr, "id"):
		return "id"
	case strings.EqualFold(attr, "meta"):
		return "meta"
	}
	return ""
}

// unassign turns "replace with null" into "remove": RFC 7643 §2.5 makes
// the null value equivalent to unassigned, and Entra's SCIM validator
// (SCIM_Null_Update_Test) clears attributes with {"op":"replace",
// "path":p,"value":null} or a path-less value whose keys are null. The
// library's validator rejects a null value, so the operation is rewritten
// before it. An enterprise manager given as "" (normalizePatchManager
// makes it null) is cleared by add as well: Entra removes a manager with
// {"op":"replace","path":"…:manager","value":""}. An add of any other
// null stays an error (RFC 7644 §3.5.2.1: add needs a value).
func unassign(op scimpath.Operation, hasValue bool) []scimpath.Operation {
	clears := func(key string) bool {
		return op.Op == "replace" || strings.EqualFold(key, enterpriseURN+":manager")
	}
	if op.Op == "remove" || !hasValue {
		return []scimpath.Operation{op}
	}
	if op.Path != "" {
		if op.Value == nil && clears(op.Path) {
			return []scimpath.Operation{{Op: "remove", Path: op.Path}}
		}
		return []scimpath.Operation{op}
	}
	obj, ok := op.Value.(map[string]any)
	if !ok {
		return []scimpath.Operation{op}
	}
	var nulls []string
	for k, v := range obj {
		switch strings.ToLower(k) {
		case "id", "schemas", "meta":
			continue
		}
		if v == nil && clears(k) {
			nulls = append(nulls, k)
		}
	}
	if len(nulls) == 0 {
		return []scimpath.Operation{op}
	}
	slices.Sort(nulls)
	rest := maps.Clone(obj)
	var out []scimpath.Operation
	for _, k := range nulls {
		delete(rest, k)
		out = append(out, scimpath.Operation{Op: "remove", Path: k})
	}
	if len(rest) > 0 {
		out = append([]scimpath.Operation{{Op: op.Op, Value: rest}}, out...)
	}
	return out
}

// expandExtension rewrites operations that name a whole extension, which
// RFC 7644 allows and the library's validator rejects, into operations on
// its attributes: a path-less value {"urn:…:User": {"department": "x"}}
// becomes {"urn:…:User:department": "x"}; path "urn:…:User" with an object
// value becomes a path-less operation; remove of "urn:…:User" removes each
// of its attributes.
func expandExtension(d *resourceDef, op scimpath.Operation) []scimpath.Operation {
	if ext := d.extension(op.Path); ext != nil {
		if op.Op == "remove" {
			var out []scimpath.Operation
			for _, a := range ext.Attributes {
				out = append(out, scimpath.Operation{Op: "remove", Path: ext.ID + ":" + a.Name()})
			}
			return out
		}
		obj, ok := op.Value.(map[string]any)
		if !ok {
			return []scimpath.Operation{op}
		}
		flat := map[string]any{}
		for k, v := range obj {
			flat[ext.ID+":"+k] = v
		}
		return []scimpath.Operation{{Op: op.Op, Value: flat}}
	}
	obj, ok := op.Value.(map[string]any)
	if op.Path != "" || !ok {
		return []scimpath.Operation{op}
	}
	var flat map[string]any
	for k, v := range obj {
		ext := d.extension(k)
		sub, isObj := v.(map[string]any)
		if ext == nil || !isObj {
			continue
		}
		if flat == nil {
			flat = maps.Clone(obj)
		}
		delete(flat, k)
		for sk, sv := range sub {
			flat[ext.ID+":"+sk] = sv
		}
	}
	if flat == nil {
		return []scimpath.Operation{op}
	}
	return []scimpath.Operation{{Op: op.Op, Value: flat}}
}

// splitMemberOp recognises an operation on members: path "members",
// "members[filter]", or a path-less value with a "members" key (the rest
// of that value, if any, is returned as rest for the ordinary applier).
func splitMemberOp(op, path string, value any) (mop memberOp, rest map[string]any, isMember bool, e *Error) {
	mop.kind = op
	lp := strings.ToLower(strings.TrimPrefix(strings.ToLower(path), strings.ToLower(scimpath.URNGroup)+":"))
	switch {
	case path == "":
		obj, ok := value.(map[string]any)
		if !ok {
			return mop, nil, false, nil
		}
		mv, found := lookupFold(obj, "members")
		if !found {
			return mop, nil, false, nil
		}
		rest = map[string]any{}
		for k, v := range obj {
			if !strings.EqualFold(k, "members") {
				rest[k] = v
			}
		}
		if len(rest) == 0 {
			rest = nil
		}
		if op == "remove" {
			return mop, nil, false, errorf(http.StatusBadRequest, "noTarget", "remove needs a path")
		}
		mop.members, e = membersFromValue(mv)
		return mop, rest, true, e
	case lp == "members":
		if value != nil {
			mop.members, e = membersFromValue(value)
		}
		if op != "remove" && value == nil {
			e = errorf(http.StatusBadRequest, "invalidValue", op+" members needs a value")
		}
		return mop, nil, true, e
	case strings.HasPrefix(lp, "members["):
		end := strings.LastIndexByte(path, ']')
		start := strings.IndexByte(path, '[')
		if end < start || strings.TrimSpace(path[end+1:]) != "" {
			// members[...].display and the like: rare; not supported.
			return mop, nil, true, errorf(http.StatusBadRequest, "invalidPath", "only whole members can be targeted by a filter ("+path+")")
		}
		f, err := scimpath.ParseFilter(path[start+1 : end])
		if err != nil {
			se, _ := asError(err)
			se.ScimType = "invalidPath"
			return mop, nil, true, se
		}
		mop.filter = f
		if op != "remove" {
			if value == nil {
				return mop, nil, true, errorf(http.StatusBadRequest, "invalidValue", op+" members[...] needs a value")
			}
			mop.members, e = membersFromValue(value)
		}
		return mop, nil, true, e
	case strings.HasPrefix(lp, "members."):
		return mop, nil, true, errorf(http.StatusBadRequest, "invalidPath", "sub-attributes of members cannot be patched ("+path+")")
	}
	return mop, nil, false, nil
}

// normalizePatchManager turns Entra's bare-string manager into the
// complex value the library validates.
func normalizePatchManager(path string, value any) any {
	if strings.EqualFold(path, enterpriseURN+":manager") {
		if id, ok := value.(string); ok {
			if id == "" {
				return nil // no manager; see unassign
			}
			return map[string]any{"value": id}
		}
		return value
	}
	if path != "" {
		return value
	}
	obj, ok := value.(map[string]any)
	if !ok {
		return value
	}
	for k, v := range obj {
		if id, ok := v.(string); ok && strings.EqualFold(k, enterpriseURN+":manager") {
			if id == "" {
				obj[k] = nil // no manager; see unassign
			} else {
				obj[k] = map[string]any{"value": id}
			}
		}
		if ext, ok := v.(map[string]any); ok && strings.EqualFold(k, enterpriseURN) {
			for ek, ev := range ext {
				if ev == "" && strings.EqualFold(ek, "manager") {
					ext[ek] = nil // no manager; see unassign
				}
			}
			normalizeResource(map[string]any{enterpriseURN: ext})
		}
	}
	return value
}

// applyMemberOps applies member operations to gid in order.
func (s *Server) applyMemberOps(tx *store.Tx, gid, base string, mops []memberOp) (memberDelta, error) {
	var total memberDelta
	for _, op := range mops {
		var d memberDelta
		var err error
		switch {
		case op.filter != nil:
			ids, ferr := s.matchMembers(tx, gid, base, op.filter)
			if ferr != nil {
				return total, ferr
			}
			if op.kind == "remove" {
				d.removed, err = s.removeMembers(tx, gid, ids)
				break
			}
			// replace/add on members[filter]: swap the matched members for the value.
			if d.removed, err = s.removeMembers(tx, gid, ids); err == nil {
				d.added, err = s.addMembers(tx, gid, op.members)
			}
		case op.kind == "add":
			d.added, err = s.addMembers(tx, gid, op.members)
		case op.kind == "replace":
			d, err = s.setMembers(tx, gid, op.members)
		case op.kind == "remove" && op.members != nil:
			// Entra: remove exactly the listed members, never all.
			ids := make([]string, len(op.members))
			for i, m := range op.members {
				ids[i] = m.id
			}
			d.removed, err = s.removeMembers(tx, gid, ids)
		default: // remove path "members" without value: all of them
			d, err = s.setMembers(tx, gid, nil)
		}
		if err != nil {
			return total, err
		}
		total.merge(d)
	}
	return total, nil
}

// matchMembers returns the ids of gid's members that match f. The common
// form, value eq "id", is a key lookup.
func (s *Server) matchMembers(tx *store.Tx, gid, base string, f *scimpath.Filter) ([]string, error) {
	if attr, v, ok := f.Equality(&memberSchema); ok && strings.EqualFold(attr, "value") {
		if tx.IsMember(gid, v) {
			return []string{v}, nil
		}
		return nil, nil
	}
	var ids []string
	err := tx.Members(gid, func(mid string, raw []byte) error {
		// The member as GET shows it: members[type eq "User"] matches a
		// member added without its type.
		if f.Match(memberView(tx, mid, raw, base), &memberSchema) {
			ids = append(ids, mid)
		}
		return nil
	})
	return ids, err
}

// memberSchema describes one member, for filters inside members[...].
var memberSchema = scimpath.ResourceSchema{Core: scimpath.Schema{URN: scimpath.URNGroup, Attrs: []scimpath.Attr{
	{Name: "value", Type: scimpath.TypeString, CaseExact: true},
	{Name: "display", Type: scimpath.TypeString},
	{Name: "type", Type: scimpath.TypeString},
	{Name: "$ref", Type: scimpath.TypeReference, CaseExact: true},
}}}

// wantsBody reports whether a PATCH must answer 200 with the resource
// (RFC 7644 §3.5.2: when attributes or excludedAttributes are given).
func wantsBody(r *http.Request) bool {
	if r.URL.RawQuery == "" {
		return false // Entra's PATCH: no query to parse
	}
	q := r.URL.Query()
	return q.Has("attributes") || q.Has("excludedAttributes")
}

func (s *Server) patch(d *resourceDef) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if id == searchID {
			searchTakesPost(w, r)
			return
		}
		body, e := s.readBody(w, r)
		if e != nil {
			s.fail(w, r, e)
			return
		}
		ops, mops, e := parsePatch(d, body)
		if e != nil {
			s.fail(w, r, e)
			return
		}
		if e := s.checkPatch(d, ops); e != nil {
			s.fail(w, r, s.explainPatch(d, ops, e))
			return
		}
		if provenanceInPatch(ops) && !s.mayWriteProvenance(r) {
			s.fail(w, r, errorf(http.StatusBadRequest, "mutability", "the provenance extension (urn:scimbridge:...) is written only by the HR import"))
			return
		}
		base := s.baseURL(r)
		withBody := wantsBody(r)
		var out map[string]any
		// The document is patched outside the write transaction (which
		// runs writes one after another) and the result committed only if
		// the stored bytes are still those it was computed from; if another
		// write got in between, it is recomputed inside.
		var plan *patchPlan
		err := s.db.View(func(tx *store.Tx) error {
			raw, _, err := tx.GetResource(d.typ, id)
			if errors.Is(err, store.ErrNotFound) {
				return notFound(d.typ, id)
			}
			if err != nil {
				return err
			}
			if plan, err = s.planPatch(tx, r, d, id, bytes.Clone(raw), ops); err != nil {
				return err
			}
			return plan.prepareUserChange(tx, d, base, id)
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		status := http.StatusNoContent
		if withBody {
			status = http.StatusOK
		}
		// The event of a write without member operations is built and
		// encoded here too, outside the serialised commit; it is used if
		// the plan still holds at commit time.
		var event *activitylog.PreparedWrite
		if len(mops) == 0 {
			if event, err = s.prepareWrite(r, d.typ, id, status, plan.prev, plan.next); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		logWrite := func(tx *store.Tx, p *patchPlan, next map[string]any, delta memberDelta) error {
			if event != nil && p == plan && delta.empty() {
				return event.Append(tx)
			}
			return s.logWrite(tx, r, d.typ, id, status, p.prev, next, delta)
		}
		err = s.commit.Batch(func(tx *store.Tx) error {
			out = nil
			p := plan
			cur, _, err := tx.GetResource(d.typ, id)
			if errors.Is(err, store.ErrNotFound) {
				return notFound(d.typ, id)
			}
			if err != nil {
				return err
			}
			if !bytes.Equal(cur, p.prevRaw) {
				if p, err = s.planPatch(tx, r, d, id, bytes.Clone(cur), ops); err != nil {
					return err
				}
			}
			var delta memberDelta
			if len(mops) > 0 {
				if delta, err = s.applyMemberOps(tx, id, base, mops); err != nil {
					return err
				}
			}
			next := p.prev
			if !p.changed && delta.empty() {
				if err := logWrite(tx, p, next, delta); err != nil {
					return err
				}
			} else {
				raw := p.raw
				next = p.next
				if !p.changed { // only the membership changed: new version of the group
					next = maps.Clone(p.prev)
					stamp(next, p.prev, d.typ)
					if raw, err = encodeJSON(next, 0); err != nil {
						return err
					}
				}
				if err := s.checkGroupName(tx, d, id, p.prev, next); err != nil {
					return err
				}
				if p.changed {
					err = tx.ApplyUpdate(p.update)
				} else {
					err = tx.UpdateResource(d.typ, id, raw)
				}
				if err != nil {
					return err
				}
				if err := logWrite(tx, p, next, delta); err != nil {
					return err
				}
				if err := s.enqueuePatch(tx, d, base, id, p, next, delta); err != nil {
					return err
				}
			}
			if withBody {
				attrs, excluded := projection(r)
				out, err = s.view(tx, d, next, base, d.typ == store.TypeGroup && wantsMembers(attrs, excluded))
				return err
			}
			return nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if e := s.await(r.Context(), d.typ, id); e != nil {
			s.fail(w, r, e)
			return
		}
		if out == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.respond(w, r, d, http.StatusOK, out)
	}
}

// patchPlan is a PATCH applied to one stored version of a document.
type patchPlan struct {
	prevRaw    []byte         // the stored bytes it was computed from
	prev, next map[string]any // before and after (next stamped when changed)
	changed    bool           // the document itself changed
	raw        []byte         // next, encoded, when changed
	update     *store.Update  // prevRaw -> raw, its index values read outside the commit

	// A changed user's outbox views (as GET shows it) before and after,
	// built outside the commit with the groups it had then; the commit
	// uses them if it reads the same groups.
	groups        []derivedGroup
	before, after map[string]any
}

// prepareUserChange builds a changed user's outbox views in the planning
// transaction (prepareUserChange does nothing for groups or no change).
func (p *patchPlan) prepareUserChange(tx *store.Tx, d *resourceDef, base, id string) error {
	if d.typ != store.TypeUser || !p.changed {
		return nil
	}
	groups, err := derivedGroups(tx, id)
	if err != nil {
		return err
	}
	p.groups = groups
	p.before, p.after = userViewWith(p.prev, base, groups), userViewWith(p.next, base, groups)
	return nil
}

// planPatch applies ops to the stored document raw, without touching the
// store: the preconditions, scimpath.ApplyPatch, the fixed attributes,
// and, when the document changed, a new version and its encoding.
func (s *Server) planPatch(tx *store.Tx, r *http.Request, d *resourceDef, id string, raw []byte, ops []scimpath.Operation) (*patchPlan, error) {
	prev, err := decodeDoc(raw)
	if err != nil || prev == nil {
		return nil, errorf(http.StatusInternalServerError, "", "stored "+d.typ+" is unreadable")
	}
	if err := s.checkIfMatch(tx, r, d, prev); err != nil {
		return nil, err
	}
	p := &patchPlan{prevRaw: raw, prev: prev, next: prev}
	if len(ops) == 0 {
		return p, nil
	}
	next := scimpath.DeepCopy(prev)
	if err := scimpath.ApplyPatch(next, ops, &d.path); err != nil {
		return nil, err
	}
	s.fixup(d, id, next, prev)
	scimpath.DropDuplicateValues(next) // RFC 7643 §2.4; adding a value already there changes nothing
	// A PATCH may not unassign a required attribute (userName, a group's
	// displayName; RFC 7643 §4.1.1, §4.2): 400, not a stored resource
	// without them (and not the 500 an empty userName index key gave).
	if a := missingRequiredIn(d, next); a != "" {
		return nil, errorf(http.StatusBadRequest, "invalidValue", a+" is required and cannot be removed")
	}
	if e := checkIndexed(d, next, prev); e != nil {
		return nil, e
	}
	// Both sides are encoded with sorted keys: equal documents, equal bytes.
	same, err := encodeJSON(next, len(raw)+64)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(same, raw) {
		return p, nil
	}
	stamp(next, prev, d.typ)
	if p.raw, err = replaceMeta(same, next); err != nil {
		return nil, err
	}
	p.next, p.changed = next, true
	p.update = store.PrepareUpdate(d.typ, id, raw, p.raw)
	return p, nil
}

// replaceMeta is json.Marshal(doc) for a doc whose encoding before its
// meta changed was enc: only meta is encoded again and put in place of
// the old one (a map encodes its keys sorted, so the bytes are those a
// whole encoding gives).
func replaceMeta(enc []byte, doc map[string]any) ([]byte, error) {
	ms, me, end := -1, -1, -1
	if !rawjson.ScanObject(enc, func(key []byte, vs, ve int) bool {
		if string(key) == `"meta"` {
			ms, me = vs, ve
		}
		return true
	}, &end) || ms < 0 {
		return encodeJSON(doc, len(enc)+64)
	}
	meta, err := encodeJSON(doc["meta"], 256)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(enc)+len(meta)-(me-ms))
	out = append(out, enc[:ms]...)
	out = append(out, meta...)
	return append(out, enc[me:]...), nil
}

func (s *Server) enqueuePatch(tx *store.Tx, d *resourceDef, base, id string, p *patchPlan, next map[string]any, delta memberDelta) error {
	prev := p.prev
	if d.typ == store.TypeGroup {
		return s.enqueueGroup(tx, base, id, s.groupView(prev, base), s.groupView(next, base), delta)
	}
	// A user PATCH never changes its groups: read them once for both sides.
	groups, err := derivedGroups(tx, id)
	if err != nil {
		return err
	}
	before, after := p.before, p.after
	if after == nil || !sameGroups(groups, p.groups) {
		before, after = userViewWith(prev, base, groups), userViewWith(next, base, groups)
	}
	return s.sink.Enqueue(tx, store.Change{Type: store.TypeUser, ID: id, Before: before, After: after})
}

// sameGroups reports whether two readings of a user's groups give the
// same views (ids and display names).
func sameGroups(a, b []derivedGroup) bool {
	return slices.EqualFunc(a, b, func(x, y derivedGroup) bool {
		if x.id != y.id {
			return false
		}
		xs, xok := x.display.(string)
		ys, yok := y.display.(string)
		return (xok && yok && xs == ys) || (x.display == nil && y.display == nil)
	})
}

// fixup keeps what a PATCH may not change (id, meta, a group's members
// which live elsewhere, a user's derived groups), drops any password and
// recomputes schemas from the extensions present.
func (s *Server) fixup(d *resourceDef, id string, next, prev map[string]any) {
	for k := range next {
		switch strings.ToLower(k) {
		case "password", "groups", "members", "id", "meta", "schemas":
			delete(next, k)
		}
	}
	dropEmptyLists(next, true)
	next["id"] = id
	next["meta"] = prev["meta"]
	next["schemas"] = d.schemasOf(next)
}

// dropEmptyLists deletes the multi-valued attributes a PATCH left as []
// (replace with [], add of [] to an absent one), at the top and in
// extension objects: an empty list is unassigned (RFC 7643 §2.5), as a
// null value makes it and as POST and PUT store it.
func dropEmptyLists(m map[string]any, top bool) {
	for k, v := range m {
		switch v := v.(type) {
		case []any:
			if len(v) == 0 {
				delete(m, k)
			}
		case map[string]any:
			if top && len(k) > 4 && strings.EqualFold(k[:4], "urn:") {
				dropEmptyLists(v, false)
			}
		}
	}
}

// schemasOf lists the core schema and each extension doc carries, in
// declaration order, dropping empty extension objects.
func (d *resourceDef) schemasOf(doc map[string]any) []any {
	schemas := []any{d.core.ID}
	for _, ext := range d.exts {
		for k, v := range doc {
			if !strings.EqualFold(k, ext.ID) {
				continue
			}
			if m, ok := v.(map[string]any); ok && len(m) == 0 {
				delete(doc, k)
				continue
			}
			schemas = append(schemas, ext.ID)
		}
	}
	return schemas
}
