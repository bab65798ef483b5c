package scimpath

import (
	"slices"
	"strings"
)

// Project applies the attributes and excludedAttributes query parameters
// (RFC 7644 §3.4.2.5) and returns a new top-level map; values it does not
// narrow are shared with res, so treat the result as read-only or
// DeepCopy it.
//
// "id" and "schemas" are always kept; "meta" is kept unless excluded.
// Names may be plain, dotted ("name.givenName", "emails.value"),
// URN-prefixed, or a whole extension URN. A value filter inside a name
// (`emails[type eq "work"]`) is ignored: the attribute before "[" is used.
// Names that do not parse are ignored.
func Project(res map[string]any, attributes, excludedAttributes []string, rs *ResourceSchema) map[string]any {
	if res == nil {
		return nil
	}
	var out map[string]any
	if len(attributes) > 0 {
		out = include(res, attributes, rs)
	} else {
		out = make(map[string]any, len(res))
		for k, v := range res {
			out[k] = v
		}
	}
	for _, a := range excludedAttributes {
		exclude(out, a, rs)
	}
	return out
}

func projectionPath(s string) (Path, bool) {
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = s[:i]
	}
	p, err := ParsePath(s)
	return p, err == nil
}

// alwaysKept are returned whatever attributes asks for.
func alwaysKept(k string) bool {
	return strings.EqualFold(k, "id") || strings.EqualFold(k, "schemas") || strings.EqualFold(k, "meta")
}

func include(res map[string]any, attributes []string, rs *ResourceSchema) map[string]any {
	out := make(map[string]any, len(attributes)+3)
	for k, v := range res {
		if alwaysKept(k) {
			out[k] = v
		}
	}
	// Whole attributes first, so "emails" wins over "emails.value".
	var subs []Path
	for _, a := range attributes {
		p, ok := projectionPath(a)
		if !ok {
			continue
		}
		if urn, ok := p.wholeSchema(res, rs); ok {
			if v, k, ok := lookupKey(res, urn); ok {
				out[k] = v
			}
			continue
		}
		if p.SubAttr != "" {
			subs = append(subs, p)
			continue
		}
		src, dst, _, ok := projectContainers(res, out, p.URN, rs)
		if !ok {
			continue
		}
		if v, k, ok := lookupKey(src, attrKey(p, rs)); ok {
			dst[k] = v
		}
	}
	// Attributes narrowed here to sub-attributes: a later "emails.type"
	// adds to the "emails.value" built before; a whole "emails" stays.
	type attrID struct{ container, attr string }
	narrowed := map[attrID]map[string]any{} // → the map holding the attribute
	for _, p := range subs {
		src, dst, ckey, ok := projectContainers(res, out, p.URN, rs)
		if !ok {
			continue
		}
		v, k, ok := lookupKey(src, attrKey(p, rs))
		if !ok {
			continue
		}
		id := attrID{ckey, k}
		if _, whole := dst[k]; whole && narrowed[id] == nil {
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			m, _ := dst[k].(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			if sv, sk, ok := lookupKey(v, p.SubAttr); ok {
				m[sk] = sv
			}
			if len(m) > 0 {
				dst[k] = m
				narrowed[id] = dst
			}
		case []any:
			l, _ := dst[k].([]any)
			if l == nil {
				l = make([]any, len(v))
				for i := range l {
					l[i] = map[string]any{}
				}
			}
			for i, e := range v {
				if em, ok := e.(map[string]any); ok {
					if sv, sk, ok := lookupKey(em, p.SubAttr); ok {
						l[i].(map[string]any)[sk] = sv
					}
				}
			}
			dst[k] = l
			narrowed[id] = dst
		}
	}
	// Elements without the sub-attributes asked for are left out.
	for id, dst := range narrowed {
		if l, ok := dst[id.attr].([]any); ok {
			l = slices.DeleteFunc(l, func(e any) bool { m, _ := e.(map[string]any); return len(m) == 0 })
			if len(l) == 0 {
				delete(dst, id.attr)
			} else {
				dst[id.attr] = l
			}
		}
	}
	// Extension objects created for names the resource lacks.
	for k, v := range out {
		if m, ok := v.(map[string]any); ok && len(m) == 0 && !alwaysKept(k) {
			delete(out, k)
		}
	}
	return out
}

// attrKey is the name to look p's attribute up by: the schema's spelling
// when it declares it.
func attrKey(p Path, rs *ResourceSchema) string {
	if a := p.resolve(rs).attr; a != nil {
		return a.Name
	}
	return p.Attr
}

// projectContainers returns the map in res holding p's schema's attributes
// and its counterpart in out, created on demand (an extension object is a
// fresh map, never res's).
func projectContainers(res, out map[string]any, urn string, rs *ResourceSchema) (src, dst map[string]any, key string, ok bool) {
	src, _ = resourceContainer(res, rs, urn, false)
	if src == nil {
		return nil, nil, "", false
	}
	if sameMap(src, res) {
		return res, out, "", true
	}
	for k, v := range res {
		if m, isMap := v.(map[string]any); isMap && sameMap(m, src) {
			key = k
			break
		}
	}
	if dst, ok = out[key].(map[string]any); ok {
		// When it is src, the whole extension was asked for: nothing to
		// add, and src is res's, never to be written.
		return src, dst, key, !sameMap(dst, src)
	}
	dst = map[string]any{}
	out[key] = dst
	return src, dst, key, true
}

func exclude(out map[string]any, a string, rs *ResourceSchema) {
	p, ok := projectionPath(a)
	if !ok {
		return
	}
	if urn, ok := p.wholeSchema(out, rs); ok {
		if _, k, ok := lookupKey(out, urn); ok {
			delete(out, k)
		}
		return
	}
	if p.URN == "" && p.SubAttr == "" && (strings.EqualFold(p.Attr, "id") || strings.EqualFold(p.Attr, "schemas")) {
		return
	}
	container, _ := resourceContainer(out, rs, p.URN, false)
	if container == nil {
		return
	}
	if !sameMap(container, out) {
		// Copy the extension object before changing it: it is res's.
		for k, v := range out {
			if m, ok := v.(map[string]any); ok && sameMap(m, container) {
				container = cloneMap(container)
				out[k] = container
				break
			}
		}
	}
	v, k, ok := lookupKey(container, attrKey(p, rs))
	if !ok {
		return
	}
	// What an exclusion empties is unassigned (RFC 7643 §2.5) and not
	// returned: no "name": {}, "emails": [{}] or empty extension object.
	defer func() {
		if !sameMap(container, out) && len(container) == 0 {
			for k, v := range out {
				if m, ok := v.(map[string]any); ok && sameMap(m, container) {
					delete(out, k)
				}
			}
		}
	}()
	if p.SubAttr == "" {
		delete(container, k)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		m := cloneMap(v)
		if _, sk, ok := lookupKey(m, p.SubAttr); ok {
			delete(m, sk)
		}
		if len(m) == 0 {
			delete(container, k)
			return
		}
		container[k] = m
	case []any:
		l := make([]any, 0, len(v))
		for _, e := range v {
			if em, ok := e.(map[string]any); ok {
				m := cloneMap(em)
				if _, sk, ok := lookupKey(m, p.SubAttr); ok {
					delete(m, sk)
				}
				if len(m) == 0 {
					continue
				}
				e = m
			}
			l = append(l, e)
		}
		if len(l) == 0 {
			delete(container, k)
			return
		}
		container[k] = l
	}
}
