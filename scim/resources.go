package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/store"
)

// Stored form: each resource is its JSON as GET shows it, less what is
// derived at read time (meta.location, a user's groups, a group's
// members, which live in the members bucket), and never a password.

const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func now() string { return time.Now().UTC().Format(timeFormat) }

// loadDoc reads and decodes a stored resource.
func loadDoc(tx *store.Tx, typ, id string) (map[string]any, *Error) {
	raw, _, err := tx.GetResource(typ, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(typ, id)
	}
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "", "stored "+typ+" "+strconv.Quote(id)+" is unreadable")
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, errorf(http.StatusInternalServerError, "", "stored "+typ+" "+strconv.Quote(id)+" is unreadable")
	}
	return doc, nil
}

// loadIfExists is loadDoc for a resource that may be gone (a member id
// naming no user): nil, nil when it is not stored. A stored record that
// does not decode is still an error, never taken for a missing one.
func loadIfExists(tx *store.Tx, typ, id string) (map[string]any, error) {
	doc, e := loadDoc(tx, typ, id)
	if e != nil && e.Status == http.StatusNotFound {
		return nil, nil
	}
	if e != nil {
		return nil, e
	}
	return doc, nil
}

func metaOf(doc map[string]any) map[string]any {
	m, _ := doc["meta"].(map[string]any)
	return m
}

// versionOf returns the stored weak ETag of doc.
func versionOf(doc map[string]any) string {
	v, _ := metaOf(doc)["version"].(string)
	return v
}

// stamp sets doc's meta for a write: created kept from prev, lastModified
// now, version one more than prev's (W/"1" for a new resource).
func stamp(doc, prev map[string]any, typ string) {
	n := 0
	created := now()
	if prev != nil {
		pm := metaOf(prev)
		if c, ok := pm["created"].(string); ok {
			created = c
		}
		v, _ := pm["version"].(string)
		v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
		v, _, _ = strings.Cut(v, "-") // a user's served version carries a groups digest
		n, _ = strconv.Atoi(v)
	}
	doc["meta"] = map[string]any{
		"resourceType": typ,
		"created":      created,
		"lastModified": now(),
		"version":      `W/"` + strconv.Itoa(n+1) + `"`,
	}
}

// etagMatches reports whether header (If-Match / If-None-Match) names
// version; weak comparison, "*" matches any.
func etagMatches(header, version string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(version, "W/") {
			return true
		}
	}
	return false
}

// conditionHeader is a precondition's list of entity tags, however many
// header lines carry it (RFC 9110 §5.3).
func conditionHeader(r *http.Request, name string) string {
	if v := r.Header.Values(name); len(v) > 1 {
		return strings.Join(v, ",")
	}
	return r.Header.Get(name)
}

// checkIfMatch evaluates a write's preconditions on the stored resource's
// current (served) version, in RFC 9110 §13.2.2's order: If-Match naming
// another version, or If-None-Match naming this one (or "*": it exists),
// answers 412.
func (s *Server) checkIfMatch(tx *store.Tx, r *http.Request, d *resourceDef, doc map[string]any) error {
	im, inm := conditionHeader(r, "If-Match"), conditionHeader(r, "If-None-Match")
	if im == "" && inm == "" {
		return nil
	}
	v, err := s.servedVersion(tx, d, doc)
	if err != nil {
		return err
	}
	if im != "" && !etagMatches(im, v) {
		return errorf(http.StatusPreconditionFailed, "", "If-Match does not match the current version "+v)
	}
	if inm != "" && etagMatches(inm, v) {
		return errorf(http.StatusPreconditionFailed, "", "If-None-Match matches the current version "+v)
	}
	return nil
}

// servedVersion is the ETag of a stored resource as GET shows it. A
// group's is its stored version (membership changes rewrite the group). A
// user's shows its derived groups too, which change without the user
// being written (a group gains or loses it, or is renamed), so it is the
// stored version plus a digest of those groups: W/"3" with no groups,
// W/"3-<digest>" with some. Otherwise If-None-Match would answer 304 for
// a user whose groups changed.
func (s *Server) servedVersion(tx *store.Tx, d *resourceDef, doc map[string]any) (string, error) {
	v := versionOf(doc)
	if d.typ != store.TypeUser {
		return v, nil
	}
	id, _ := doc["id"].(string)
	groups, err := derivedGroups(tx, id)
	if err != nil {
		return "", err
	}
	return userVersion(v, groups), nil
}

// userVersion combines a user's stored version with its derived groups.
func userVersion(stored string, groups []derivedGroup) string {
	if len(groups) == 0 || !strings.HasSuffix(stored, `"`) {
		return stored
	}
	h := fnv.New64a()
	for _, g := range groups {
		h.Write([]byte(g.id))
		h.Write([]byte{0})
		if g.display != nil {
			b, _ := json.Marshal(g.display)
			h.Write(b)
		}
		h.Write([]byte{0})
	}
	return fmt.Sprintf(`%s-%016x"`, stored[:len(stored)-1], h.Sum64())
}

// derivedGroup is one entry of a user's read-only groups attribute.
type derivedGroup struct {
	id      string
	display any // the group's displayName, nil if it has none
}

// derivedGroups lists the groups user id belongs to, in id order.
func derivedGroups(tx *store.Tx, id string) ([]derivedGroup, error) {
	gids, err := tx.GroupsOf(id)
	if err != nil || len(gids) == 0 {
		return nil, err
	}
	out := make([]derivedGroup, len(gids))
	for i, gid := range gids {
		out[i].id = gid
		gd, err := loadIfExists(tx, store.TypeGroup, gid)
		if err != nil {
			return nil, err
		}
		if gd != nil {
			out[i].display = gd["displayName"]
		}
	}
	return out, nil
}

// withLocation returns a shallow copy of doc with an absolute meta.location.
func withLocation(doc map[string]any, base, endpoint, id string) map[string]any {
	out := make(map[string]any, len(doc)+2)
	for k, v := range doc {
		out[k] = v
	}
	meta := map[string]any{}
	for k, v := range metaOf(doc) {
		meta[k] = v
	}
	meta["location"] = base + endpoint + "/" + id
	out["meta"] = meta
	return out
}

// userView is a user as GET shows it: stored attributes, location, the
// groups derived from memberships, and the version that covers them.
func (s *Server) userView(tx *store.Tx, doc map[string]any, base string) (map[string]any, error) {
	id, _ := doc["id"].(string)
	groups, err := derivedGroups(tx, id)
	if err != nil {
		return nil, err
	}
	return userViewWith(doc, base, groups), nil
}

// userViewWith is userView with the user's groups already read.
func userViewWith(doc map[string]any, base string, groups []derivedGroup) map[string]any {
	id, _ := doc["id"].(string)
	out := withLocation(doc, base, "/Users", id)
	if len(groups) > 0 {
		out["groups"] = groupsAttr(groups, base)
		meta := out["meta"].(map[string]any) // withLocation made it
		if v, ok := meta["version"].(string); ok {
			meta["version"] = userVersion(v, groups)
		}
	}
	return out
}

// groupView is a group as GET shows it without members (as changes carry it).
func (s *Server) groupView(doc map[string]any, base string) map[string]any {
	id, _ := doc["id"].(string)
	return withLocation(doc, base, "/Groups", id)
}

// groupMembers reads a group's members with their $ref and type.
func (s *Server) groupMembers(tx *store.Tx, gid, base string) ([]any, error) {
	members := []any{}
	err := tx.Members(gid, func(mid string, raw []byte) error {
		members = append(members, memberView(tx, mid, raw, base))
		return nil
	})
	return members, err
}

// memberView is one member as GET shows it: what was kept of it (raw:
// display, type), its value, and its type and $ref from the stored type
// or, when none was sent, from the resource its id names.
func memberView(tx *store.Tx, mid string, raw []byte, base string) map[string]any {
	m := map[string]any{}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &m)
	}
	m["value"] = mid
	typ, _ := m["type"].(string)
	if typ == "" {
		switch {
		case tx.ResourceExists(store.TypeUser, mid):
			typ = store.TypeUser
		case tx.ResourceExists(store.TypeGroup, mid):
			typ = store.TypeGroup
		}
	}
	if typ != "" {
		m["type"] = typ
		m["$ref"] = base + "/" + typ + "s/" + mid
	}
	return m
}

// view renders a stored resource for a response.
func (s *Server) view(tx *store.Tx, d *resourceDef, doc map[string]any, base string, withMembers bool) (map[string]any, error) {
	if d.typ == store.TypeUser {
		return s.userView(tx, doc, base)
	}
	out := s.groupView(doc, base)
	if withMembers {
		id, _ := doc["id"].(string)
		members, err := s.groupMembers(tx, id, base)
		if err != nil {
			return nil, err
		}
		out["members"] = members
	}
	return out, nil
}

// wantsMembers reports whether a response projected by the request's
// attributes/excludedAttributes includes members, so excluded members are
// never read.
func wantsMembers(attrs, excluded []string) bool {
	for _, a := range excluded {
		if strings.EqualFold(a, "members") || strings.EqualFold(a, "urn:ietf:params:scim:schemas:core:2.0:Group:members") {
			return false
		}
	}
	if len(attrs) == 0 {
		return true
	}
	for _, a := range attrs {
		a = strings.ToLower(strings.TrimPrefix(strings.ToLower(a), "urn:ietf:params:scim:schemas:core:2.0:group:"))
		if a == "members" || strings.HasPrefix(a, "members.") || strings.HasPrefix(a, "members[") {
			return true
		}
	}
	return false
}

// projection reads the attributes and excludedAttributes query parameters.
func projection(r *http.Request) (attrs, excluded []string) {
	a, e := queryValues(r.URL.RawQuery, "attributes", "excludedAttributes")
	return splitList(a), splitList(e)
}

// queryValues returns the values of keys a and b in raw as
// url.ParseQuery finds them, without building the map of every key (a
// GET asks for these two only).
func queryValues(raw, a, b string) (av, bv []string) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue // ParseQuery skips these (a ';' is an error it reports)
		}
		key, value, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(key)
		if err != nil || key != a && key != b {
			continue
		}
		if value, err = url.QueryUnescape(value); err != nil {
			continue
		}
		if key == a {
			av = append(av, value)
		} else {
			bv = append(bv, value)
		}
	}
	return av, bv
}

// splitList splits comma-separated attribute lists, leaving commas inside
// brackets alone (attributes=emails[type eq "work"] is tolerated).
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		depth, start := 0, 0
		for i := 0; i <= len(v); i++ {
			if i < len(v) {
				switch v[i] {
				case '[':
					depth++
					continue
				case ']':
					depth--
					continue
				case ',':
					if depth > 0 {
						continue
					}
				default:
					continue
				}
			}
			if p := strings.TrimSpace(v[start:i]); p != "" {
				out = append(out, p)
			}
			start = i + 1
		}
	}
	return out
}

// respond writes a resource with its ETag, projected as the request asks.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, d *resourceDef, status int, doc map[string]any) {
	attrs, excluded := projection(r)
	out := s.project(d, doc, attrs, excluded)
	if v := versionOf(doc); v != "" {
		w.Header().Set("ETag", v)
	}
	if status == http.StatusCreated {
		if meta := metaOf(doc); meta != nil {
			if loc, ok := meta["location"].(string); ok {
				w.Header().Set("Location", loc)
			}
		}
	}
	writeJSON(w, status, out)
}

func (s *Server) get(d *resourceDef) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if id == searchID {
			searchTakesPost(w, r)
			return
		}
		attrs, excluded := projection(r)
		im, inm := conditionHeader(r, "If-Match"), conditionHeader(r, "If-None-Match")
		if plain, withMembers := plainView(d, attrs, excluded); plain && im == "" && inm == "" &&
			s.getRaw(w, r, d, id, withMembers) {
			return
		}
		var out map[string]any
		err := s.db.View(func(tx *store.Tx) error {
			doc, e := loadDoc(tx, d.typ, id)
			if e != nil {
				return e
			}
			if im != "" || inm != "" {
				v, err := s.servedVersion(tx, d, doc)
				if err != nil {
					return err
				}
				if im != "" && !etagMatches(im, v) {
					// RFC 9110 §13.1.1: If-Match is evaluated on GET too.
					return errorf(http.StatusPreconditionFailed, "", "If-Match does not match the current version "+v)
				}
				if inm != "" && etagMatches(inm, v) {
					out = map[string]any{"meta": map[string]any{"version": v}}
					return nil
				}
			}
			var err error
			out, err = s.view(tx, d, doc, s.baseURL(r), d.typ == store.TypeGroup && wantsMembers(attrs, excluded))
			return err
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if inm != "" && etagMatches(inm, versionOf(out)) {
			w.Header().Set("ETag", versionOf(out))
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.respond(w, r, d, http.StatusOK, out)
	}
}

// parseResourceBody reads, normalises, polices and validates a POST/PUT body.
func (s *Server) parseResourceBody(w http.ResponseWriter, r *http.Request, d *resourceDef) (raw, attrs map[string]any, e *Error) {
	body, e := s.readBody(w, r)
	if e != nil {
		return nil, nil, e
	}
	raw, e = decodeObject(body)
	if e != nil {
		return nil, nil, e
	}
	if e := checkSchemas(d, raw); e != nil {
		return nil, nil, e
	}
	if d.typ == store.TypeUser {
		normalizeResource(raw)
	}
	if e := s.checkUnknown(r, d, raw); e != nil {
		return nil, nil, e
	}
	attrs, e = s.checkResource(d, raw, body)
	if e != nil {
		return nil, nil, s.explain(d, raw, e)
	}
	wrapSingleValues(&d.path, attrs)
	// The library takes "" (or blanks) for a required string: a user
	// without a userName would be stored unindexed, a PUT of one failed
	// with 500 (found by FuzzBulk with store.Verify).
	if a := missingRequiredIn(d, attrs); a != "" {
		return nil, nil, errorf(http.StatusBadRequest, "invalidValue", a+" is required and must not be empty")
	}
	if e := checkIndexed(d, attrs, nil); e != nil {
		return nil, nil, e
	}
	if e := checkMultiValued(attrs); e != nil {
		return nil, nil, e
	}
	if !s.mayWriteProvenance(r) {
		dropProvenance(attrs)
	}
	// Write-only: accepted, never stored (nothing downstream receives it).
	for k := range attrs {
		if strings.EqualFold(k, "password") {
			delete(attrs, k)
		}
	}
	return raw, attrs, nil
}

// newDoc builds the stored document from validated attributes.
func (s *Server) newDoc(d *resourceDef, id string, attrs map[string]any, prev map[string]any) map[string]any {
	doc := make(map[string]any, len(attrs)+3)
	for k, v := range attrs {
		if strings.EqualFold(k, "members") && d.typ == store.TypeGroup {
			continue // kept in the members bucket
		}
		if isNull(v) {
			// The library turns an empty list ("roles": [] from Entra)
			// into a nil slice, which encodes as null; unassigned is not
			// stored or served as null (RFC 7643 §2.5; Entra: "don't
			// send null values").
			continue
		}
		if m, ok := v.(map[string]any); ok {
			for sk, sv := range m {
				if isNull(sv) {
					delete(m, sk)
				}
			}
		}
		doc[k] = v
	}
	doc["schemas"] = d.schemasOf(doc)
	doc["id"] = id
	stamp(doc, prev, d.typ)
	return doc
}

// isNull reports whether v encodes as JSON null (nil, or a nil slice or map).
func isNull(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.IsNil()
}

func (s *Server) create(d *resourceDef) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, attrs, e := s.parseResourceBody(w, r, d)
		if e != nil {
			s.fail(w, r, e)
			return
		}
		base := s.baseURL(r)
		// Members from the raw body: the validator drops Okta's and
		// Microsoft's "displayName", which we keep as display.
		rawMembers, _ := lookupFold(raw, "members")
		members, e := membersFromValue(rawMembers)
		if e != nil {
			s.fail(w, r, e)
			return
		}
		var out map[string]any
		err := s.commit.Batch(func(tx *store.Tx) error {
			out = nil
			id := uuid.NewString()
			doc, raw, err := roundTrip(s.newDoc(d, id, attrs, nil))
			if err != nil {
				return err
			}
			if e := s.checkGroupName(tx, d, id, nil, doc); e != nil {
				return e
			}
			if _, err := tx.CreateResource(d.typ, id, raw); err != nil {
				return err
			}
			if d.typ == store.TypeUser {
				out, err = s.userView(tx, doc, base)
				if err != nil {
					return err
				}
				if err := s.logWrite(tx, r, d.typ, id, http.StatusCreated, nil, doc, memberDelta{}); err != nil {
					return err
				}
				return s.sink.Enqueue(tx, store.Change{Type: store.TypeUser, ID: id, After: out})
			}
			after := s.groupView(doc, base)
			added, err := s.addMembers(tx, id, members)
			if err != nil {
				return err
			}
			if err := s.logWrite(tx, r, d.typ, id, http.StatusCreated, nil, doc, memberDelta{added: added}); err != nil {
				return err
			}
			if err := s.sink.Enqueue(tx, store.Change{Type: store.TypeGroup, ID: id, After: after, MembersAdded: added}); err != nil {
				return err
			}
			if err := s.enqueueUsers(tx, base, added, id, true); err != nil {
				return err
			}
			out = after
			if len(members) > 0 || wantsMembers(projection(r)) {
				out["members"], err = s.groupMembers(tx, id, base)
			}
			return err
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if e := s.await(r.Context(), d.typ, out["id"].(string)); e != nil {
			s.fail(w, r, e)
			return
		}
		s.respond(w, r, d, http.StatusCreated, out)
	}
}

// checkGroupName answers 409 when, with unique group names configured, a
// write would give group id a displayName another group holds
// (case-insensitively). The store keeps the index; the policy is ours.
func (s *Server) checkGroupName(tx *store.Tx, d *resourceDef, id string, prev, doc map[string]any) error {
	if d.typ != store.TypeGroup || !s.uniqueGroupNames() {
		return nil
	}
	name, _ := doc["displayName"].(string)
	old, _ := prev["displayName"].(string)
	if store.Fold(name) == store.Fold(old) {
		return nil
	}
	for _, other := range tx.LookupIndex(store.IndexDisplayName, d.typ, name) {
		if other != id {
			return errorf(http.StatusConflict, "uniqueness", "group displayName "+strconv.Quote(name)+" is already in use")
		}
	}
	return nil
}

func (s *Server) uniqueGroupNames() bool {
	return s.opts.UniqueGroupDisplayName == nil || *s.opts.UniqueGroupDisplayName
}

func (s *Server) replace(d *resourceDef) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if id == searchID {
			searchTakesPost(w, r)
			return
		}
		raw, attrs, e := s.parseResourceBody(w, r, d)
		if e != nil {
			s.fail(w, r, e)
			return
		}
		// PUT replaces members only when it names them: a client that
		// leaves them out (they can be huge) does not empty the group.
		rawMembers, setMembers := lookupFold(raw, "members")
		members, e := membersFromValue(rawMembers)
		if e != nil {
			s.fail(w, r, e)
			return
		}
		base := s.baseURL(r)
		var out map[string]any
		err := s.commit.Batch(func(tx *store.Tx) error {
			out = nil
			prev, e := loadDoc(tx, d.typ, id)
			if e != nil {
				return e
			}
			if err := s.checkIfMatch(tx, r, d, prev); err != nil {
				return err
			}
			next := s.newDoc(d, id, attrs, prev)
			if !s.mayWriteProvenance(r) {
				keepProvenance(d, next, prev)
			}
			doc, rawDoc, err := roundTrip(next)
			if err != nil {
				return err
			}
			if e := s.checkGroupName(tx, d, id, prev, doc); e != nil {
				return e
			}
			if err := tx.UpdateResource(d.typ, id, rawDoc); err != nil {
				return err
			}
			if d.typ == store.TypeUser {
				if err := s.logWrite(tx, r, d.typ, id, http.StatusOK, prev, doc, memberDelta{}); err != nil {
					return err
				}
				before, err := s.userView(tx, prev, base)
				if err != nil {
					return err
				}
				if out, err = s.userView(tx, doc, base); err != nil {
					return err
				}
				return s.sink.Enqueue(tx, store.Change{Type: store.TypeUser, ID: id, Before: before, After: out})
			}
			var delta memberDelta
			if setMembers {
				if delta, err = s.setMembers(tx, id, members); err != nil {
					return err
				}
			}
			if err := s.logWrite(tx, r, d.typ, id, http.StatusOK, prev, doc, delta); err != nil {
				return err
			}
			out = s.groupView(doc, base)
			if err := s.enqueueGroup(tx, base, id, s.groupView(prev, base), out, delta); err != nil {
				return err
			}
			if wantsMembers(projection(r)) {
				out["members"], err = s.groupMembers(tx, id, base)
			}
			return err
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if e := s.await(r.Context(), d.typ, id); e != nil {
			s.fail(w, r, e)
			return
		}
		s.respond(w, r, d, http.StatusOK, out)
	}
}

func (s *Server) delete(d *resourceDef) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if id == searchID {
			searchTakesPost(w, r)
			return
		}
		base := s.baseURL(r)
		err := s.commit.Batch(func(tx *store.Tx) error {
			doc, e := loadDoc(tx, d.typ, id)
			if e != nil {
				return e
			}
			if err := s.checkIfMatch(tx, r, d, doc); err != nil {
				return err
			}
			if err := s.logWrite(tx, r, d.typ, id, http.StatusNoContent, doc, nil, memberDelta{}); err != nil {
				return err
			}
			if d.typ == store.TypeUser {
				return s.deleteUser(tx, base, id, doc)
			}
			return s.deleteGroup(tx, base, id, doc)
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if e := s.await(r.Context(), d.typ, id); e != nil {
			s.fail(w, r, e)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// deleteUser removes the user from every group (each group reports the
// member removal) and then the user itself.
func (s *Server) deleteUser(tx *store.Tx, base, id string, doc map[string]any) error {
	before, err := s.userView(tx, doc, base)
	if err != nil {
		return err
	}
	gids, err := tx.GroupsOf(id)
	if err != nil {
		return err
	}
	for _, gid := range gids {
		if _, err := tx.RemoveMember(gid, id); err != nil {
			return err
		}
		if err := s.touchGroup(tx, base, gid, memberDelta{removed: []string{id}}); err != nil {
			return err
		}
	}
	if err := tx.DeleteResource(store.TypeUser, id); err != nil {
		return err
	}
	return s.sink.Enqueue(tx, store.Change{Type: store.TypeUser, ID: id, Before: before})
}

// deleteGroup removes the group and its memberships; each member user
// reports its changed groups.
func (s *Server) deleteGroup(tx *store.Tx, base, id string, doc map[string]any) error {
	mids, err := tx.MemberIDs(id)
	if err != nil {
		return err
	}
	var users []string
	var befores []map[string]any
	for _, mid := range mids {
		u, err := loadIfExists(tx, store.TypeUser, mid)
		if err != nil {
			return err
		}
		if u != nil {
			b, err := s.userView(tx, u, base)
			if err != nil {
				return err
			}
			users, befores = append(users, mid), append(befores, b)
		}
		if _, err := tx.RemoveMember(id, mid); err != nil {
			return err
		}
	}
	if err := tx.DeleteResource(store.TypeGroup, id); err != nil {
		return err
	}
	if err := s.sink.Enqueue(tx, store.Change{Type: store.TypeGroup, ID: id, Before: s.groupView(doc, base), MembersRemoved: mids}); err != nil {
		return err
	}
	for i, uid := range users {
		u, err := loadIfExists(tx, store.TypeUser, uid)
		if err != nil {
			return err
		}
		if u == nil {
			continue
		}
		after, err := s.userView(tx, u, base)
		if err != nil {
			return err
		}
		if err := s.sink.Enqueue(tx, store.Change{Type: store.TypeUser, ID: uid, Before: befores[i], After: after}); err != nil {
			return err
		}
	}
	return nil
}

func lookupFold(m map[string]any, key string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
