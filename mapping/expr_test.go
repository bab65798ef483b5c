package mapping

import (
	"reflect"
	"strings"
	"testing"
)

// fakePaths stands in for scimpath in the tests of the expression layer:
// a path's values are whatever the test resource holds under the path's
// text, so these tests exercise parsing, transforms and shapes only.
// Paths in multi are multi-valued; paths ending in "!" do not exist.
func fakePaths(multi ...string) pathCompiler {
	return func(raw string) (valuer, error) {
		if strings.HasSuffix(raw, "!") || strings.ContainsAny(raw, "{}") || strings.ContainsAny(raw, " ,()") && !strings.Contains(raw, "[") {
			return nil, &unknownAttrError{raw}
		}
		return fakePath{raw: raw, isMulti: contains(multi, raw)}, nil
	}
}

type unknownAttrError struct{ raw string }

func (e *unknownAttrError) Error() string { return "unknown attribute " + e.raw }

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

type fakePath struct {
	raw     string
	isMulti bool
}

func (f fakePath) get(res map[string]any) []any {
	switch v := res[f.raw].(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}
func (f fakePath) multi() bool   { return f.isMulti }
func (f fakePath) complex() bool { return f.raw == "emails" || f.raw == "name" }

func TestExpressions(t *testing.T) {
	res := map[string]any{
		"userName":                     "  Ada.Lovelace@Example.com ",
		"name.givenName":               "Ada",
		"name.familyName":              "Lovelace",
		"emails.value":                 []any{"ada@work.example", "ada@home.example", "ada@old.example"},
		`emails[type eq "work"].value`: "ada@work.example",
		`emails[type eq "fax"].value`:  nil,
		"title":                        "",
		"active":                       false,
		"employeeNumber":               float64(1234),
		"emails": []any{
			map[string]any{"value": "ada@work.example", "type": "work"},
		},
	}
	tests := []struct {
		expr string
		want any // nil: the field is omitted
	}{
		// paths
		{`userName`, "  Ada.Lovelace@Example.com "},
		{`emails[type eq "work"].value`, "ada@work.example"},
		{`emails[type eq "fax"].value`, nil},
		{`missing`, nil},
		{`title`, nil}, // an empty string is missing
		{`active`, false},
		{`employeeNumber`, float64(1234)},
		{`emails.value`, []any{"ada@work.example", "ada@home.example", "ada@old.example"}},
		{`emails`, []any{map[string]any{"value": "ada@work.example", "type": "work"}}},
		// literals
		{`"Engineering"`, "Engineering"},
		{`"say \"hi\""`, `say "hi"`},
		{`""`, nil},
		{`42`, float64(42)},
		// transforms
		{`lower(userName)`, "  ada.lovelace@example.com "},
		{`upper(name.givenName)`, "ADA"},
		{`trim(userName)`, "Ada.Lovelace@Example.com"},
		{`lower(trim(userName))`, "ada.lovelace@example.com"},
		{` lower ( trim( userName ) ) `, "ada.lovelace@example.com"},
		{`lower(missing)`, nil},
		{`lower(active)`, "false"},
		{`upper(employeeNumber)`, "1234"},
		{`upper(emails.value)`, []any{"ADA@WORK.EXAMPLE", "ADA@HOME.EXAMPLE", "ADA@OLD.EXAMPLE"}},
		// default: the first argument with a value
		{`default(title, "n/a")`, "n/a"},
		{`default(name.givenName, "n/a")`, "Ada"},
		{`default(missing, title, emails[type eq "work"].value, userName)`, "ada@work.example"},
		{`default(missing, title)`, nil},
		{`default(emails.value, "none")`, []any{"ada@work.example", "ada@home.example", "ada@old.example"}},
		// multi-valued selection
		{`join(emails.value, ",")`, "ada@work.example,ada@home.example,ada@old.example"},
		{`join(emails.value, "; ")`, "ada@work.example; ada@home.example; ada@old.example"},
		{`join(missing, ",")`, nil},
		{`join(name.givenName, ",")`, "Ada"},
		{`nth(emails.value, 1)`, "ada@work.example"},
		{`nth(emails.value, 3)`, "ada@old.example"},
		{`nth(emails.value, 4)`, nil},
		{`nth(name.givenName, 1)`, "Ada"},
		{`upper(nth(emails.value, 2))`, "ADA@HOME.EXAMPLE"},
		{`nth(upper(emails.value), 2)`, "ADA@HOME.EXAMPLE"},
		// templates
		{`"{{name.givenName}} {{name.familyName}}"`, "Ada Lovelace"},
		{`"{{ name.givenName }}.{{name.familyName}}"`, "Ada.Lovelace"},
		{`"{{name.givenName}} {{missing}}"`, "Ada"},       // missing part, trimmed
		{`"{{missing}} {{name.familyName}}"`, "Lovelace"}, // missing part, trimmed
		{`"Dr. {{missing}}"`, nil},                        // every placeholder missing
		{`"{{lower(name.givenName)}}@example.com"`, "ada@example.com"},
		{`"{{emails.value}}"`, "ada@work.example"}, // first value
		{`"{{default(title, \"n/a\")}}"`, "n/a"},
		{`"{{employeeNumber}}-{{active}}"`, "1234-false"},
		{`lower("{{name.givenName}}")`, "ada"},
		// YAML ate the quotes
		{`{{name.givenName}} {{name.familyName}}`, "Ada Lovelace"},
		{`Dr. {{name.familyName}}`, "Dr. Lovelace"},
	}
	compile := fakePaths("emails.value", "emails")
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			n, err := parseExpr(tt.expr, compile)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, ok, err := value(n, res, nil)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !ok {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestExpressionErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{``, `missing expression at column 1`},
		{`   `, `missing expression at column 4`},
		{`lowr(userName)`, `unknown function "lowr" (have default, join, lower, nth, trim, upper)`},
		{`lower(userName`, `missing ")" to close lower( at column 15`},
		{`lower(userName, title)`, `lower takes 1 argument, got 2`},
		{`lower()`, `lower takes 1 argument, got 0`},
		{`default(userName)`, `default takes 2 or more arguments, got 1`},
		{`join(emails.value)`, `join takes 2 arguments, got 1`},
		{`join(emails.value, title)`, `join's separator must be a quoted string, as in join(emails.value, ",")`},
		{`nth(emails.value, 0)`, `nth's index must be a whole number from 1, as in nth(emails.value, 2)`},
		{`nth(emails.value, 1.5)`, `nth's index must be a whole number from 1, as in nth(emails.value, 2)`},
		{`nth(emails.value, "2")`, `nth's index must be a whole number from 1, as in nth(emails.value, 2)`},
		{`lower(emails)`, `lower needs a simple value, not a complex attribute: add a sub-attribute such as .value`},
		{`join(name, " ")`, `join needs a simple value, not a complex attribute: add a sub-attribute such as .value`},
		{`"unterminated`, `unterminated string at column 1`},
		{`"{{name.givenName}"`, `template "{{name.givenName}" has no closing }}`},
		{`"{{}}"`, `template empty {{}}`},
		{`"{{lowr(x)}}"`, `template {{lowr(x)}}: unknown function "lowr" (have default, join, lower, nth, trim, upper)`},
		{`"{{name}}"`, `template {{name}}: a template needs a simple value, not a complex attribute: add a sub-attribute such as .value`},
		{`userName)`, `unexpected ")" at column 9`},
		{`userName "x"`, `unexpected "\"x\"" at column 10`},
		{`lower(,)`, `unexpected ',' at column 7`},
		{`lower(a b)`, `unknown attribute a b`},
		{`nosuch!`, `unknown attribute nosuch!`},
		{`"a" "b"`, `unexpected "\"b\"" at column 5`},
		{`-`, `bad number "-" at column 2`},
		{`lower({{name.givenName}})`, `unknown attribute {{name.givenName}}`}, // not taken as template text
	}
	compile := fakePaths("emails.value")
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := parseExpr(tt.expr, compile)
			if err == nil {
				t.Fatalf("parsed, want error %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

// A path ends at the top-level "," or ")", not at one inside a value filter.
func TestPathBoundaries(t *testing.T) {
	var seen []string
	record := func(raw string) (valuer, error) {
		seen = append(seen, raw)
		return fakePath{raw: raw}, nil
	}
	const expr = `default(emails[type eq "work" and value co ","].value, emails[value ew ")"].value , x)`
	if _, err := parseExpr(expr, record); err != nil {
		t.Fatal(err)
	}
	want := []string{`emails[type eq "work" and value co ","].value`, `emails[value ew ")"].value`, `x`}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("paths\n got %q\nwant %q", seen, want)
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		`userName`, `lower(trim(userName))`, `default(title, "n/a")`, `join(emails.value, ",")`,
		`nth(emails.value, 2)`, `"{{name.givenName}} {{name.familyName}}"`, `"lit"`,
		`emails[type eq "work"].value`, `"{{a}`, `lower(`, `"\"`, `nth(x, -1)`,
	} {
		f.Add(s)
	}
	compile := fakePaths("emails.value")
	res := map[string]any{"userName": "x", "emails.value": []any{"a", 1.0, true}, "name": map[string]any{}}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseExpr(s, compile)
		if err != nil {
			if n != nil {
				t.Fatal("a node and an error")
			}
			return
		}
		// Whatever parses must evaluate without panicking.
		if _, _, err := value(n, res, nil); err != nil && !strings.Contains(err.Error(), "not a simple value") {
			t.Fatalf("eval %q: %v", s, err)
		}
	})
}
