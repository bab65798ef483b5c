package scim

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/scimpath"
)

// Checks RFC 7643/7644 asks for that the library's schema validation does
// not do (found by independent conformance checkers, issue 16).

// checkSchemas refuses a POST/PUT body whose "schemas" does not name the
// resource type's core schema (RFC 7643 §3: "schemas" lists the schemas
// the resource conforms to; a Group body sent to /Users is not a User).
// A body without "schemas" is accepted as the endpoint's type: clients
// (and Microsoft's and our own older tests) omit it, and the endpoint
// leaves no doubt which type is meant.
func checkSchemas(d *resourceDef, raw map[string]any) *Error {
	v, ok := lookupFold(raw, "schemas")
	if !ok {
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		return errorf(http.StatusBadRequest, "invalidValue", `"schemas" must be a list of schema URIs containing "`+d.core.ID+`"`)
	}
	for _, s := range list {
		if u, ok := s.(string); ok && strings.EqualFold(strings.TrimSpace(u), d.core.ID) {
			return nil
		}
	}
	return errorf(http.StatusBadRequest, "invalidValue", `"schemas" must contain "`+d.core.ID+`" for a `+d.typ)
}

// checkMultiValued enforces RFC 7643 §2.4 on validated POST/PUT
// attributes: "primary" true at most once per attribute (400 naming it),
// and exact duplicate values dropped before storing.
func checkMultiValued(attrs map[string]any) *Error {
	if name := scimpath.MultiplePrimary(attrs); name != "" {
		return errorf(http.StatusBadRequest, "invalidValue", name+`: more than one value has "primary": true (RFC 7643 §2.4 allows one)`)
	}
	scimpath.DropDuplicateValues(attrs)
	return nil
}

// checkText refuses a body that is not valid UTF-8, or whose JSON escapes
// name a lone UTF-16 surrogate: encoding/json would replace either with
// U+FFFD and we would store a value the client never sent (RFC 8259 §8.1:
// JSON text is UTF-8).
func checkText(b []byte) *Error {
	if !utf8.Valid(b) {
		return errorf(http.StatusBadRequest, "invalidSyntax", "request body is not valid UTF-8")
	}
	if !validEscapes(b) {
		return errorf(http.StatusBadRequest, "invalidSyntax", `request body has a \u escape naming a lone UTF-16 surrogate`)
	}
	return nil
}

// validEscapes reports whether every \uD800–\uDFFF escape in b is part of
// a high-low surrogate pair. Backslashes outside strings are JSON syntax
// errors the decoder reports anyway.
func validEscapes(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) {
			return true // the decoder reports the truncation
		}
		if b[i+1] != 'u' {
			i++ // \" \\ \n …: skip the escaped byte
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return true // not an escape the decoder accepts; it reports it
		}
		i += 5
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return false
			}
			lo, ok := hex4(b, i+3)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
