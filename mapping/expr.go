package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// An expression compiles to a tree of nodes. Evaluation appends the
// expression's values to dst: every node yields a list, because a SCIM
// path may select several values (emails.value) and join/nth need them
// all. Whether a target field receives the list or its first value is
// decided once, at compile time, by node.multi.
type node interface {
	eval(res map[string]any, dst []any) ([]any, error)
	// multi reports whether the field should receive every value as a
	// []any rather than the first one.
	multi() bool
}

// valuer is a compiled SCIM attribute path (package scimpath does the work).
type valuer interface {
	get(res map[string]any) []any
	multi() bool
	// complex reports whether the path selects whole complex values
	// (emails, name), which the string transforms cannot take.
	complex() bool
}

// pathCompiler turns the text of an attribute path into a valuer.
type pathCompiler func(raw string) (valuer, error)

// parseExpr compiles one mapping expression (syntax in spec.go).
func parseExpr(s string, path pathCompiler) (node, error) {
	n, err := parseStrict(s, path)
	if err != nil {
		// YAML eats the quotes of `display: "{{name.givenName}} {{name.familyName}}"`.
		// Only a template has "{{" outside a quoted string: take it as one.
		if t := strings.TrimSpace(s); bareTemplate(t) {
			n, err := parseTemplate(t, path)
			if err != nil {
				return nil, fmt.Errorf("template %v", err)
			}
			return n, nil
		}
		return nil, err
	}
	return n, nil
}

// parseStrict compiles an expression that must parse as written.
func parseStrict(s string, path pathCompiler) (node, error) {
	p := &parser{s: s, path: path}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, p.syntaxf("unexpected %q", p.rest())
	}
	return n, nil
}

// bareTemplate reports whether s has "{{" before any quote or function
// call: lower({{x}}) is a mistake to report, not text to render.
func bareTemplate(s string) bool {
	i := strings.Index(s, "{{")
	return i >= 0 && !strings.ContainsAny(s[:i], `"(`)
}

type parser struct {
	s    string
	i    int
	path pathCompiler
}

// syntaxf reports a syntax error at the current column.
func (p *parser) syntaxf(format string, args ...any) error {
	return fmt.Errorf("%s at column %d", fmt.Sprintf(format, args...), p.i+1)
}

// rest is the unparsed input, cut short for error messages.
func (p *parser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (p *parser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) expr() (node, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, p.syntaxf("missing expression")
	}
	switch c := p.s[p.i]; {
	case c == '"':
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		if strings.Contains(s, "{{") {
			n, err := parseTemplate(s, p.path)
			if err != nil {
				return nil, fmt.Errorf("template %v", err)
			}
			return n, nil
		}
		return literal{s}, nil
	case c >= '0' && c <= '9' || c == '-':
		return p.number()
	case c == ',' || c == ')' || c == '(':
		return nil, p.syntaxf("unexpected %q", c)
	}
	// A name directly followed by "(" is a function call; anything else
	// is an attribute path, which runs to the next top-level "," or ")".
	start := p.i
	for p.i < len(p.s) && isNameByte(p.s[p.i]) {
		p.i++
	}
	name := p.s[start:p.i]
	p.space()
	if name != "" && p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		return p.call(name)
	}
	p.i = start
	return p.attrPath()
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// quoted reads a double-quoted string with JSON-style escapes.
func (p *parser) quoted() (string, error) {
	start := p.i
	for i := p.i + 1; i < len(p.s); i++ {
		switch p.s[i] {
		case '\\':
			i++
		case '"':
			s, err := strconv.Unquote(p.s[start : i+1])
			if err != nil {
				return "", p.syntaxf("bad string %s", p.s[start:i+1])
			}
			p.i = i + 1
			return s, nil
		}
	}
	return "", p.syntaxf("unterminated string")
}

func (p *parser) number() (node, error) {
	start := p.i
	p.i++
	for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.') {
		p.i++
	}
	f, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil {
		return nil, p.syntaxf("bad number %q", p.s[start:p.i])
	}
	return literal{f}, nil
}

// attrPath scans an attribute path up to the next top-level "," or ")",
// skipping brackets and quoted strings of value filters, and hands the
// text to scimpath: this package parses no SCIM syntax itself.
func (p *parser) attrPath() (node, error) {
	start, depth := p.i, 0
scan:
	for ; p.i < len(p.s); p.i++ {
		switch p.s[p.i] {
		case '[':
			depth++
		case ']':
			depth--
		case '"':
			if depth == 0 {
				break scan
			}
			if _, err := p.quoted(); err != nil {
				return nil, err
			}
			p.i-- // the loop's increment steps over the closing quote
		case ',', ')':
			if depth == 0 {
				break scan
			}
		}
	}
	raw := strings.TrimRight(p.s[start:p.i], " \t")
	if raw == "" {
		return nil, p.syntaxf("unexpected %q", p.rest())
	}
	v, err := p.path(raw)
	if err != nil {
		return nil, err
	}
	return pathNode{v}, nil
}

func (p *parser) call(name string) (node, error) {
	var args []node
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			p.space()
			if p.i >= len(p.s) {
				return nil, p.syntaxf("missing \")\" to close %s(", name)
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return nil, p.syntaxf("unexpected %q in %s(...)", p.rest(), name)
			}
			p.i++
		}
	}
	return newCall(name, args)
}

// functions lists the transforms, for the "unknown function" hint.
const functions = "default, join, lower, nth, trim, upper"

func newCall(name string, args []node) (node, error) {
	arity := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %d argument%s, got %d", name, n, plural(n), len(args))
		}
		return nil
	}
	switch name {
	case "lower", "upper", "trim":
		if err := arity(1); err != nil {
			return nil, err
		}
		if err := stringish(name, args[0]); err != nil {
			return nil, err
		}
		f := map[string]func(string) string{"lower": strings.ToLower, "upper": strings.ToUpper, "trim": strings.TrimSpace}[name]
		return strFunc{name: name, f: f, arg: args[0]}, nil
	case "default":
		if len(args) < 2 {
			return nil, fmt.Errorf("default takes 2 or more arguments, got %d", len(args))
		}
		return defaultFunc(args), nil
	case "join":
		if err := arity(2); err != nil {
			return nil, err
		}
		sep, ok := args[1].(literal)
		s, isStr := sep.v.(string)
		if !ok || !isStr {
			return nil, errors.New(`join's separator must be a quoted string, as in join(emails.value, ",")`)
		}
		if err := stringish(name, args[0]); err != nil {
			return nil, err
		}
		return joinFunc{arg: args[0], sep: s}, nil
	case "nth":
		if err := arity(2); err != nil {
			return nil, err
		}
		lit, ok := args[1].(literal)
		f, isNum := lit.v.(float64)
		if !ok || !isNum || f < 1 || f != float64(int(f)) {
			return nil, errors.New("nth's index must be a whole number from 1, as in nth(emails.value, 2)")
		}
		return nthFunc{arg: args[0], n: int(f)}, nil
	}
	return nil, fmt.Errorf("unknown function %q (have %s)", name, functions)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// stringish rejects, at compile time, a string transform over whole
// complex values (lower(emails) rather than lower(emails.value)).
func stringish(fn string, n node) error {
	if p, ok := n.(pathNode); ok && p.v.complex() {
		return fmt.Errorf("%s needs a simple value, not a complex attribute: add a sub-attribute such as .value", fn)
	}
	return nil
}

// parseTemplate compiles "text {{expr}} text". A placeholder holds any
// expression, usually a path.
func parseTemplate(s string, path pathCompiler) (node, error) {
	var t template
	for s != "" {
		open := strings.Index(s, "{{")
		if open < 0 {
			t.parts = append(t.parts, literal{s})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, literal{s[:open]})
		}
		end := strings.Index(s[open:], "}}")
		if end < 0 {
			return nil, fmt.Errorf("%q has no closing }}", s[open:])
		}
		inner := s[open+2 : open+end]
		if strings.TrimSpace(inner) == "" {
			return nil, errors.New("empty {{}}")
		}
		if i := strings.Index(inner, "{{"); i >= 0 {
			return nil, fmt.Errorf("%q: missing }} before the next {{", s[open:open+2+i])
		}
		n, err := parseStrict(inner, path)
		if err != nil {
			return nil, fmt.Errorf("{{%s}}: %v", inner, err)
		}
		if err := stringish("a template", n); err != nil {
			return nil, fmt.Errorf("{{%s}}: %v", inner, err)
		}
		t.parts = append(t.parts, n)
		s = s[open+end+2:]
	}
	return t, nil
}
