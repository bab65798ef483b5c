package scim

import (
	"strings"

	"github.com/scimbridge/scimbridge/scimpath"
)

// wrapSingleValues turns a lone object given for a multi-valued attribute
// (`"emails": {"value": "a@x"}`) into a one-element list. The library's
// validation accepts the object, and POST/PUT stored it as sent: GET then
// answered emails as an object (RFC 7643 §2.4: multi-valued attributes
// are arrays) and the email index never saw it. PATCH already read such a
// value as a list of one, and members take one object too; so do POST/PUT.
func wrapSingleValues(rs *scimpath.ResourceSchema, attrs map[string]any) {
	wrapIn(rs.Core.Attrs, attrs)
	for _, ext := range rs.Extensions {
		for k, v := range attrs {
			if m, ok := v.(map[string]any); ok && strings.EqualFold(k, ext.URN) {
				wrapIn(ext.Attrs, m)
			}
		}
	}
}

func wrapIn(defs []scimpath.Attr, m map[string]any) {
	for k, v := range m {
		obj, ok := v.(map[string]any)
		if !ok {
			continue
		}
		for _, a := range defs {
			if a.MultiValued && strings.EqualFold(a.Name, k) {
				m[k] = []any{obj}
				break
			}
		}
	}
}
