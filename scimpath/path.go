package scimpath

import (
	"strings"
	"unicode"
)

// Path is an attribute path as PATCH and projection use it (RFC 7644
// §3.5.2 "path"): [URN:]Attr[[Filter]][.SubAttr].
//
// A path naming a whole extension ("urn:...:enterprise:2.0:User") parses
// as URN "urn:...:enterprise:2.0" and Attr "User"; resolution against a
// schema (or the resource's keys) recognises it.
type Path struct {
	URN     string  // schema URN prefix as written, "" if none
	Attr    string  // attribute name as written
	SubAttr string  // sub-attribute name as written, "" if none
	Filter  *Filter // value filter on the elements of Attr, nil if none
}

// ParsePath parses a path such as "userName", "name.givenName",
// `emails[type eq "work"].value`, `members[value eq "x"]` or
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
// Errors are *Error with ScimType invalidPath.
func ParsePath(s string) (Path, error) {
	s = strings.TrimSpace(s)
	head, tail := s, ""
	var p Path
	if i := strings.IndexByte(s, '['); i >= 0 {
		end := closingBracket(s, i)
		if end < 0 {
			return Path{}, pathError(s)
		}
		f, err := ParseFilter(s[i+1 : end])
		if err != nil {
			return Path{}, pathError(s)
		}
		p.Filter = f
		head, tail = s[:i], s[end+1:]
		if tail != "" {
			if tail[0] != '.' || !validName(tail[1:]) {
				return Path{}, pathError(s)
			}
			p.SubAttr = tail[1:]
		}
	}
	if len(head) > 4 && strings.EqualFold(head[:4], "urn:") {
		i := strings.LastIndexByte(head, ':')
		p.URN, head = head[:i], head[i+1:]
	}
	if dot := strings.IndexByte(head, '.'); dot >= 0 {
		if p.Filter != nil {
			return Path{}, pathError(s)
		}
		head, p.SubAttr = head[:dot], head[dot+1:]
		if !validName(p.SubAttr) {
			return Path{}, pathError(s)
		}
	}
	if !validName(head) {
		return Path{}, pathError(s)
	}
	p.Attr = head
	return p, nil
}

func pathError(s string) *Error {
	return badRequest(ErrInvalidPath, "invalid path "+quoteShort(s))
}

// quoteShort quotes s for an error detail, cut to a sane length.
func quoteShort(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	var b strings.Builder
	writeJSONString(&b, s)
	return b.String()
}

// closingBracket finds the ']' closing the '[' at open, skipping quoted
// strings; -1 if there is none.
func closingBracket(s string, open int) int {
	inString := false
	for i := open + 1; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && c == ']':
			return i
		}
	}
	return -1
}

// validName checks RFC 7643 §2.1 ATTRNAME: ALPHA *(nameChar), plus the
// "$ref" spelling.
func validName(s string) bool {
	s = strings.TrimPrefix(s, "$")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if i == 0 && !alpha {
			return false
		}
		if !alpha && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// String returns the path in RFC 7644 form.
func (p Path) String() string {
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN)
		b.WriteByte(':')
	}
	b.WriteString(p.Attr)
	if p.Filter != nil {
		b.WriteByte('[')
		b.WriteString(p.Filter.String())
		b.WriteByte(']')
	}
	if p.SubAttr != "" {
		b.WriteByte('.')
		b.WriteString(p.SubAttr)
	}
	return b.String()
}

// wholeSchema reports whether p names a whole extension object rather than
// an attribute, and that extension's URN as the schema (or else res)
// spells it.
func (p Path) wholeSchema(res map[string]any, rs *ResourceSchema) (string, bool) {
	if p.URN == "" || p.SubAttr != "" || p.Filter != nil {
		return "", false
	}
	full := p.URN + ":" + p.Attr
	if rs != nil {
		if s := rs.schemaFor(full); s != nil && s != &rs.Core {
			return s.URN, true
		}
		return "", false
	}
	if _, k, ok := lookupKey(res, full); ok {
		return k, true
	}
	return full, looksLikeSchemaURN(p.Attr)
}

// resolved is a path's attribute definitions in a schema.
type resolved struct {
	attrs []Attr // the attributes of the schema the path is in
	attr  *Attr
	sub   *Attr
}

func (p Path) resolve(rs *ResourceSchema) resolved {
	var r resolved
	if rs == nil {
		return r
	}
	if p.URN == "" {
		r.attrs = rs.Core.Attrs
	} else if s := rs.schemaFor(p.URN); s != nil {
		r.attrs = s.Attrs
	}
	r.attr = findAttr(r.attrs, p.Attr)
	if r.attr != nil && p.SubAttr != "" {
		r.sub = findAttr(r.attr.SubAttrs, p.SubAttr)
	}
	return r
}

// Get returns every value at the path in res, flattened: the elements of a
// multi-valued attribute (those the value filter selects), or the
// sub-attribute of each. It returns nil when there is none. rs may be nil.
func (p Path) Get(res map[string]any, rs *ResourceSchema) []any {
	if urn, ok := p.wholeSchema(res, rs); ok {
		if v, _, ok := lookupKey(res, urn); ok && v != nil {
			return []any{v}
		}
		return nil
	}
	def, v, found := scope{rs: rs}.get(res, p.URN, p.Attr)
	if !found || v == nil {
		return nil
	}
	var elems []any
	switch v := v.(type) {
	case []any:
		elems = v
	default:
		elems = []any{v}
	}
	if p.Filter != nil {
		sc := scope{element: true}
		if def != nil {
			sc.attrs = def.SubAttrs
		}
		var kept []any
		for _, e := range elems {
			if m, ok := e.(map[string]any); ok && p.Filter.root.eval(m, sc) {
				kept = append(kept, e)
			}
		}
		elems = kept
	}
	if p.SubAttr == "" {
		if len(elems) == 0 {
			return nil
		}
		if p.Filter == nil {
			// Don't hand out the resource's own slice.
			return append([]any(nil), elems...)
		}
		return elems
	}
	var out []any
	for _, e := range elems {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		sv, _, ok := lookupKey(m, p.SubAttr)
		if !ok || sv == nil {
			continue
		}
		if l, ok := sv.([]any); ok {
			out = append(out, l...)
		} else {
			out = append(out, sv)
		}
	}
	return out
}

// looksLikeSchemaURN guesses, without a schema, whether the last segment
// of a URN path names a resource type ("...:User") rather than an
// attribute: RFC 7643 resource types are capitalised, attributes are not.
func looksLikeSchemaURN(last string) bool {
	for _, r := range last {
		return unicode.IsUpper(r)
	}
	return false
}
