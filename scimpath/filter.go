package scimpath

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	filter "github.com/scim2/filter-parser/v2"
)

// Filter is a parsed SCIM filter (RFC 7644 §3.4.2.2). It is immutable and
// safe for concurrent use; parse it once and Match it against many
// resources.
type Filter struct {
	root *node
}

type nodeKind uint8

const (
	nodeCompare nodeKind = iota
	nodeAnd
	nodeOr
	nodeNot
	nodeValuePath // attr[filter]: some element of attr matches sub
)

// node is one expression of a compiled filter.
type node struct {
	kind        nodeKind
	left, right *node // and/or; not and value paths use left
	ref         attrRef
	op          string // eq ne co sw ew gt ge lt le pr
	value       operand
}

// attrRef is an attribute path inside a filter: [urn:]attr[.sub].
type attrRef struct {
	urn, attr, sub string
}

func (r attrRef) String() string {
	s := r.attr
	if r.urn != "" {
		s = r.urn + ":" + s
	}
	if r.sub != "" {
		s += "." + r.sub
	}
	return s
}

// operand is a comparison value with the forms it can be compared in,
// computed once at parse time.
type operand struct {
	raw    any    // string, bool, json.Number or nil, as written
	str    string // the string form (numbers and booleans too)
	lower  string // str lower-cased, for caseExact=false
	num    float64
	isNum  bool
	boolv  bool
	isBool bool
	t      time.Time
	isTime bool
}

func newOperand(v any) operand {
	o := operand{raw: v}
	switch v := v.(type) {
	case string:
		o.str = v
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			o.num, o.isNum = f, true
		}
		o.boolv, o.isBool = parseBool(v)
		if t, ok := parseTime(v); ok {
			o.t, o.isTime = t, true
		}
	case bool:
		o.str = strconv.FormatBool(v)
		o.boolv, o.isBool = v, true
	case json.Number:
		o.str = string(v)
		if f, err := v.Float64(); err == nil {
			o.num, o.isNum = f, true
		}
	}
	o.lower = strings.ToLower(o.str)
	return o
}

// MaxFilterLength is the longest filter ParseFilter accepts.
const MaxFilterLength = 8192

// ParseFilter parses a filter, with NormalizeFilter's tolerance of bare
// values and spacing. Errors are *Error with ScimType invalidFilter.
//
// Parsing is by a small parser of ours (fastparse.go); what it refuses goes
// to github.com/scim2/filter-parser/v2, the reference grammar, which costs
// about a millisecond and thousands of allocations per filter.
func ParseFilter(s string) (*Filter, error) {
	// No IdP sends filters anywhere near this long; the cap keeps a hostile
	// one from costing the fallback parser (filter-parser) real CPU.
	if len(s) > MaxFilterLength {
		return nil, filterError(fmt.Sprintf("filter is longer than %d bytes", MaxFilterLength))
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if root, ok := parseFast(toks); ok {
		return &Filter{root: root}, nil
	}
	return parseWithFilterParser(toks, len(s))
}

func parseWithFilterParser(toks []token, size int) (*Filter, error) {
	norm, err := normalizeTokens(toks, size)
	if err != nil {
		return nil, err
	}
	expr, err := filter.ParseFilterNumber([]byte(norm))
	if err != nil {
		return nil, filterError("cannot parse " + quoteShort(norm))
	}
	root, err := compile(expr)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root}, nil
}

// FromExpression compiles a filter that github.com/scim2/filter-parser/v2
// already parsed (elimity-com/scim hands its handlers one), so it matches
// exactly like ParseFilter's.
func FromExpression(e filter.Expression) (*Filter, error) {
	if e == nil {
		return nil, filterError("empty filter")
	}
	root, err := compile(e)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root}, nil
}

func compile(e filter.Expression) (*node, error) {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		v := e.CompareValue
		switch x := v.(type) {
		case string:
			v = unquoteParsed(x)
		case int: // from filter.ParseFilter rather than ParseFilterNumber
			v = json.Number(strconv.Itoa(x))
		case float64:
			v = json.Number(strconv.FormatFloat(x, 'g', -1, 64))
		}
		return newCompare(refOf(e.AttributePath), string(e.Operator), v)
	case *filter.LogicalExpression:
		if e.Left == nil || e.Right == nil {
			return nil, filterError("incomplete expression")
		}
		l, err := compile(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := compile(e.Right)
		if err != nil {
			return nil, err
		}
		k := nodeAnd
		if strings.EqualFold(string(e.Operator), "or") {
			k = nodeOr
		}
		return &node{kind: k, left: l, right: r}, nil
	case *filter.NotExpression:
		l, err := compile(e.Expression)
		if err != nil {
			return nil, err
		}
		return &node{kind: nodeNot, left: l}, nil
	case *filter.ValuePath:
		l, err := compile(e.ValueFilter)
		if err != nil {
			return nil, err
		}
		return &node{kind: nodeValuePath, ref: refOf(e.AttributePath), left: l}, nil
	}
	return nil, filterError("unsupported expression")
}

func newCompare(ref attrRef, op string, v any) (*node, error) {
	op = strings.ToLower(op)
	switch op {
	case "pr", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	default:
		return nil, filterError("unknown operator")
	}
	if op != "pr" && v == nil && op != "eq" && op != "ne" {
		return nil, filterError("null only compares with eq and ne")
	}
	return &node{kind: nodeCompare, ref: ref, op: op, value: newOperand(v)}, nil
}

func refOf(p filter.AttributePath) attrRef {
	return attrRef{urn: p.URI(), attr: p.AttributeName, sub: p.SubAttributeName()}
}

// unquoteParsed undoes the escapes writeParserString wrote; the parser
// keeps them in the value.
func unquoteParsed(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	if u, err := strconv.Unquote(`"` + s + `"`); err == nil {
		return u
	}
	return s
}

// String returns the filter in canonical RFC 7644 form: lower-case
// operators, quoted strings, and parentheses wherever nesting needs them.
func (f *Filter) String() string {
	if f == nil || f.root == nil {
		return ""
	}
	var b strings.Builder
	f.root.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	switch n.kind {
	case nodeCompare:
		b.WriteString(n.ref.String())
		b.WriteByte(' ')
		b.WriteString(n.op)
		if n.op == "pr" {
			return
		}
		b.WriteByte(' ')
		switch v := n.value.raw.(type) {
		case string:
			writeJSONString(b, v)
		case nil:
			b.WriteString("null")
		default:
			b.WriteString(n.value.str)
		}
	case nodeAnd, nodeOr:
		op := " and "
		if n.kind == nodeOr {
			op = " or "
		}
		n.left.writeOperand(b, n.kind)
		b.WriteString(op)
		n.right.writeOperand(b, n.kind)
	case nodeNot:
		b.WriteString("not (")
		n.left.write(b)
		b.WriteByte(')')
	case nodeValuePath:
		b.WriteString(n.ref.String())
		b.WriteByte('[')
		n.left.write(b)
		b.WriteByte(']')
	}
}

// writeOperand writes n as an operand of a parent and/or, in parentheses
// when it binds looser than the parent (or under and).
func (n *node) writeOperand(b *strings.Builder, parent nodeKind) {
	if n.kind == nodeOr && parent == nodeAnd {
		b.WriteByte('(')
		n.write(b)
		b.WriteByte(')')
		return
	}
	n.write(b)
}

func writeJSONString(b *strings.Builder, s string) {
	q, _ := json.Marshal(s)
	b.Write(q)
}

// Equality reports whether the whole filter is a single `attr eq "value"`
// on a top-level (core, non-complex) string attribute, so the caller can
// answer from an index. attr is spelled as the schema spells it; with a nil
// rs it is returned as written.
func (f *Filter) Equality(rs *ResourceSchema) (attr string, value string, ok bool) {
	if f == nil || f.root == nil {
		return "", "", false
	}
	return equality(f.root, rs)
}

// Equalities lists the `attr eq "value"` terms (as Equality reads them)
// that the whole filter requires: the filter itself, or the terms of a
// conjunction at its top, such as Entra's `id eq "g" and members eq "u"`.
// A resource the filter matches satisfies every one, so any of them can
// narrow the candidates to an index lookup. With a schema, an equality on
// the value of a multi-valued core attribute is listed as "emails.value":
// `emails.value eq "x"`, or a value filter that requires `value eq "x"`
// (`emails[type eq "work" and value eq "x"]`, Entra's
// `emails[type eq "work"].value eq "x"`).
func (f *Filter) Equalities(rs *ResourceSchema) (attrs, values []string) {
	if f == nil || f.root == nil {
		return nil, nil
	}
	var walk func(n *node)
	walk = func(n *node) {
		switch {
		case n.kind == nodeAnd:
			walk(n.left)
			walk(n.right)
			return
		case n.kind == nodeValuePath && rs != nil:
			if a := multiValuedCore(rs, n.ref); a != nil {
				for _, v := range valueEqualities(n.left) {
					attrs, values = append(attrs, a.Name+".value"), append(values, v)
				}
			}
			return
		case n.kind == nodeCompare && rs != nil && n.op == "eq" && strings.EqualFold(n.ref.sub, "value"):
			if a := multiValuedCore(rs, n.ref); a != nil {
				if s, ok := n.value.raw.(string); ok {
					attrs, values = append(attrs, a.Name+".value"), append(values, s)
				}
			}
			return
		}
		if a, v, ok := equality(n, rs); ok {
			attrs, values = append(attrs, a), append(values, v)
		}
	}
	walk(f.root)
	return attrs, values
}

// multiValuedCore returns the core multi-valued complex attribute ref
// names, or nil.
func multiValuedCore(rs *ResourceSchema, ref attrRef) *Attr {
	if ref.urn != "" && !strings.EqualFold(ref.urn, rs.Core.URN) {
		return nil
	}
	a := findAttr(rs.Core.Attrs, ref.attr)
	if a == nil || !a.MultiValued || a.Type != TypeComplex {
		return nil
	}
	return a
}

// valueEqualities lists the strings a value filter requires its element's
// value to equal (terms of its top-level conjunction).
func valueEqualities(n *node) []string {
	switch {
	case n == nil:
		return nil
	case n.kind == nodeAnd:
		return append(valueEqualities(n.left), valueEqualities(n.right)...)
	case n.kind == nodeCompare && n.op == "eq" && n.ref.sub == "" && n.ref.urn == "" && strings.EqualFold(n.ref.attr, "value"):
		if s, ok := n.value.raw.(string); ok {
			return []string{s}
		}
	}
	return nil
}

func equality(n *node, rs *ResourceSchema) (attr string, value string, ok bool) {
	if n.kind != nodeCompare || n.op != "eq" || n.ref.sub != "" {
		return "", "", false
	}
	s, isStr := n.value.raw.(string)
	if !isStr {
		return "", "", false
	}
	if rs == nil {
		if n.ref.urn != "" {
			return "", "", false
		}
		return n.ref.attr, s, true
	}
	if n.ref.urn != "" && !strings.EqualFold(n.ref.urn, rs.Core.URN) {
		return "", "", false
	}
	a := findAttr(rs.Core.Attrs, n.ref.attr)
	if a == nil || a.MultiValued || (a.Type != TypeString && a.Type != TypeReference) {
		return "", "", false
	}
	return a.Name, s, true
}

// Attributes lists the attribute paths the filter names, in order, each
// once: "userName", "name.familyName", "urn:...:User:manager.value"; names
// inside a value filter are joined to their attribute ("emails.type" for
// emails[type eq "work"]). Use it to check a filter against a schema with
// ResourceSchema.Lookup.
func (f *Filter) Attributes() []string {
	if f == nil || f.root == nil {
		return nil
	}
	var out []string
	var walk func(n *node, parent string)
	walk = func(n *node, parent string) {
		switch n.kind {
		case nodeAnd, nodeOr:
			walk(n.left, parent)
			walk(n.right, parent)
		case nodeNot:
			walk(n.left, parent)
		case nodeValuePath:
			name := n.ref.String()
			if parent != "" {
				name = parent + "." + name
			}
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
			walk(n.left, name)
		case nodeCompare:
			name := n.ref.String()
			if parent != "" {
				name = parent + "." + name
			}
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	walk(f.root, "")
	return out
}
