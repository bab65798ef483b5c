package scimpath

import (
	"cmp"
	"strconv"
	"strings"
	"time"
)

// Sorting (RFC 7644 §3.4.2.3): sortBy names an attribute in standard
// notation; a multi-valued one sorts by its primary value, else its first;
// a complex one must name a sub-attribute. Strings compare as their
// attribute's caseExact says (case-insensitively by default). Resources
// without a value sort last ascending and first descending.

// Sort is a parsed sortBy/sortOrder.
type Sort struct {
	path       Path
	def        *Attr // the attribute compared (the sub-attribute for a.b); nil if undeclared
	Descending bool
}

// ParseSort parses sortBy and sortOrder ("" is ascending) against rs.
// Errors are *Error invalidValue (a path that is not an attribute path, a
// filter in it, a complex attribute without a sub-attribute, an unknown
// sortOrder). An attribute rs does not declare is accepted: every
// resource then lacks it, as a filter on it would find.
func ParseSort(sortBy, sortOrder string, rs *ResourceSchema) (*Sort, error) {
	s := &Sort{}
	switch strings.ToLower(strings.TrimSpace(sortOrder)) {
	case "", "ascending":
	case "descending":
		s.Descending = true
	default:
		return nil, badRequest(ErrInvalidValue, `sortOrder must be "ascending" or "descending", not `+quoteShort(sortOrder))
	}
	p, err := ParsePath(sortBy)
	if err != nil || p.Filter != nil {
		return nil, badRequest(ErrInvalidValue, "sortBy must be an attribute path such as userName or name.familyName, not "+quoteShort(sortBy))
	}
	s.path = p
	r := p.resolve(rs)
	switch {
	case r.attr == nil:
	case p.SubAttr != "":
		s.def = r.sub
	case r.attr.Type == TypeComplex && !isValueComplex(r.attr):
		return nil, badRequest(ErrInvalidValue, "sortBy "+quoteShort(sortBy)+" is complex: name one of its sub-attributes (e.g. "+r.attr.Name+"."+firstSub(r.attr)+")")
	case r.attr.Type == TypeComplex:
		s.def = findAttr(r.attr.SubAttrs, "value")
	default:
		s.def = r.attr
	}
	return s, nil
}

// isValueComplex reports whether a complex attribute is the usual
// multi-valued {value, type, primary…} kind, which sorts by its value.
func isValueComplex(a *Attr) bool {
	return a.MultiValued && findAttr(a.SubAttrs, "value") != nil
}

func firstSub(a *Attr) string {
	if len(a.SubAttrs) > 0 {
		return a.SubAttrs[0].Name
	}
	return "value"
}

// Attr returns the attribute sorted on as written in sortBy, for messages.
func (s *Sort) Attr() string { return s.path.String() }

// SortKey is one resource's value for a Sort, ready to compare.
type SortKey struct {
	present bool
	kind    uint8 // 0 string, 1 number, 2 bool, 3 time
	str     string
	num     float64
	t       time.Time
}

// Key extracts res's sort value.
func (s *Sort) Key(res map[string]any, rs *ResourceSchema) SortKey {
	_, v, found := scope{rs: rs}.get(res, s.path.URN, s.path.Attr)
	if !found || v == nil {
		return SortKey{}
	}
	if l, ok := v.([]any); ok {
		v = pickValue(l)
	}
	sub := s.path.SubAttr
	if m, ok := v.(map[string]any); ok {
		if sub == "" {
			sub = "value"
		}
		v, _, _ = lookupKey(m, sub)
	}
	return s.keyOf(v)
}

// pickValue is a multi-valued attribute's sort value: the primary one,
// else the first.
func pickValue(l []any) any {
	for _, e := range l {
		if primaryValue(e) {
			return e
		}
	}
	if len(l) > 0 {
		return l[0]
	}
	return nil
}

func (s *Sort) keyOf(v any) SortKey {
	k := SortKey{present: true}
	typ := ""
	caseExact := false
	if s.def != nil {
		typ, caseExact = s.def.Type, s.def.CaseExact
	}
	switch x := v.(type) {
	case nil:
		return SortKey{}
	case bool:
		k.kind = 2
		if x {
			k.num = 1
		}
	case string:
		if typ == TypeDateTime {
			if t, ok := parseTime(x); ok {
				k.kind, k.t = 3, t
				return k
			}
		}
		if typ == TypeInteger || typ == TypeDecimal {
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				k.kind, k.num = 1, f
				return k
			}
		}
		k.str = x
		if !caseExact {
			k.str = strings.ToLower(x)
		}
	case map[string]any, []any:
		return SortKey{}
	default:
		f, ok := toFloat(x)
		if !ok {
			return SortKey{}
		}
		k.kind, k.num = 1, f
	}
	return k
}

// Compare orders two keys as the sort asks: absent values last when
// ascending (first when descending), values of different kinds by kind.
func (s *Sort) Compare(a, b SortKey) int {
	c := compareKeys(a, b)
	if s.Descending {
		return -c
	}
	return c
}

func compareKeys(a, b SortKey) int {
	switch {
	case !a.present || !b.present:
		// present before absent
		if a.present == b.present {
			return 0
		}
		if a.present {
			return -1
		}
		return 1
	case a.kind != b.kind:
		return cmp.Compare(a.kind, b.kind)
	case a.kind == 0:
		return strings.Compare(a.str, b.str)
	case a.kind == 3:
		return a.t.Compare(b.t)
	}
	return cmp.Compare(a.num, b.num)
}
