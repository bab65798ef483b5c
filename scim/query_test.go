package scim

import (
	"net/url"
	"reflect"
	"testing"
)

// TestQueryValuesMatchesParseQuery: projection's scan finds what
// url.ParseQuery (r.URL.Query()) finds.
func TestQueryValuesMatchesParseQuery(t *testing.T) {
	for _, raw := range []string{
		"",
		"excludedAttributes=members",
		"attributes=userName,emails&excludedAttributes=members",
		"excludedAttributes=members&excludedAttributes=displayName",
		"excluded%41ttributes=members",
		"excludedAttributes=a+b%2Cc",
		"excludedAttributes=bad%zz&excludedAttributes=ok",
		"excludedAttributes=x;y&attributes=z",
		"&&attributes&attributes=&=members",
		"attributes=emails[type eq \"work\"]&count=3&startIndex=1",
		"attributes%=x&excludedAttributes==members",
	} {
		q, _ := url.ParseQuery(raw)
		a, e := queryValues(raw, "attributes", "excludedAttributes")
		if !reflect.DeepEqual(a, q["attributes"]) || !reflect.DeepEqual(e, q["excludedAttributes"]) {
			t.Errorf("%q: got %q / %q, ParseQuery %q / %q", raw, a, e, q["attributes"], q["excludedAttributes"])
		}
	}
}

func FuzzQueryValues(f *testing.F) {
	f.Add("attributes=a&excludedAttributes=members")
	f.Add("excluded%41ttributes=x;y&attributes=%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		a, e := queryValues(raw, "attributes", "excludedAttributes")
		if !reflect.DeepEqual(a, q["attributes"]) || !reflect.DeepEqual(e, q["excludedAttributes"]) {
			t.Errorf("%q: got %q / %q, ParseQuery %q / %q", raw, a, e, q["attributes"], q["excludedAttributes"])
		}
	})
}
