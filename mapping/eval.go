package mapping

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// literal is a quoted string or a number.
type literal struct{ v any }

func (l literal) eval(_ map[string]any, dst []any) ([]any, error) {
	if empty(l.v) {
		return dst, nil
	}
	return append(dst, l.v), nil
}
func (literal) multi() bool { return false }

// pathNode is an attribute path; missing and empty values are dropped so
// that every consumer sees only values that are there.
type pathNode struct{ v valuer }

func (p pathNode) eval(res map[string]any, dst []any) ([]any, error) {
	for _, v := range p.v.get(res) {
		if !empty(v) {
			dst = append(dst, v)
		}
	}
	return dst, nil
}

func (p pathNode) multi() bool { return p.v.multi() }

// empty says whether v counts as missing: RFC 7643 §2.5 treats null and
// empty arrays as unassigned, and an empty string carries nothing a target
// can use either.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// text renders a simple value as a string; ok is false for complex ones.
func text(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	}
	return "", false
}

func textOf(fn string, v any) (string, error) {
	s, ok := text(v)
	if !ok {
		return "", fmt.Errorf("%s: value is a %T, not a simple value", fn, v)
	}
	return s, nil
}

// strFunc is lower, upper or trim, applied to every value.
type strFunc struct {
	name string
	f    func(string) string
	arg  node
}

func (s strFunc) eval(res map[string]any, dst []any) ([]any, error) {
	start := len(dst)
	dst, err := s.arg.eval(res, dst)
	if err != nil {
		return dst, err
	}
	out := dst[:start]
	for _, v := range dst[start:] {
		str, err := textOf(s.name, v)
		if err != nil {
			return dst[:start], err
		}
		if str = s.f(str); str != "" {
			out = append(out, str)
		}
	}
	return out, nil
}

func (s strFunc) multi() bool { return s.arg.multi() }

// defaultFunc yields the values of its first argument that has any.
type defaultFunc []node

func (d defaultFunc) eval(res map[string]any, dst []any) ([]any, error) {
	start := len(dst)
	for _, a := range d {
		var err error
		if dst, err = a.eval(res, dst); err != nil || len(dst) > start {
			return dst, err
		}
	}
	return dst, nil
}

func (d defaultFunc) multi() bool { return d[0].multi() }

// joinFunc joins every value into one string; nothing to join yields nothing.
type joinFunc struct {
	arg node
	sep string
}

func (j joinFunc) eval(res map[string]any, dst []any) ([]any, error) {
	start := len(dst)
	dst, err := j.arg.eval(res, dst)
	if err != nil || len(dst) == start {
		return dst[:start], err
	}
	var b strings.Builder
	for i, v := range dst[start:] {
		s, err := textOf("join", v)
		if err != nil {
			return dst[:start], err
		}
		if i > 0 {
			b.WriteString(j.sep)
		}
		b.WriteString(s)
	}
	return append(dst[:start], b.String()), nil
}

func (joinFunc) multi() bool { return false }

// nthFunc picks the n-th value (1-based), for targets with numbered
// fields such as SecureAuth's email1..email4.
type nthFunc struct {
	arg node
	n   int
}

func (f nthFunc) eval(res map[string]any, dst []any) ([]any, error) {
	start := len(dst)
	dst, err := f.arg.eval(res, dst)
	if err != nil || len(dst)-start < f.n {
		return dst[:start], err
	}
	v := dst[start+f.n-1]
	return append(dst[:start], v), nil
}

func (nthFunc) multi() bool { return false }

// template renders text with {{expr}} placeholders. A missing placeholder
// renders as nothing and the result is trimmed, so "{{given}} {{family}}"
// with no family name gives "Ada", not "Ada "; when every placeholder is
// missing the field is omitted rather than set to the bare text.
type template struct {
	parts []node // literals and placeholders, in order
}

func (t template) eval(res map[string]any, dst []any) ([]any, error) {
	var b strings.Builder
	found := 0
	scratch := dst[len(dst):] // reuse dst's spare capacity for placeholder values
	for _, p := range t.parts {
		if l, ok := p.(literal); ok {
			s, _ := text(l.v)
			b.WriteString(s)
			continue
		}
		vals, err := p.eval(res, scratch[:0])
		if err != nil {
			return dst, err
		}
		if len(vals) == 0 {
			continue
		}
		s, err := textOf("template", vals[0])
		if err != nil {
			return dst, err
		}
		found++
		b.WriteString(s)
	}
	if found == 0 {
		return dst, nil
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		dst = append(dst, s)
	}
	return dst, nil
}

func (template) multi() bool { return false }
