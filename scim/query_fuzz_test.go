package scim

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzCanonicalQuery: canonicalQuery changes only the spelling of RFC
// 7644's parameter names: every other byte, every value and the order of
// the pairs stay, and no known name is left in another case.
func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{"", "Filter=a", "filter=a&FILTER=b", "count", "a=1&&STARTINDEX=2&", "x=%20&Attributes=a;b", "sortby=x=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, changed := canonicalQuery(raw)
		if !changed && got != raw {
			t.Fatalf("unchanged but %q -> %q", raw, got)
		}
		in, out := strings.Split(raw, "&"), strings.Split(got, "&")
		if len(in) != len(out) {
			t.Fatalf("%q -> %q: pair count changed", raw, got)
		}
		for i := range in {
			ik, iv, ieq := strings.Cut(in[i], "=")
			ok, ov, oeq := strings.Cut(out[i], "=")
			if iv != ov || ieq != oeq || !strings.EqualFold(ik, ok) {
				t.Fatalf("%q -> %q: pair %d changed beyond its name's case", raw, got, i)
			}
			if c := queryName(ok); c != "" && ok != c {
				t.Fatalf("%q -> %q: %q left in another case", raw, got, ok)
			}
		}
		// The form reading agrees once names are folded.
		a, _ := url.ParseQuery(raw)
		b, _ := url.ParseQuery(got)
		for k, v := range a {
			if c := queryName(k); c != "" {
				k = c
			}
			for _, x := range v {
				if !slices.Contains(b[k], x) {
					t.Fatalf("%q -> %q: value %q of %q lost", raw, got, x, k)
				}
			}
		}
	})
}

// FuzzFilterParam: filterParam differs from the form reading only by
// keeping "+" as a plus, and only when the value writes a space as %20.
func FuzzFilterParam(f *testing.F) {
	for _, s := range []string{"filter=a+b%20c", "filter=a+b", "x=1&filter=%2B+%20", "filter=%zz+%20"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		form := q.Get("filter")
		got := filterParam(raw, form)
		if got == form {
			return
		}
		if strings.ReplaceAll(got, "+", " ") != form && !strings.Contains(raw, "%20") {
			t.Fatalf("%q: %q differs from the form reading %q", raw, got, form)
		}
		if len(got) != len(form) {
			t.Fatalf("%q: %q and %q differ in length", raw, got, form)
		}
	})
}
