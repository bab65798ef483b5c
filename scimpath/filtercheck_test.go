package scimpath

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestFilterCheckTypes(t *testing.T) {
	user := CoreUser()
	group := CoreGroup()
	tests := []struct {
		filter string
		rs     *ResourceSchema
		bad    bool
	}{
		{`active gt true`, &user, true},
		{`active ge false`, &user, true},
		{`active lt true`, &user, true},
		{`Active LE true`, &user, true},
		{`active eq true`, &user, false},
		{`active ne false`, &user, false},
		{`active pr`, &user, false},
		{`emails.primary gt true`, &user, true},
		{`emails[primary gt true]`, &user, true},
		{`emails[type eq "work" and primary ge true]`, &user, true},
		{`emails[type eq "work"].primary lt true`, &user, true},
		{`emails[primary eq true]`, &user, false},
		{`x509Certificates.value gt "AAAA"`, &user, true},
		{`x509Certificates[value le "AAAA"]`, &user, true},
		{`x509Certificates gt "AAAA"`, &user, true}, // compares its value
		{`emails gt "a"`, &user, false},
		{`name gt "a"`, &user, false}, // complex without value: nothing to order
		{`userName eq "a" or not (active gt true)`, &user, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:active gt true`, &user, true},
		{`userName gt "a"`, &user, false},
		{`meta.lastModified gt "2020-01-01T00:00:00Z"`, &user, false},
		{`emails[value gt "a"]`, &user, false},
		{`undeclared gt true`, &user, false},
		{`active gt true`, nil, false}, // no schema: nothing known
		{`displayName gt "a"`, &group, false},
		{`members[value gt "a"]`, &group, false},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tt.filter, err)
		}
		err = f.CheckTypes(tt.rs)
		var e *Error
		switch {
		case tt.bad && (!errors.As(err, &e) || e.ScimType != ErrInvalidFilter || e.Status != 400):
			t.Errorf("CheckTypes(%q) = %v, want 400 invalidFilter", tt.filter, err)
		case !tt.bad && err != nil:
			t.Errorf("CheckTypes(%q) = %v, want nil", tt.filter, err)
		}
	}
}

func TestApplyPatchOrderedBooleanInPathFilter(t *testing.T) {
	user := CoreUser()
	res := decode(t, sampleUserJSON)
	var ops []Operation
	if err := json.Unmarshal([]byte(`[{"op":"replace","path":"emails[primary gt true].value","value":"x@example.com"}]`), &ops); err != nil {
		t.Fatal(err)
	}
	var e *Error
	if err := ApplyPatch(res, ops, &user); !errors.As(err, &e) || e.ScimType != ErrInvalidFilter {
		t.Fatalf("ApplyPatch = %v, want invalidFilter", err)
	}
}
