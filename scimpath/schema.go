package scimpath

import "strings"

// Schema URNs of RFC 7643.
const (
	URNUser           = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNGroup          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	URNEnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

func str(name string) Attr      { return Attr{Name: name, Type: TypeString} }
func exact(name string) Attr    { return Attr{Name: name, Type: TypeString, CaseExact: true} }
func ref(name string) Attr      { return Attr{Name: name, Type: TypeReference} }
func boolean(name string) Attr  { return Attr{Name: name, Type: TypeBoolean} }
func dateTime(name string) Attr { return Attr{Name: name, Type: TypeDateTime} }

func complexAttr(name string, multi bool, sub ...Attr) Attr {
	return Attr{Name: name, Type: TypeComplex, MultiValued: multi, SubAttrs: sub}
}

// multiValued builds the usual {value, display, type, primary} multi-valued
// attribute of RFC 7643 §2.4 with the given value type.
func multiValued(name, valueType string) Attr {
	return complexAttr(name, true,
		Attr{Name: "value", Type: valueType},
		str("display"), str("type"), boolean("primary"))
}

// commonAttrs are RFC 7643 §3.1's attributes every resource carries.
func commonAttrs() []Attr {
	return []Attr{
		{Name: "id", Type: TypeString, CaseExact: true, ReadOnly: true},
		exact("externalId"),
		{Name: "meta", Type: TypeComplex, ReadOnly: true, SubAttrs: []Attr{
			{Name: "resourceType", Type: TypeString, CaseExact: true},
			dateTime("created"),
			dateTime("lastModified"),
			{Name: "location", Type: TypeReference, CaseExact: true},
			{Name: "version", Type: TypeString, CaseExact: true},
		}},
	}
}

// CoreUser is the User resource type: RFC 7643 §4.1 with the common
// attributes and the enterprise extension (§4.3).
func CoreUser() ResourceSchema {
	attrs := append(commonAttrs(),
		str("userName"),
		complexAttr("name", false,
			str("formatted"), str("familyName"), str("givenName"),
			str("middleName"), str("honorificPrefix"), str("honorificSuffix")),
		str("displayName"),
		str("nickName"),
		ref("profileUrl"),
		str("title"),
		str("userType"),
		str("preferredLanguage"),
		str("locale"),
		str("timezone"),
		boolean("active"),
		str("password"),
		multiValued("emails", TypeString),
		multiValued("phoneNumbers", TypeString),
		multiValued("ims", TypeString),
		multiValued("photos", TypeReference),
		complexAttr("addresses", true,
			str("formatted"), str("streetAddress"), str("locality"),
			str("region"), str("postalCode"), str("country"),
			str("type"), boolean("primary")),
		Attr{Name: "groups", Type: TypeComplex, MultiValued: true, ReadOnly: true, SubAttrs: []Attr{
			str("value"), ref("$ref"), str("display"), str("type"),
		}},
		multiValued("entitlements", TypeString),
		multiValued("roles", TypeString),
		multiValued("x509Certificates", TypeBinary),
	)
	return ResourceSchema{
		Core:       Schema{URN: URNUser, Attrs: attrs},
		Extensions: []Schema{EnterpriseUser()},
	}
}

// EnterpriseUser is the enterprise User extension of RFC 7643 §4.3.
func EnterpriseUser() Schema {
	return Schema{URN: URNEnterpriseUser, Attrs: []Attr{
		str("employeeNumber"),
		str("costCenter"),
		str("organization"),
		str("division"),
		str("department"),
		// manager.displayName is readOnly (RFC 7643 §4.3): the server's
		// to fill, so PATCH may not set it.
		complexAttr("manager", false, str("value"), ref("$ref"),
			Attr{Name: "displayName", Type: TypeString, ReadOnly: true}),
	}}
}

// CoreGroup is the Group resource type of RFC 7643 §4.2 with the common
// attributes.
func CoreGroup() ResourceSchema {
	attrs := append(commonAttrs(),
		str("displayName"),
		complexAttr("members", true, str("value"), ref("$ref"), str("display"), str("type")),
	)
	return ResourceSchema{Core: Schema{URN: URNGroup, Attrs: attrs}}
}

// WithExtension returns a copy of rs with s added as an extension, or
// replacing the extension with the same URN.
func (rs *ResourceSchema) WithExtension(s Schema) ResourceSchema {
	out := ResourceSchema{Core: rs.Core}
	for _, e := range rs.Extensions {
		if !strings.EqualFold(e.URN, s.URN) {
			out.Extensions = append(out.Extensions, e)
		}
	}
	out.Extensions = append(out.Extensions, s)
	return out
}

// Lookup finds the attribute a path names: "userName", "name.givenName",
// "urn:...:enterprise:2.0:User:department", "urn:...:User:manager.value".
// Names match case-insensitively; value filters are ignored.
func (rs *ResourceSchema) Lookup(path string) (Attr, bool) {
	p, err := ParsePath(path)
	if err != nil || rs == nil {
		return Attr{}, false
	}
	r := p.resolve(rs)
	switch {
	case r.attr == nil:
		return Attr{}, false
	case p.SubAttr == "":
		return *r.attr, true
	case r.sub != nil:
		return *r.sub, true
	}
	return Attr{}, false
}

// schemaFor returns the schema a URN names (core or extension), nil if none.
func (rs *ResourceSchema) schemaFor(urn string) *Schema {
	if rs == nil {
		return nil
	}
	if strings.EqualFold(rs.Core.URN, urn) {
		return &rs.Core
	}
	for i := range rs.Extensions {
		if strings.EqualFold(rs.Extensions[i].URN, urn) {
			return &rs.Extensions[i]
		}
	}
	return nil
}

// findAttr finds name among attrs, case-insensitively.
func findAttr(attrs []Attr, name string) *Attr {
	for i := range attrs {
		if attrs[i].Name == name {
			return &attrs[i]
		}
	}
	for i := range attrs {
		if len(attrs[i].Name) == len(name) && strings.EqualFold(attrs[i].Name, name) {
			return &attrs[i]
		}
	}
	return nil
}

// lookupKey returns m's value under key, matching case-insensitively, and
// the key as spelled in m.
func lookupKey(m map[string]any, key string) (any, string, bool) {
	if v, ok := m[key]; ok {
		return v, key, true
	}
	// Attribute names are ASCII (RFC 7643 §2.1), so a different length is
	// never a match; checking it first keeps misses cheap.
	for k, v := range m {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			return v, k, true
		}
	}
	return nil, "", false
}
