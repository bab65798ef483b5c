package scim

import (
	"net/http"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/scimpath"
)

// The provenance extension is scimbridge's own: it says who manages a
// resource outside the IdPs. `scimbridge import` sets managedBy on the
// users and groups it creates or updates, so anyone can see through SCIM
// (`filter=urn:scimbridge:params:scim:schemas:extension:2.0:User:managedBy eq "hr"`)
// which users HR owns, and a roster import knows its default scope. It is
// declared like a configured extension (listed in /Schemas, filterable,
// PATCHable); a config.yaml extension with the same URN replaces it.
const (
	ProvenanceUserURN  = "urn:scimbridge:params:scim:schemas:extension:2.0:User"
	ProvenanceGroupURN = "urn:scimbridge:params:scim:schemas:extension:2.0:Group"
	// ProvenanceAttr is the attribute the importer sets.
	ProvenanceAttr = "managedBy"
)

// builtinExtensions are declared before the configured ones, unless
// config.yaml declares the same URN.
func builtinExtensions(configured []Extension) []Extension {
	var out []Extension
	for _, b := range []Extension{
		{URN: ProvenanceUserURN, ResourceType: "User", Name: "Provenance", Attributes: []ExtensionField{{Name: ProvenanceAttr, CaseExact: true}}},
		{URN: ProvenanceGroupURN, ResourceType: "Group", Name: "Provenance", Attributes: []ExtensionField{{Name: ProvenanceAttr, CaseExact: true}}},
	} {
		declared := false
		for _, c := range configured {
			declared = declared || strings.EqualFold(c.URN, b.URN)
		}
		if !declared {
			out = append(out, b)
		}
	}
	return append(out, configured...)
}

// mayWriteProvenance reports whether the request's client may set the
// provenance extension: every client when no writer is configured, else
// only the writers (Options.ProvenanceWriters).
func (s *Server) mayWriteProvenance(r *http.Request) bool {
	return len(s.opts.ProvenanceWriters) == 0 || slices.Contains(s.opts.ProvenanceWriters, auth.ClientFrom(r.Context()))
}

func isProvenanceKey(k string) bool {
	return strings.EqualFold(k, ProvenanceUserURN) || strings.EqualFold(k, ProvenanceGroupURN)
}

// dropProvenance removes the provenance extension from a POST/PUT body of
// a client that may not write it (ignored, as RFC 7643 §2.2 says of
// readOnly attributes).
func dropProvenance(attrs map[string]any) {
	for k := range attrs {
		if isProvenanceKey(k) {
			delete(attrs, k)
		}
	}
}

// keepProvenance carries the stored provenance over a PUT of a client that
// may not write it, so an IdP's full replace does not erase it.
func keepProvenance(d *resourceDef, doc, prev map[string]any) {
	changed := false
	for k, v := range prev {
		if isProvenanceKey(k) {
			doc[k] = scimpath.DeepCopyValue(v)
			changed = true
		}
	}
	if changed {
		doc["schemas"] = d.schemasOf(doc)
	}
}

// provenanceInPatch finds an operation touching the provenance extension:
// by path, or a path-less value naming it.
func provenanceInPatch(ops []scimpath.Operation) bool {
	for _, op := range ops {
		if strings.HasPrefix(strings.ToLower(op.Path), "urn:scimbridge:params:scim:schemas:extension:2.0:") {
			return true
		}
		if m, ok := op.Value.(map[string]any); ok && op.Path == "" {
			for k := range m {
				if isProvenanceKey(k) || strings.HasPrefix(strings.ToLower(k), "urn:scimbridge:params:scim:schemas:extension:2.0:") {
					return true
				}
			}
		}
	}
	return false
}
