package hrimport

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// A transform turns one cleaned cell into the value sent to the server.
// The zero transforms of a column come from its attribute's type (booleans
// parsed, dateTimes normalised); config.yaml may add lower, upper, bool,
// date(LAYOUT).
type transform func(string) (any, error)

func parseTransforms(spec string) ([]transform, error) {
	var out []transform
	for _, part := range strings.Split(spec, "|") {
		part = strings.TrimSpace(part)
		name, arg := part, ""
		if i := strings.IndexByte(part, '('); i >= 0 && strings.HasSuffix(part, ")") {
			name, arg = strings.TrimSpace(part[:i]), part[i+1:len(part)-1]
		}
		switch strings.ToLower(name) {
		case "", "trim": // cells are always trimmed
		case "lower":
			out = append(out, func(s string) (any, error) { return strings.ToLower(s), nil })
		case "upper":
			out = append(out, func(s string) (any, error) { return strings.ToUpper(s), nil })
		case "email":
			out = append(out, func(s string) (any, error) { return s, validEmail(s) })
		case "bool":
			out = append(out, func(s string) (any, error) { return parseBool(s) })
		case "date":
			layout := arg
			out = append(out, func(s string) (any, error) { return parseDate(s, layout) })
		default:
			return nil, fmt.Errorf("unknown transform %q (lower, upper, email, bool, date, date(LAYOUT))", part)
		}
	}
	return out, nil
}

// Words HR systems use for a person's status; matched case-insensitively.
var boolWords = map[string]bool{
	"true": true, "yes": true, "y": true, "1": true, "active": true, "enabled": true, "on": true,
	"false": false, "no": false, "n": false, "0": false, "terminated": false, "inactive": false,
	"disabled": false, "off": false,
}

func parseBool(s string) (bool, error) {
	if b, ok := boolWords[strings.ToLower(s)]; ok {
		return b, nil
	}
	return false, fmt.Errorf("%q is not a recognised boolean (true/false, yes/no, 1/0, Active/Terminated)", short(s))
}

// Date layouts tried when no layout is configured: ISO 8601 only, since
// 03/04/2025 means different days in different countries.
var isoLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// parseDate reads a date in layout (or ISO 8601) and returns the xsd:dateTime
// SCIM wants, in UTC (a bare date is midnight UTC).
func parseDate(s, layout string) (string, error) {
	layouts := isoLayouts
	if layout != "" {
		layouts = []string{layout}
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Format(time.RFC3339), nil
		}
	}
	want := "an ISO 8601 date"
	if layout != "" {
		want = "a date like " + layout
	}
	return "", fmt.Errorf("%q is not %s", short(s), want)
}

// validEmail accepts a bare address (no display name, no angle brackets).
func validEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return fmt.Errorf("%q is not a valid email address", short(s))
	}
	return nil
}

// short cuts a value for a message.
func short(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "..."
	}
	return s
}
