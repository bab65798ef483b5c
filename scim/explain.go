package scim

import (
	"strings"

	"github.com/elimity-com/scim/schema"
)

// explain names the attribute behind the library's generic invalidValue
// ("A required value was missing, or the value specified was not
// compatible ..."): an identity engineer needs to know which value. It
// re-validates each present attribute on its own with the library's own
// schema code, so the verdict is the library's; it runs only on the error
// path.
func (s *Server) explain(d *resourceDef, m map[string]any, e *Error) *Error {
	if e == nil || e.ScimType != "invalidValue" || strings.HasSuffix(e.Detail, " is required") {
		return e
	}
	c := s.patchChecks[d]
	name := culprit(c.core.Attributes, m, "")
	for _, ext := range c.exts {
		if name != "" {
			break
		}
		if v, ok := m[ext.ID].(map[string]any); ok {
			name = culprit(ext.Attributes, v, ext.ID+":")
		}
	}
	if name == "" {
		return e
	}
	out := *e
	out.Detail = "attribute " + name + ": value does not match its schema (type, sub-attributes or canonical values); " + e.Detail
	return &out
}

// culprit returns the first attribute of attrs present in m whose value
// the library rejects on its own.
func culprit(attrs schema.Attributes, m map[string]any, prefix string) string {
	for _, a := range attrs {
		for k, v := range m {
			if !strings.EqualFold(k, a.Name()) {
				continue
			}
			one := schema.Schema{Attributes: schema.Attributes{a}}
			if _, se := one.Validate(map[string]any{a.Name(): v}); se != nil {
				return prefix + a.Name()
			}
		}
	}
	return ""
}
