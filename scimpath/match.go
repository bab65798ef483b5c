package scimpath

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// scope is where names resolve: a whole resource described by rs (which
// may be nil), or, inside a value filter, an element of a complex
// attribute described by attrs.
type scope struct {
	rs      *ResourceSchema
	attrs   []Attr
	element bool
}

// Match reports whether res satisfies the filter. rs may be nil: names then
// match case-insensitively and values compare by their JSON types, strings
// case-insensitively. Comparing values of incompatible types is false,
// never a panic.
func (f *Filter) Match(res map[string]any, rs *ResourceSchema) bool {
	if f == nil || f.root == nil {
		return true
	}
	return f.root.eval(res, scope{rs: rs})
}

func (n *node) eval(obj map[string]any, sc scope) bool {
	switch n.kind {
	case nodeAnd:
		return n.left.eval(obj, sc) && n.right.eval(obj, sc)
	case nodeOr:
		return n.left.eval(obj, sc) || n.right.eval(obj, sc)
	case nodeNot:
		return !n.left.eval(obj, sc)
	case nodeValuePath:
		def, v, _ := sc.get(obj, n.ref.urn, n.ref.attr)
		if n.ref.sub != "" { // name.x[...]: a complex sub-attribute
			if def != nil {
				def = findAttr(def.SubAttrs, n.ref.sub)
			}
			m, _ := v.(map[string]any)
			v, _, _ = lookupKey(m, n.ref.sub)
		}
		sub := scope{element: true}
		if def != nil {
			sub.attrs = def.SubAttrs
		}
		switch v := v.(type) {
		case map[string]any:
			return n.left.eval(v, sub)
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok && n.left.eval(m, sub) {
					return true
				}
			}
		}
		return false
	}
	def, v, found := sc.get(obj, n.ref.urn, n.ref.attr)
	if n.ref.sub == "" {
		return n.compare(def, v, found)
	}
	if def != nil {
		def = findAttr(def.SubAttrs, n.ref.sub)
	}
	switch v := v.(type) {
	case map[string]any:
		sv, _, ok := lookupKey(v, n.ref.sub)
		return n.compare(def, sv, ok)
	case []any:
		// emails.value: true when some element's sub-attribute matches.
		seen := false
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				if sv, _, ok := lookupKey(m, n.ref.sub); ok && sv != nil {
					seen = true
					if n.compare(def, sv, true) {
						return true
					}
				}
			}
		}
		return !seen && n.compare(def, nil, false)
	}
	return n.compare(def, nil, false)
}

// compare applies a comparison node to an attribute's value.
func (n *node) compare(def *Attr, v any, found bool) bool {
	if n.op == "pr" {
		return present(v)
	}
	if !found || v == nil {
		// Absent: only "eq null" and "ne <something>" hold.
		return n.value.raw == nil && n.op == "eq" || n.value.raw != nil && n.op == "ne"
	}
	return matchValue(def, v, n.op, &n.value)
}

// get resolves [urn:]name in obj: the attribute's definition (nil when
// unknown) and its value.
func (sc scope) get(obj map[string]any, urn, name string) (*Attr, any, bool) {
	if sc.element {
		def := findAttr(sc.attrs, name)
		v, _, ok := lookupKey(obj, name)
		return def, v, ok
	}
	container, attrs := resourceContainer(obj, sc.rs, urn, false)
	if container == nil {
		return nil, nil, false
	}
	def := findAttr(attrs, name)
	if def != nil {
		name = def.Name
	}
	v, _, ok := lookupKey(container, name)
	return def, v, ok
}

// resourceContainer finds the map holding the attributes of the schema urn
// names ("" for the core schema) and their definitions. With create, a
// missing extension object is created in res.
func resourceContainer(res map[string]any, rs *ResourceSchema, urn string, create bool) (map[string]any, []Attr) {
	if rs == nil {
		if urn == "" {
			return res, nil
		}
		if v, _, ok := lookupKey(res, urn); ok {
			m, _ := v.(map[string]any)
			return m, nil
		}
		if indexFoldASCII(urn, ":core:") >= 0 {
			return res, nil
		}
		if create {
			m := map[string]any{}
			res[urn] = m
			addSchema(res, urn)
			return m, nil
		}
		return nil, nil
	}
	if urn == "" {
		return res, rs.Core.Attrs
	}
	s := rs.schemaFor(urn)
	switch {
	case s == nil:
		return nil, nil
	case s == &rs.Core:
		return res, s.Attrs
	}
	v, _, ok := lookupKey(res, s.URN)
	if m, isMap := v.(map[string]any); ok && isMap {
		return m, s.Attrs
	}
	if !create {
		return nil, s.Attrs
	}
	m := map[string]any{}
	res[s.URN] = m
	addSchema(res, s.URN)
	return m, s.Attrs
}

// addSchema lists urn in res's "schemas" when res has such a list.
func addSchema(res map[string]any, urn string) {
	list, ok := res["schemas"].([]any)
	if !ok {
		return
	}
	for _, s := range list {
		if s, ok := s.(string); ok && strings.EqualFold(s, urn) {
			return
		}
	}
	res["schemas"] = append(list, urn)
}

// present is the pr operator: not null, not "", not an empty list or
// object; a list is present when one of its elements is.
func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		for _, e := range v {
			if present(e) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, e := range v {
			if present(e) {
				return true
			}
		}
		return false
	}
	return true
}

// matchValue compares one attribute value, a list (any element matches) or
// a complex value (its "value" sub-attribute).
func matchValue(def *Attr, v any, op string, o *operand) bool {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if matchValue(def, e, op, o) {
				return true
			}
		}
		return false
	case map[string]any:
		sv, _, ok := lookupKey(v, "value")
		if !ok {
			return false
		}
		var sdef *Attr
		if def != nil {
			sdef = findAttr(def.SubAttrs, "value")
		}
		return matchValue(sdef, sv, op, o)
	}
	return compareScalar(def, v, op, o)
}

func compareScalar(def *Attr, v any, op string, o *operand) bool {
	if o.raw == nil {
		return (op == "eq") == (v == nil)
	}
	var typ string
	var caseExact bool
	if def != nil {
		// Binary is case exact whatever the schema says (RFC 7643 §2.3.6):
		// base64 "QQ==" and "qq==" are different bytes.
		typ, caseExact = def.Type, def.CaseExact || def.Type == TypeBinary
	}
	switch v := v.(type) {
	case bool:
		return o.isBool && compareBool(v, op, o.boolv)
	case string:
		switch typ {
		case TypeBoolean:
			b, ok := parseBool(v)
			return ok && o.isBool && compareBool(b, op, o.boolv)
		case TypeInteger, TypeDecimal:
			f, err := strconv.ParseFloat(v, 64)
			return err == nil && o.isNum && compareOrdered(compareFloat(f, o.num), op)
		case TypeDateTime:
			if o.isTime && op != "co" && op != "sw" && op != "ew" {
				if t, ok := parseTime(v); ok {
					return compareOrdered(t.Compare(o.t), op)
				}
			}
		case "":
			// No schema: compare by the operand's type where v allows.
			switch o.raw.(type) {
			case bool:
				b, ok := parseBool(v)
				return ok && compareBool(b, op, o.boolv)
			case json.Number:
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					return compareOrdered(compareFloat(f, o.num), op)
				}
			case string:
				if o.isTime && (op == "gt" || op == "ge" || op == "lt" || op == "le") {
					if t, ok := parseTime(v); ok {
						return compareOrdered(t.Compare(o.t), op)
					}
				}
			}
		}
		return compareString(v, op, o, caseExact)
	default:
		if f, ok := toFloat(v); ok {
			return o.isNum && compareOrdered(compareFloat(f, o.num), op)
		}
	}
	return false
}

// parseBool reads "true" and "false" in any case (Entra sends "True").
func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case float32:
		return float64(v), true
	}
	return 0, false
}

func compareBool(v bool, op string, want bool) bool {
	switch op {
	case "eq":
		return v == want
	case "ne":
		return v != want
	}
	return false
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareOrdered applies op to the result of a three-way comparison;
// co, sw and ew make no sense here and are false.
func compareOrdered(c int, op string) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

func compareString(v, op string, o *operand, caseExact bool) bool {
	if caseExact {
		switch op {
		case "co":
			return strings.Contains(v, o.str)
		case "sw":
			return strings.HasPrefix(v, o.str)
		case "ew":
			return strings.HasSuffix(v, o.str)
		}
		return compareOrdered(strings.Compare(v, o.str), op)
	}
	switch op {
	case "eq":
		return strings.EqualFold(v, o.str)
	case "ne":
		return !strings.EqualFold(v, o.str)
	}
	if !isASCII(v) || !isASCII(o.lower) {
		lv := strings.ToLower(v)
		switch op {
		case "co":
			return strings.Contains(lv, o.lower)
		case "sw":
			return strings.HasPrefix(lv, o.lower)
		case "ew":
			return strings.HasSuffix(lv, o.lower)
		}
		return compareOrdered(strings.Compare(lv, o.lower), op)
	}
	switch op {
	case "co":
		return indexFoldASCII(v, o.lower) >= 0
	case "sw":
		return len(v) >= len(o.lower) && equalFoldASCII(v[:len(o.lower)], o.lower)
	case "ew":
		return len(v) >= len(o.lower) && equalFoldASCII(v[len(v)-len(o.lower):], o.lower)
	}
	return compareOrdered(compareFoldASCII(v, o.lower), op)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldASCII compares s with lower, which is already lower-case.
func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		if lowerASCII(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

func indexFoldASCII(s, lower string) int {
	for i := 0; i+len(lower) <= len(s); i++ {
		if equalFoldASCII(s[i:i+len(lower)], lower) {
			return i
		}
	}
	return -1
}

func compareFoldASCII(s, lower string) int {
	for i := 0; i < len(s) && i < len(lower); i++ {
		a, b := lowerASCII(s[i]), lower[i]
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return compareFloat(float64(len(s)), float64(len(lower)))
}

// parseTime parses an RFC 3339 / xsd:dateTime value, fractional seconds
// of any length and offsets included; without an offset it is UTC.
func parseTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[10] != 'T' && s[10] != 't' {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}
