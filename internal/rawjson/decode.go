package rawjson

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeObject decodes the JSON object at the start of raw (after white
// space) as encoding/json decodes it into a map[string]any: objects as
// map[string]any (the last of duplicate keys wins), arrays as []any,
// numbers as float64 (json.Number when useNumber, as Decoder.UseNumber),
// strings unescaped. end is the index just past the object's closing
// brace. It covers what the server stores and receives, without
// encoding/json's reflection and separate validation pass; ok is false
// for anything it does not decode exactly as encoding/json would (an
// error there, invalid UTF-8, lone surrogates, numbers out of range,
// nesting deeper than maxDepth), and the caller then asks encoding/json.
func DecodeObject(raw []byte, useNumber bool) (m map[string]any, end int, ok bool) {
	d := decoder{raw: raw, useNumber: useNumber}
	d.i = skipSpace(raw, 0)
	if d.i >= len(raw) || raw[d.i] != '{' {
		return nil, 0, false
	}
	m, ok = d.object()
	return m, d.i, ok
}

// maxDepth bounds the fast path's recursion (encoding/json allows 10,000).
const maxDepth = 1000

type decoder struct {
	raw       []byte
	i         int
	depth     int
	useNumber bool
}

// value decodes the value at d.i (white space skipped before it).
func (d *decoder) value() (any, bool) {
	d.i = skipSpace(d.raw, d.i)
	if d.i >= len(d.raw) {
		return nil, false
	}
	switch c := d.raw[d.i]; {
	case c == '{':
		m, ok := d.object()
		return m, ok
	case c == '[':
		return d.array()
	case c == '"':
		s, ok := d.str()
		return s, ok
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, false
}

func (d *decoder) literal(word string) bool {
	if len(d.raw)-d.i < len(word) || string(d.raw[d.i:d.i+len(word)]) != word {
		return false
	}
	d.i += len(word)
	return true
}

// object decodes the object whose '{' is at d.i.
func (d *decoder) object() (map[string]any, bool) {
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	defer func() { d.depth-- }()
	m := map[string]any{}
	d.i = skipSpace(d.raw, d.i+1)
	if d.i < len(d.raw) && d.raw[d.i] == '}' {
		d.i++
		return m, true
	}
	for {
		if d.i >= len(d.raw) || d.raw[d.i] != '"' {
			return nil, false
		}
		k, ok := d.str()
		if !ok {
			return nil, false
		}
		d.i = skipSpace(d.raw, d.i)
		if d.i >= len(d.raw) || d.raw[d.i] != ':' {
			return nil, false
		}
		d.i++
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		m[k] = v
		d.i = skipSpace(d.raw, d.i)
		if d.i >= len(d.raw) {
			return nil, false
		}
		switch d.raw[d.i] {
		case ',':
			d.i = skipSpace(d.raw, d.i+1)
		case '}':
			d.i++
			return m, true
		default:
			return nil, false
		}
	}
}

// array decodes the array whose '[' is at d.i.
func (d *decoder) array() (any, bool) {
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	defer func() { d.depth-- }()
	a := []any{}
	d.i = skipSpace(d.raw, d.i+1)
	if d.i < len(d.raw) && d.raw[d.i] == ']' {
		d.i++
		return a, true
	}
	for {
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		d.i = skipSpace(d.raw, d.i)
		if d.i >= len(d.raw) {
			return nil, false
		}
		switch d.raw[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a, true
		default:
			return nil, false
		}
	}
}

// str decodes the string whose '"' is at d.i.
func (d *decoder) str() (string, bool) {
	start := d.i + 1
	i := start
	for i < len(d.raw) {
		c := d.raw[i]
		switch {
		case c == '"':
			s := d.raw[start:i]
			d.i = i + 1
			return string(s), true
		case c == '\\':
			return d.escaped(start, i)
		case c < ' ':
			return "", false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d.raw[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false // encoding/json replaces it: leave that to it
			}
			i += size
		}
	}
	return "", false
}

// escaped finishes a string from start whose first escape is at i.
func (d *decoder) escaped(start, i int) (string, bool) {
	b := make([]byte, 0, i-start+16)
	b = append(b, d.raw[start:i]...)
	for i < len(d.raw) {
		c := d.raw[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(b), true
		case c == '\\':
			if i+1 >= len(d.raw) {
				return "", false
			}
			switch e := d.raw[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				if i+6 > len(d.raw) {
					return "", false
				}
				r, err := strconv.ParseUint(string(d.raw[i+2:i+6]), 16, 32)
				if err != nil || utf16.IsSurrogate(rune(r)) {
					return "", false // surrogates (pairs or lone): encoding/json's rules
				}
				b = utf8.AppendRune(b, rune(r))
				i += 6
				continue
			default:
				return "", false
			}
			i += 2
		case c < ' ':
			return "", false
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.raw[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			b = append(b, d.raw[i:i+size]...)
			i += size
		}
	}
	return "", false
}

// number decodes the number at d.i, checking JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() (any, bool) {
	raw, i := d.raw, d.i
	start := i
	if raw[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(raw) && raw[i] == '0' {
		i++
	} else if digits() == 0 {
		return nil, false
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		if digits() == 0 {
			return nil, false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	d.i = i
	s := string(raw[start:i])
	if d.useNumber {
		return json.Number(s), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, false // out of range: encoding/json's error
	}
	return f, true
}
