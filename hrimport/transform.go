package hrimport

import (
	"fmt"
	"math"
	"net/mail"
	"strconv"
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
	// Excel's TRUE/FALSE as European-locale CSVs (the ';' files) write
	// them: German, French, Spanish/Italian/Portuguese, Dutch; and ja/nein.
	"wahr": true, "falsch": false, "vrai": true, "faux": false, "verdadero": true, "vero": true,
	"verdadeiro": true, "falso": false, "waar": true, "onwaar": false, "ja": true, "nein": false,
}

func parseBool(s string) (bool, error) {
	if b, ok := boolWords[strings.ToLower(s)]; ok {
		return b, nil
	}
	return false, fmt.Errorf("%q is not a recognised boolean (true/false, yes/no, 1/0, Active/Terminated)", short(s))
}

// Date layouts tried when no layout is configured: ISO 8601 only, since
// 03/04/2025 means different days in different countries.
var isoLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// excelEpoch is day 0 of Excel's 1900 date system (as it counts, with its
// 29 February 1900, for every serial after 60).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// parseDate reads a date in layout (or ISO 8601) and returns the xsd:dateTime
// SCIM wants, in UTC (a bare date is midnight UTC). A five-digit number is
// an Excel serial date (a cell formatted "General": 45678 is 2025-01-21),
// whatever the layout.
func parseDate(s, layout string) (string, error) {
	if t, ok := excelSerial(s); ok {
		return t.Format(time.RFC3339), nil
	}
	layouts := isoLayouts
	if layout != "" {
		layouts = []string{layout}
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Format(time.RFC3339), nil
		}
	}
	if layout != "" {
		return "", fmt.Errorf("%q is not a date like %s", short(s), layout)
	}
	err := fmt.Errorf("%q is not an ISO 8601 date", short(s))
	for _, sep := range []string{"/", ".", "-"} {
		if parts := strings.Split(s, sep); len(parts) == 3 && len(parts[2]) == 4 {
			return "", fmt.Errorf("%w: give the file's layout in import.transforms, e.g. date(1%s2%s2006) (month first) or date(2%s1%s2006) (day first)", err, sep, sep, sep, sep)
		}
	}
	return "", err
}

// excelSerial reads a five-digit Excel serial date (1927 to 2173), with an
// optional fraction of a day.
func excelSerial(s string) (time.Time, bool) {
	days, frac, _ := strings.Cut(s, ".")
	if len(days) != 5 || strings.Trim(days, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, false
	}
	secs := math.Round(f * 86400)
	return excelEpoch.Add(time.Duration(secs) * time.Second), true
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
