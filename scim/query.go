package scim

import (
	"net/url"
	"strings"
)

// filterParam returns the filter query parameter, decoded. net/url reads
// a query as a form, where "+" is a space; RFC 3986 makes "+" in a query
// an ordinary character. A client that writes its spaces as %20 (as RFC
// 7644's examples, Okta and Entra do) and sends userName eq
// "john+tag@example.com" with the "+" as it is meant a plus: decoded as a
// space, the match-before-create found nobody and the IdP went on to
// create a duplicate (409). So a "+" is a plus when the same value
// percent-encodes a space; otherwise (form encoding: "+" for spaces,
// %2B for a plus) the form reading stands. decoded is the form reading.
func filterParam(raw, decoded string) string {
	if !strings.Contains(raw, "+") {
		return decoded
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue // url.ParseQuery skips these too
		}
		key, value, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err != nil || k != "filter" {
			continue
		}
		if !strings.Contains(value, "+") || !strings.Contains(value, "%20") {
			return decoded
		}
		if v, err := url.PathUnescape(value); err == nil {
			return v // PathUnescape leaves "+" alone
		}
		return decoded
	}
	return decoded
}
