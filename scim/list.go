package scim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/internal/rawjson"
	"github.com/scimbridge/scimbridge/scimpath"
	"github.com/scimbridge/scimbridge/store"
)

// Listing and searching (RFC 7644 §3.4.2, §3.4.3). GET /Users and
// POST /Users/.search share runList. Order is creation order, so pages are
// stable while resources are added. Without a filter a page reads only
// the resources it returns; an equality filter on userName, externalId, id
// or group displayName is answered from an index; any other filter scans.

type listQuery struct {
	filter            string
	startIndex, count int
	attrs, excluded   []string
	sortBy, sortOrder string
}

func (s *Server) list(d *resourceDef) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		q := listQuery{filter: strings.TrimSpace(filterParam(r.URL.RawQuery, v.Get("filter"))),
			sortBy: strings.TrimSpace(v.Get("sortBy")), sortOrder: strings.TrimSpace(v.Get("sortOrder"))}
		q.attrs, q.excluded = projection(r)
		if !utf8.ValidString(q.filter) {
			// As a body that is not UTF-8 (invalidSyntax): a SCIM string is
			// Unicode, so such a filter could only ever match by accident.
			s.fail(w, r, errorf(http.StatusBadRequest, "invalidFilter", "filter is not valid UTF-8 (after percent-decoding)"))
			return
		}
		var e *Error
		if q.startIndex, e = intParam(v.Get("startIndex"), 1); e == nil {
			q.count, e = intParam(v.Get("count"), s.opts.MaxResults)
		}
		if e != nil {
			s.fail(w, r, e)
			return
		}
		s.runList(w, r, d, q)
	}
}

func (s *Server) search(d *resourceDef) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, e := s.readBody(w, r)
		if e != nil {
			s.fail(w, r, e)
			return
		}
		m, e := decodeObject(body)
		if e == nil {
			e = checkMessageSchemas(m, urnSearchRequest)
		}
		if e != nil {
			s.fail(w, r, e)
			return
		}
		q := listQuery{startIndex: 1, count: s.opts.MaxResults}
		for k, v := range m {
			if v == nil {
				continue // null is unassigned (RFC 7643 §2.5): the default
			}
			switch strings.ToLower(k) {
			case "filter":
				f, ok := v.(string)
				if !ok {
					s.fail(w, r, errorf(http.StatusBadRequest, "invalidFilter", "filter must be a string"))
					return
				}
				q.filter = strings.TrimSpace(f)
			case "startindex":
				q.startIndex, e = intValue(v, "startIndex")
			case "count":
				q.count, e = intValue(v, "count")
			case "attributes":
				q.attrs, e = stringList(v, "attributes")
			case "excludedattributes":
				q.excluded, e = stringList(v, "excludedAttributes")
			case "sortby":
				q.sortBy, e = stringValue(v, "sortBy")
			case "sortorder":
				q.sortOrder, e = stringValue(v, "sortOrder")
			}
			if e != nil {
				s.fail(w, r, e)
				return
			}
		}
		s.runList(w, r, d, q)
	}
}

func stringValue(v any, name string) (string, *Error) {
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s), nil
	}
	return "", errorf(http.StatusBadRequest, "invalidValue", name+" must be a string")
}

func intParam(s string, def int) (int, *Error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "invalidValue", "startIndex and count must be integers")
	}
	return n, nil
}

func intValue(v any, name string) (int, *Error) {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return int(n), nil
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n, nil
		}
	}
	return 0, errorf(http.StatusBadRequest, "invalidValue", name+" must be an integer")
}

func stringList(v any, name string) ([]string, *Error) {
	switch v := v.(type) {
	case string:
		return splitList([]string{v}), nil
	case []any:
		var out []string
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, errorf(http.StatusBadRequest, "invalidValue", name+" must be a list of strings")
			}
			out = append(out, splitList([]string{s})...)
		}
		return out, nil
	}
	return nil, errorf(http.StatusBadRequest, "invalidValue", name+" must be a list of strings")
}

func (s *Server) runList(w http.ResponseWriter, r *http.Request, d *resourceDef, q listQuery) {
	q.count = min(max(q.count, 0), s.opts.MaxResults)
	q.startIndex = max(q.startIndex, 1)
	l := &listRun{s: s, d: d, q: q, base: s.baseURL(r), out: newPageWriter()}
	if q.filter != "" {
		var err error
		if l.f, err = scimpath.ParseFilter(q.filter); err == nil {
			err = l.f.CheckTypes(&d.path)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if q.sortBy != "" {
		var err error
		if l.sort, err = scimpath.ParseSort(q.sortBy, q.sortOrder, &d.path); err != nil {
			s.fail(w, r, err)
			return
		}
	} else if q.sortOrder != "" {
		if _, err := scimpath.ParseSort("id", q.sortOrder, &d.path); err != nil {
			s.fail(w, r, err) // an unknown sortOrder is an error even without sortBy
			return
		}
	}
	l.plain, _ = plainView(d, q.attrs, q.excluded)
	l.withMembers = d.typ == store.TypeGroup && wantsMembers(q.attrs, q.excluded)
	err := s.db.View(func(tx *store.Tx) error {
		switch {
		case l.f == nil && l.sort == nil:
			return l.creationOrder(tx)
		case l.f == nil && indexOrdered(d, l.sort) != "":
			return l.indexOrder(tx)
		}
		return l.matchAndSort(tx)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeRawJSON(w, http.StatusOK, l.out.finish(l.total, q.startIndex))
	l.out.release()
}

func decodeDoc(raw []byte) (map[string]any, error) {
	if doc, end, ok := rawjson.DecodeObject(raw, false); ok && onlySpace(raw[end:]) {
		return doc, nil
	}
	var doc map[string]any
	err := json.Unmarshal(raw, &doc)
	return doc, err
}

// indexCandidates answers a filter that requires `attr eq "value"` on an
// indexed attribute (alone, or as a term of a top-level "and", such as
// Entra's `id eq "g" and members eq "u"`) with the ids that may match, in
// creation order; the whole filter is still applied to each (the index
// folds case where the attribute does). The most selective term wins.
func indexCandidates(tx *store.Tx, d *resourceDef, f *scimpath.Filter) ([]string, bool) {
	attrs, values := f.Equalities(&d.path)
	best := -1
	for i, attr := range attrs {
		if r := indexRank(d, attr); r > 0 && (best < 0 || r < indexRank(d, attrs[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil, false
	}
	var ids []string
	switch attr, value := attrs[best], values[best]; attr {
	case "id":
		ids = []string{value}
	case "userName":
		if id := tx.LookupUserName(value); id != "" {
			ids = []string{id}
		}
	case "externalId":
		ids = tx.LookupIndex(store.IndexExternalID, d.typ, value)
	case "displayName":
		ids = tx.LookupIndex(store.IndexDisplayName, d.typ, value)
	case "emails.value":
		ids = tx.LookupIndex(store.IndexEmail, d.typ, value)
	}
	if len(ids) > 1 {
		seq := make(map[string]uint64, len(ids))
		for _, id := range ids {
			_, n, _ := tx.GetResource(d.typ, id)
			seq[id] = n
		}
		slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(seq[a], seq[b]) })
	}
	return ids, true
}

// indexRank orders the indexed attributes of d by selectivity (1 is a
// single resource); 0 means attr has no index.
func indexRank(d *resourceDef, attr string) int {
	switch {
	case attr == "id":
		return 1
	case attr == "userName" && d.typ == store.TypeUser:
		return 2
	case attr == "externalId":
		return 3
	case attr == "emails.value" && d.typ == store.TypeUser:
		return 4
	case attr == "displayName" && d.typ == store.TypeGroup:
		return 5
	}
	return 0
}

// project applies attributes/excludedAttributes to a rendered resource;
// password is never returned.
func (s *Server) project(d *resourceDef, doc map[string]any, attrs, excluded []string) map[string]any {
	out := scimpath.Project(doc, attrs, excluded, &d.path)
	delete(out, "password")
	if len(attrs) > 0 {
		narrowMeta(d, out, attrs)
	}
	return out
}

// narrowMeta keeps meta in a resource projected by attributes only as far
// as attributes asks for it: meta's sub-attributes are returned
// "default", not "always" (RFC 7643 §3.1), and attributes replaces the
// default set (RFC 7644 §3.4.2.5). scimpath.Project keeps all of meta.
func narrowMeta(d *resourceDef, out map[string]any, attrs []string) {
	meta, ok := out["meta"].(map[string]any)
	if !ok {
		return
	}
	var subs []string
	for _, a := range attrs {
		if i := strings.IndexByte(a, '['); i >= 0 {
			a = a[:i]
		}
		if len(a) > len(d.core.ID) && strings.EqualFold(a[:len(d.core.ID)+1], d.core.ID+":") {
			a = a[len(d.core.ID)+1:]
		}
		attr, sub, dotted := strings.Cut(a, ".")
		if !strings.EqualFold(attr, "meta") {
			continue
		}
		if !dotted {
			return // all of meta asked for
		}
		subs = append(subs, sub)
	}
	narrowed := map[string]any{}
	for k, v := range meta {
		for _, sub := range subs {
			if strings.EqualFold(k, sub) {
				narrowed[k] = v
			}
		}
	}
	if len(narrowed) == 0 {
		delete(out, "meta")
		return
	}
	out["meta"] = narrowed
}
