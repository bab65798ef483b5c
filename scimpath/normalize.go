package scimpath

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// NormalizeFilter rewrites a filter into the strict RFC 7644 form the
// parser accepts, tolerating what IdPs really send:
//
//   - bare values are quoted: `externalId eq jyoung` becomes
//     `externalId eq "jyoung"`, dates included; true, false, null and JSON
//     numbers stay as they are;
//   - runs of white space (tabs, newlines) become one space, and leading
//     and trailing space is dropped;
//   - quoted strings are re-escaped so the parser's narrower string
//     grammar accepts every JSON string.
//
// A comparison without a value (`userName eq`) is an error.
func NormalizeFilter(s string) (string, error) {
	toks, err := tokenize(s)
	if err != nil {
		return "", err
	}
	return normalizeTokens(toks, len(s))
}

func normalizeTokens(toks []token, size int) (string, error) {
	const (
		wantAttr = iota
		wantOp
		wantValue
		wantLogic
	)
	state := wantAttr
	var b strings.Builder
	b.Grow(size + 8)
	prev := tokSpace
	for i, t := range toks {
		// One space between tokens, none around brackets and after '('.
		if i > 0 && t.kind != tokClose && t.kind != tokOpenBracket && t.kind != tokCloseBracket &&
			prev != tokOpen && prev != tokOpenBracket {
			b.WriteByte(' ')
		}
		prev = t.kind
		switch t.kind {
		case tokOpen:
			if state != wantAttr {
				return "", filterError("unexpected '('")
			}
			b.WriteByte('(')
		case tokClose:
			if state != wantLogic {
				return "", filterError("unexpected ')'")
			}
			b.WriteByte(')')
		case tokOpenBracket:
			if state != wantOp {
				return "", filterError("unexpected '['")
			}
			b.WriteByte('[')
			state = wantAttr
		case tokCloseBracket:
			if state != wantLogic {
				return "", filterError("unexpected ']'")
			}
			b.WriteByte(']')
		case tokString:
			if state != wantValue {
				return "", filterError("unexpected string")
			}
			writeParserString(&b, t.text)
			state = wantLogic
		case tokWord:
			switch state {
			case wantAttr:
				if strings.EqualFold(t.text, "not") && i+1 < len(toks) && toks[i+1].kind == tokOpen {
					b.WriteString("not")
					continue
				}
				b.WriteString(t.text)
				state = wantOp
			case wantOp:
				op := strings.ToLower(t.text)
				switch op {
				case "pr":
					state = wantLogic
				case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
					state = wantValue
				default:
					return "", filterError("unknown operator")
				}
				b.WriteString(op)
			case wantValue:
				switch lw := strings.ToLower(t.text); {
				case lw == "true" || lw == "false" || lw == "null":
					b.WriteString(lw)
				case json.Valid([]byte(t.text)) && isNumberStart(t.text[0]):
					b.WriteString(t.text)
				default:
					writeParserString(&b, t.text)
				}
				state = wantLogic
			case wantLogic:
				lw := strings.ToLower(t.text)
				if lw != "and" && lw != "or" {
					return "", filterError("expected and/or")
				}
				b.WriteString(lw)
				state = wantAttr
			}
		}
	}
	if state != wantLogic {
		return "", filterError("incomplete expression")
	}
	return b.String(), nil
}

func isNumberStart(c byte) bool { return c == '-' || (c >= '0' && c <= '9') }

type tokKind int

const (
	tokSpace tokKind = iota
	tokWord
	tokString // text is the decoded string
	tokOpen
	tokClose
	tokOpenBracket
	tokCloseBracket
)

type token struct {
	kind tokKind
	text string
}

func tokenize(s string) ([]token, error) {
	toks := make([]token, 0, 16)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{kind: tokOpen})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokClose})
			i++
		case c == '[':
			toks = append(toks, token{kind: tokOpenBracket})
			i++
		case c == ']':
			toks = append(toks, token{kind: tokCloseBracket})
			i++
		case c == '"':
			end := i + 1
			for ; end < len(s) && s[end] != '"'; end++ {
				if s[end] == '\\' {
					end++
				}
			}
			if end >= len(s) {
				return nil, filterError("unterminated string")
			}
			v, ok := plainString(s[i+1 : end])
			if !ok {
				if err := json.Unmarshal([]byte(s[i:end+1]), &v); err != nil {
					return nil, filterError("invalid string")
				}
			}
			toks = append(toks, token{kind: tokString, text: v})
			i = end + 1
		default:
			end := i
			for end < len(s) && !strings.ContainsRune(" \t\n\r()[]\"", rune(s[end])) {
				end++
			}
			toks = append(toks, token{kind: tokWord, text: validUTF8(s[i:end])})
			i = end
		}
	}
	return toks, nil
}

// validUTF8 replaces each invalid byte by U+FFFD, as JSON decoding of
// quoted strings does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte
		i += size
	}
	return b.String()
}

// plainString returns the body of a quoted string that needs no JSON
// decoding (no escapes, no control characters, valid UTF-8), without
// allocating.
func plainString(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == '\\' {
			return "", false
		}
	}
	return s, utf8.ValidString(s)
}

// writeParserString writes v as a string literal the filter parser
// accepts: its grammar only knows \" \\ and \uXXXX with upper-case hex, and
// keeps escapes in the parsed value (unquoteParsed undoes them).
func writeParserString(b *strings.Builder, v string) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('"')
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xF])
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\uFFFD`)
		default:
			b.WriteString(v[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

func filterError(detail string) *Error {
	return badRequest(ErrInvalidFilter, "invalid filter: "+detail)
}
