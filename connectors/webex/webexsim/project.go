package webexsim

import (
	"encoding/json"
	"net/url"
	"strings"
)

// projection is a list request's attributes / excludedAttributes (RFC 7644
// §3.4.2.5): comma-separated attribute names, matched without regard to
// case, as `name`, `name.sub`, or fully qualified by a schema URN
// (`urn:…:core:2.0:User:userName`, `urn:…:enterprise:2.0:User:department`,
// or an extension's URN alone for the whole extension). `id` and `schemas`
// are always returned; unknown names select nothing.
type projection struct {
	include, exclude [][]string // paths of lower-case segments
}

// schemaURNs are the schemas whose URN may qualify an attribute name; the
// core ones qualify top-level attributes, the others are top-level keys.
var schemaURNs = []struct {
	urn  string
	core bool
}{
	{schemaUser, true},
	{schemaGroup, true},
	{schemaEnterprise, false},
	{schemaCiscoUser, false},
	{schemaCiscoGroup, false},
}

func parseProjection(q url.Values) projection {
	return projection{include: attrPaths(q.Get("attributes")), exclude: attrPaths(q.Get("excludedAttributes"))}
}

func attrPaths(v string) [][]string {
	var out [][]string
	for _, name := range strings.Split(v, ",") {
		if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
			out = append(out, attrPath(name))
		}
	}
	return out
}

// attrPath splits a lower-case attribute name into the keys it selects.
func attrPath(name string) []string {
	for _, s := range schemaURNs {
		urn := strings.ToLower(s.urn)
		switch {
		case name == urn && !s.core:
			return []string{urn}
		case strings.HasPrefix(name, urn+":"):
			rest := strings.Split(name[len(urn)+1:], ".")
			if s.core {
				return rest
			}
			return append([]string{urn}, rest...)
		}
	}
	return strings.Split(name, ".")
}

func (p projection) empty() bool { return len(p.include) == 0 && len(p.exclude) == 0 }

// apply projects one resource (a userDoc or groupDoc); with no attributes
// and no excludedAttributes it returns the resource as it is.
func (p projection) apply(doc any) any {
	if p.empty() {
		return doc
	}
	b, _ := json.Marshal(doc)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	var v any = m
	if len(p.include) > 0 {
		v = keep(m, append([][]string{{"id"}, {"schemas"}}, p.include...))
	}
	var ex [][]string
	for _, path := range p.exclude {
		if len(path) == 1 && (path[0] == "id" || path[0] == "schemas") {
			continue // returned always
		}
		ex = append(ex, path)
	}
	if len(ex) > 0 {
		v, _ = drop(v, ex)
	}
	return v
}

// keep returns the parts of v that paths select; ok is false when nothing
// is selected.
func keep(v any, paths [][]string) any {
	out, _ := keepOK(v, paths)
	return out
}

func keepOK(v any, paths [][]string) (any, bool) {
	for _, p := range paths {
		if len(p) == 0 {
			return v, true
		}
	}
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if sub := below(k, paths); len(sub) > 0 {
				if r, ok := keepOK(e, sub); ok {
					out[k] = r
				}
			}
		}
		return out, len(out) > 0
	case []any: // a multi-valued attribute: select in every value
		var out []any
		for _, e := range v {
			if r, ok := keepOK(e, paths); ok {
				out = append(out, r)
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

// drop returns v without the parts paths select; ok is false when nothing
// is left.
func drop(v any, paths [][]string) (any, bool) {
	for _, p := range paths {
		if len(p) == 0 {
			return nil, false
		}
	}
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			sub := below(k, paths)
			if len(sub) == 0 {
				out[k] = e
			} else if r, ok := drop(e, sub); ok {
				out[k] = r
			}
		}
		return out, len(out) > 0
	case []any:
		var out []any
		for _, e := range v {
			if r, ok := drop(e, paths); ok {
				out = append(out, r)
			}
		}
		return out, len(out) > 0
	}
	return v, true
}

// below returns the rest of every path whose first key is k (any case).
func below(k string, paths [][]string) [][]string {
	var out [][]string
	for _, p := range paths {
		if len(p) > 0 && strings.EqualFold(p[0], k) {
			out = append(out, p[1:])
		}
	}
	return out
}
