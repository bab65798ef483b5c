package scim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scimbridge/scimbridge/scimpath"
)

// resourceDef is everything the server knows about one resource type.
type resourceDef struct {
	typ      string // store.TypeUser or store.TypeGroup
	endpoint string // "/Users"
	core     schema.Schema
	exts     []schema.Schema
	path     scimpath.ResourceSchema // for filters, PATCH and projection
}

// urns lists the schemas a resource of this type declares.
func (d *resourceDef) urns() []string {
	out := []string{d.core.ID}
	for _, e := range d.exts {
		out = append(out, e.ID)
	}
	return out
}

// buildDefs builds the User and Group definitions, with the enterprise
// extension and the configured custom extensions, for elimity (validation,
// /Schemas, /ResourceTypes) and for scimpath (filters, PATCH).
func buildDefs(exts []Extension) (user, group *resourceDef, err error) {
	user = &resourceDef{
		typ: "User", endpoint: "/Users",
		core: schema.CoreUserSchema(),
		exts: []schema.Schema{schema.ExtensionEnterpriseUser()},
		path: scimpath.CoreUser(),
	}
	group = &resourceDef{
		typ: "Group", endpoint: "/Groups",
		core: schema.CoreGroupSchema(),
		path: scimpath.CoreGroup(),
	}
	seen := map[string]bool{}
	for _, e := range builtinExtensions(exts) {
		if !strings.HasPrefix(e.URN, "urn:") {
			return nil, nil, fmt.Errorf("scim: extension %q: URN must start with urn:", e.URN)
		}
		if seen[strings.ToLower(e.URN)] {
			return nil, nil, fmt.Errorf("scim: extension %q declared twice", e.URN)
		}
		seen[strings.ToLower(e.URN)] = true
		es, ps, err := extensionSchemas(e)
		if err != nil {
			return nil, nil, err
		}
		d := user
		switch e.ResourceType {
		case "", "User":
		case "Group":
			d = group
		default:
			return nil, nil, fmt.Errorf("scim: extension %q: resource_type must be User or Group", e.URN)
		}
		d.exts = append(d.exts, es)
		d.path = d.path.WithExtension(ps)
	}
	// The library appends to these slices; spare capacity would let two
	// requests race on the same backing array.
	for _, d := range []*resourceDef{user, group} {
		d.core.Attributes = slices.Clip(d.core.Attributes)
		for i := range d.exts {
			d.exts[i].Attributes = slices.Clip(d.exts[i].Attributes)
		}
		d.exts = slices.Clip(d.exts)
	}
	return user, group, nil
}

func extensionSchemas(e Extension) (schema.Schema, scimpath.Schema, error) {
	name := e.Name
	if name == "" {
		name = e.URN[strings.LastIndex(e.URN, ":")+1:]
	}
	es := schema.Schema{ID: e.URN, Name: optional.NewString(name), Description: optional.NewString(name + " extension")}
	ps := scimpath.Schema{URN: e.URN}
	for _, f := range e.Attributes {
		if f.Name == "" || strings.ContainsAny(f.Name, ".:[] \"") {
			return es, ps, fmt.Errorf("scim: extension %q: invalid attribute name %q", e.URN, f.Name)
		}
		var sp schema.SimpleParams
		typ := f.Type
		switch typ {
		case "", "string":
			typ = scimpath.TypeString
			sp = schema.SimpleStringParams(schema.StringParams{Name: f.Name, MultiValued: f.MultiValued, CaseExact: f.CaseExact, Required: f.Required})
		case "boolean":
			sp = schema.SimpleBooleanParams(schema.BooleanParams{Name: f.Name, MultiValued: f.MultiValued, Required: f.Required})
		case "integer":
			sp = schema.SimpleNumberParams(schema.NumberParams{Name: f.Name, MultiValued: f.MultiValued, Required: f.Required, Type: schema.AttributeTypeInteger()})
		case "decimal":
			sp = schema.SimpleNumberParams(schema.NumberParams{Name: f.Name, MultiValued: f.MultiValued, Required: f.Required, Type: schema.AttributeTypeDecimal()})
		case "dateTime":
			sp = schema.SimpleDateTimeParams(schema.DateTimeParams{Name: f.Name, MultiValued: f.MultiValued, Required: f.Required})
		case "reference":
			sp = schema.SimpleReferenceParams(schema.ReferenceParams{Name: f.Name, MultiValued: f.MultiValued, Required: f.Required, ReferenceTypes: []schema.AttributeReferenceType{"external"}})
		default:
			return es, ps, fmt.Errorf("scim: extension %q: attribute %q: unknown type %q", e.URN, f.Name, f.Type)
		}
		es.Attributes = append(es.Attributes, schema.SimpleCoreAttribute(sp))
		ps.Attrs = append(ps.Attrs, scimpath.Attr{Name: f.Name, Type: typ, MultiValued: f.MultiValued, CaseExact: f.CaseExact || typ == scimpath.TypeReference})
	}
	return es, ps, nil
}

// serviceProviderConfig is what /ServiceProviderConfig answers: only what
// this server really does (no password change).
func serviceProviderConfig(o Options, base string) map[string]any {
	maxOps := o.MaxBulkOperations
	if maxOps <= 0 {
		maxOps = DefaultMaxBulkOperations
	}
	spc := map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": true, "maxOperations": maxOps, "maxPayloadSize": o.MaxPayloadBytes},
		"filter":           map[string]any{"supported": true, "maxResults": o.MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"maxPayloadSize":   o.MaxPayloadBytes,
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     base + "/ServiceProviderConfig",
		},
	}
	spc["authenticationSchemes"] = authenticationSchemes(o)
	return spc
}

func authenticationSchemes(o Options) []map[string]any {
	if o.AuthenticationSchemes != nil {
		return o.AuthenticationSchemes()
	}
	return []map[string]any{{
		"type":        "oauthbearertoken",
		"name":        "OAuth Bearer Token",
		"description": "Authentication with a bearer token configured on the server",
		"specUri":     "https://datatracker.ietf.org/doc/html/rfc6750",
		"primary":     true,
	}}
}
