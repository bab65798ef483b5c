package scimpath

import (
	"errors"
	"slices"
	"testing"
)

func TestSort(t *testing.T) {
	user := CoreUser()
	docs := map[string]string{
		"a": `{"userName":"bob","name":{"familyName":"Zed"},"emails":[{"value":"z@x"},{"value":"b@x","primary":true}],"active":true,"meta":{"created":"2020-01-02T00:00:00Z"}}`,
		"b": `{"userName":"Alice","name":{"familyName":"young"},"emails":[{"value":"c@x"}],"active":false,"meta":{"created":"2019-06-01T00:00:00+02:00"}}`,
		"c": `{"userName":"carol","emails":[],"meta":{"created":"2021-01-01T00:00:00Z"}}`,
		"d": `{"userName":"dave","name":{"familyName":"Adams"},"emails":[{"value":"A@x"}],"active":true}`,
	}
	ids := []string{"a", "b", "c", "d"}
	tests := []struct {
		by, order string
		want      []string
	}{
		{"userName", "", []string{"b", "a", "c", "d"}},
		{"userName", "descending", []string{"d", "c", "a", "b"}},
		{"name.familyName", "ascending", []string{"d", "b", "a", "c"}},  // case-insensitive; c has none: last
		{"name.familyName", "descending", []string{"c", "a", "b", "d"}}, // none first
		{"emails", "", []string{"d", "a", "b", "c"}},                    // primary else first value: A@x, b@x, c@x, none
		{"emails.value", "", []string{"d", "a", "b", "c"}},
		{"active", "", []string{"b", "a", "d", "c"}},       // false < true, stable ties
		{"meta.created", "", []string{"b", "a", "c", "d"}}, // as times, not strings
		{"urn:ietf:params:scim:schemas:core:2.0:User:userName", "", []string{"b", "a", "c", "d"}},
		{"nickName", "", []string{"a", "b", "c", "d"}}, // nobody has it: order kept
		{"undeclared", "", []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		s, err := ParseSort(tt.by, tt.order, &user)
		if err != nil {
			t.Fatalf("ParseSort(%q, %q): %v", tt.by, tt.order, err)
		}
		keys := map[string]SortKey{}
		for id, j := range docs {
			keys[id] = s.Key(decode(t, j), &user)
		}
		got := slices.Clone(ids)
		slices.SortStableFunc(got, func(x, y string) int { return s.Compare(keys[x], keys[y]) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("sortBy=%s sortOrder=%s: %v, want %v", tt.by, tt.order, got, tt.want)
		}
	}
	for _, bad := range []struct{ by, order string }{
		{"name", ""}, {"emails[type eq \"work\"].value", ""}, {"", ""}, {"userName", "up"}, {"a b", ""},
	} {
		var e *Error
		if _, err := ParseSort(bad.by, bad.order, &user); !errors.As(err, &e) || e.ScimType != ErrInvalidValue {
			t.Errorf("ParseSort(%q, %q) = %v, want invalidValue", bad.by, bad.order, err)
		}
	}
}
