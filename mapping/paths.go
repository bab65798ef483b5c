package mapping

import (
	"errors"
	"fmt"
	"strings"

	"github.com/scimbridge/scimbridge/scimpath"
)

// Attribute paths and filters are parsed and evaluated by package
// scimpath, the same code that serves inbound filters and PATCH. This file
// adds what a config check needs on top: every attribute named must exist
// in the schema, so a typo stops the server instead of silently mapping
// nothing (or, in a scope, deprovisioning everyone).

func coreUser() *scimpath.ResourceSchema  { rs := scimpath.CoreUser(); return &rs }
func coreGroup() *scimpath.ResourceSchema { rs := scimpath.CoreGroup(); return &rs }

// schemaPath is a compiled attribute path bound to its resource schema.
type schemaPath struct {
	p         scimpath.Path
	rs        *scimpath.ResourceSchema
	isMulti   bool
	isComplex bool
}

func (s *schemaPath) get(res map[string]any) []any { return s.p.Get(res, s.rs) }
func (s *schemaPath) multi() bool                  { return s.isMulti }
func (s *schemaPath) complex() bool                { return s.isComplex }

func compilePath(rs *scimpath.ResourceSchema) pathCompiler {
	return func(raw string) (valuer, error) {
		p, err := scimpath.ParsePath(raw)
		if err != nil {
			if strings.HasPrefix(raw, "'") {
				return nil, fmt.Errorf(`bad attribute path %q (strings take double quotes: in YAML write '"Sales"')`, raw)
			}
			return nil, fmt.Errorf("bad attribute path %q", raw)
		}
		attr, sub, err := resolve(rs, p.URN, p.Attr, p.SubAttr, nil)
		if err != nil {
			var ue *unknownError
			if errors.As(err, &ue) && !ue.hinted && p.URN == "" && p.SubAttr == "" && p.Filter == nil {
				// YAML also eats the quotes of a constant: `department: "Sales"`.
				return nil, fmt.Errorf(`%v (if you meant a constant, quote it inside the YAML string: '"%s"')`, err, raw)
			}
			return nil, err
		}
		if p.Filter != nil {
			if !attr.MultiValued {
				return nil, fmt.Errorf("%q is not multi-valued: a [value filter] needs an attribute such as emails", p.Attr)
			}
			if err := checkFilter(rs, p.Filter, attr.SubAttrs); err != nil {
				return nil, err
			}
		}
		sel := attr
		if sub != nil {
			sel = sub
		}
		return &schemaPath{
			p:  p,
			rs: rs,
			// A value filter selects one value (the first that matches:
			// emails[type eq "work"].value is one address); without one, a
			// multi-valued attribute gives the target a list.
			isMulti:   attr.MultiValued && p.Filter == nil || sub != nil && sub.MultiValued,
			isComplex: sel.Type == scimpath.TypeComplex,
		}, nil
	}
}

// filterMatcher is a compiled scope filter.
type filterMatcher struct {
	f  *scimpath.Filter
	rs *scimpath.ResourceSchema
}

func (m filterMatcher) match(res map[string]any) bool { return m.f.Match(res, m.rs) }

func compileFilter(s string, rs *scimpath.ResourceSchema) (matcher, error) {
	f, err := scimpath.ParseFilter(s)
	if err != nil {
		return nil, errors.New(detail(err))
	}
	if err := checkFilter(rs, f, nil); err != nil {
		return nil, err
	}
	return filterMatcher{f, rs}, nil
}

// detail is a scimpath error without its SCIM protocol prefix.
func detail(err error) string {
	var se *scimpath.Error
	if errors.As(err, &se) {
		return se.Detail
	}
	return err.Error()
}

// checkFilter checks that every attribute a filter names exists. within
// is the sub-attributes a value filter's names are relative to (nil at
// the top level). The names come from scimpath's own parse of the filter,
// so the check reads exactly what the evaluator will.
func checkFilter(rs *scimpath.ResourceSchema, f *scimpath.Filter, within []scimpath.Attr) error {
	for _, name := range f.Attributes() {
		p, err := scimpath.ParsePath(name)
		if err != nil {
			return fmt.Errorf("bad attribute path %q in filter %q", name, f.String())
		}
		if _, _, err := resolve(rs, p.URN, p.Attr, p.SubAttr, within); err != nil {
			return err
		}
	}
	return nil
}

// resolve finds an attribute (and sub-attribute) in the schema, or in
// within (the sub-attributes a value filter applies to) when it is not nil.
func resolve(rs *scimpath.ResourceSchema, urn, name, subName string, within []scimpath.Attr) (attr, sub *scimpath.Attr, err error) {
	attrs := within
	full := name
	if within == nil {
		attrs = rs.Core.Attrs
		if urn != "" && !strings.EqualFold(urn, rs.Core.URN) {
			attrs = nil
			for _, ext := range rs.Extensions {
				if strings.EqualFold(ext.URN, urn) {
					attrs = ext.Attrs
				}
			}
			if attrs == nil {
				return nil, nil, fmt.Errorf("unknown schema %q: declare it under scim.extensions in config.yaml", urn)
			}
			full = urn + ":" + name
		}
	}
	if attr = findAttr(attrs, name); attr == nil {
		candidates := attrNames(attrs)
		if within == nil && urn == "" {
			// A common slip: an extension attribute without its URN.
			for _, ext := range rs.Extensions {
				if findAttr(ext.Attrs, name) != nil {
					return nil, nil, &unknownError{fmt.Sprintf("unknown attribute %q: it is an extension attribute, write %s:%s", name, ext.URN, name), true}
				}
				for _, a := range ext.Attrs {
					candidates = append(candidates, ext.URN+":"+a.Name)
				}
			}
		}
		return nil, nil, unknown(full, name, strings.TrimSuffix(full, name), candidates)
	}
	if subName == "" {
		return attr, nil, nil
	}
	if sub = findAttr(attr.SubAttrs, subName); sub == nil {
		if len(attr.SubAttrs) == 0 {
			return nil, nil, &unknownError{fmt.Sprintf("unknown attribute %q: %s has no sub-attributes", full+"."+subName, attr.Name), true}
		}
		return nil, nil, unknown(full+"."+subName, subName, full+".", attrNames(attr.SubAttrs))
	}
	return attr, sub, nil
}

// unknownError is an attribute the schema lacks; hinted says whether the
// message already suggests a fix.
type unknownError struct {
	msg    string
	hinted bool
}

func (e *unknownError) Error() string { return e.msg }

// unknown reports full as unknown, suggesting prefix+candidate for the
// candidate closest to name.
func unknown(full, name, prefix string, candidates []string) error {
	hint := suggest(name, prefix, candidates)
	return &unknownError{fmt.Sprintf("unknown attribute %q%s", full, hint), hint != ""}
}

func findAttr(attrs []scimpath.Attr, name string) *scimpath.Attr {
	for i := range attrs {
		if strings.EqualFold(attrs[i].Name, name) {
			return &attrs[i]
		}
	}
	return nil
}

func attrNames(attrs []scimpath.Attr) []string {
	names := make([]string, len(attrs))
	for i, a := range attrs {
		names[i] = a.Name
	}
	return names
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to
// name, if it is within a few edits; a candidate "urn:...:attr" is
// compared by its attribute name.
func suggest(name, prefix string, candidates []string) string {
	best, bestDist := "", len(name)/4+1
	for _, c := range candidates {
		short := c[strings.LastIndexByte(c, ':')+1:]
		if d := EditDistance(strings.ToLower(name), strings.ToLower(short)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	if !strings.HasPrefix(best, "urn:") {
		best = prefix + best
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// EditDistance is the optimal string alignment distance of a and b:
// Levenshtein plus adjacent transpositions ("vaule" is one edit from
// "value").
func EditDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
