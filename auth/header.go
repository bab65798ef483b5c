package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"
)

// Scheme is how a request presents its credential.
type Scheme int

const (
	SchemeNone   Scheme = iota
	SchemeBearer        // "Bearer <token>" (RFC 6750 §2.1)
	SchemeRaw           // "<token>": Okta's Header Auth template
	SchemeBasic         // "Basic base64(user:password)" (RFC 7617)
)

func (s Scheme) String() string {
	switch s {
	case SchemeBearer:
		return "bearer"
	case SchemeRaw:
		return "raw"
	case SchemeBasic:
		return "basic"
	}
	return "none"
}

// Credential is a parsed Authorization header.
type Credential struct {
	Scheme   Scheme
	Token    string // bearer and raw
	Username string // basic
	Password string // basic
}

// maxHeader bounds the header value we look at; an access token is well
// under 2 KiB.
const maxHeader = 8 << 10

var (
	errNoCredential = errors.New("no Authorization header")
	errMalformed    = errors.New("malformed Authorization header")
	errScheme       = errors.New("unsupported authentication scheme")
)

// ParseAuthorization reads an Authorization header value. Scheme names are
// case-insensitive; a bearer token is a token68 (RFC 6750 §2.1, which is
// what every IdP sends); Basic credentials are base64 of UTF-8
// "user:password" (RFC 7617 §2.1, the user holding no ':'); a header of a
// single token68 with no scheme is the raw form. Anything else is an
// error that never quotes the header.
func ParseAuthorization(h string) (Credential, error) {
	h = strings.Trim(h, " \t")
	if h == "" {
		return Credential{}, errNoCredential
	}
	if len(h) > maxHeader {
		return Credential{}, errMalformed
	}
	scheme, rest, spaced := strings.Cut(h, " ")
	if !spaced {
		// "Bearer" or "Basic" alone is a scheme without its credential.
		if !token68(h) || strings.EqualFold(h, "Bearer") || strings.EqualFold(h, "Basic") {
			return Credential{}, errMalformed
		}
		return Credential{Scheme: SchemeRaw, Token: h}, nil
	}
	rest = strings.TrimLeft(rest, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if !token68(rest) {
			return Credential{}, errMalformed
		}
		return Credential{Scheme: SchemeBearer, Token: rest}, nil
	case strings.EqualFold(scheme, "Basic"):
		if !token68(rest) {
			return Credential{}, errMalformed
		}
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			// Some clients leave out the padding.
			if raw, err = base64.RawStdEncoding.DecodeString(rest); err != nil {
				return Credential{}, errMalformed
			}
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok || user == "" || !utf8.Valid(raw) || hasControl(string(raw)) {
			return Credential{}, errMalformed
		}
		return Credential{Scheme: SchemeBasic, Username: user, Password: pass}, nil
	}
	return Credential{}, errScheme
}

// token68 is RFC 7235 §2.1's token68: 1*( ALPHA / DIGIT / "-" / "." /
// "_" / "~" / "+" / "/" ) *"=".
func token68(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0 {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
