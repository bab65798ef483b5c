package scim

import "strings"

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
