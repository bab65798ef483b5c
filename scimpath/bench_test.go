package scimpath

import "testing"

var benchFilters = []struct{ name, filter string }{
	{"eq", `userName eq "bjensen@example.com"`},
	{"conformance", `name.FamilyName eq Jensen and (emails.Value co example.com or emails.Value co example.org)`}, // parentheses: filter-parser
	{"valuePath", `emails[type eq "work" and primary eq true]`},
	{"extension", ent + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`},
	{"dateTime", `meta.lastModified gt 2011-05-13T04:42:34.0-07:00`},
	{"absent", `nickName eq "x" or x-unknown pr`},
}

func BenchmarkFilterMatch(b *testing.B) {
	user := sampleUser(b)
	rs := CoreUser()
	for _, bf := range benchFilters {
		f, err := ParseFilter(bf.filter)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bf.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Match(user, &rs)
			}
		})
	}
}

// BenchmarkParseFilter compares ParseFilter (our parser) with
// filter-parser alone on the same input.
func BenchmarkParseFilter(b *testing.B) {
	for _, bf := range benchFilters[:3] {
		for _, p := range []struct {
			name  string
			parse func(string) (*Filter, error)
		}{{"ParseFilter", ParseFilter}, {"filterparser", parseReference}} {
			b.Run(bf.name+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := p.parse(bf.filter); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkApplyPatch(b *testing.B) {
	rs := CoreUser()
	gs := CoreGroup()
	user := sampleUser(b)
	group := sampleGroup(b)
	benches := []struct {
		name string
		res  map[string]any
		rs   *ResourceSchema
		ops  []Operation
	}{
		{"oktaDeactivate", user, &rs, []Operation{{Op: "replace", Value: map[string]any{"active": false}}}},
		{"entraWorkEmail", user, &rs, []Operation{{Op: "Add", Path: `emails[type eq "work"].value`, Value: "new@x.com"}}},
		{"entraManager", user, &rs, []Operation{{Op: "Add", Path: ent + ":manager", Value: "m2"}}},
		{"addMember", group, &gs, []Operation{{Op: "add", Path: "members", Value: []any{map[string]any{"value": "u3"}}}}},
		{"removeMember", group, &gs, []Operation{{Op: "remove", Path: `members[value eq "902c246b-6245-4190-8e05-00816be7344a"]`}}},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				// Includes the DeepCopy callers make for all-or-nothing.
				if err := ApplyPatch(DeepCopy(bb.res), bb.ops, bb.rs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkProject(b *testing.B) {
	user := sampleUser(b)
	rs := CoreUser()
	b.ReportAllocs()
	for b.Loop() {
		Project(user, []string{"userName", "emails.value", ent + ":department"}, nil, &rs)
	}
}
