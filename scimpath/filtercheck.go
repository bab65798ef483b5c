package scimpath

// RFC 7644 §3.4.2.2: "gt", "ge", "lt" and "le" on a boolean or binary
// attribute SHALL fail with 400 invalidFilter. Filters parse without a
// schema (the same filter is matched against users and groups), so the
// check is a separate pass against the resource type's schema.

// CheckTypes reports, as a *Error with ScimType invalidFilter, a
// comparison that orders an attribute whose type has no order: gt, ge, lt
// or le on a boolean or binary attribute, at the top level or inside a
// value filter (emails[primary gt true]). Attributes the schema does not
// declare are not checked. rs may be nil (nothing is known, nothing fails).
func (f *Filter) CheckTypes(rs *ResourceSchema) error {
	if f == nil || f.root == nil {
		return nil
	}
	return f.root.checkTypes(scope{rs: rs})
}

// checkElementTypes is CheckTypes for a value filter on the elements of a
// complex attribute described by def (a PATCH path's filter).
func (f *Filter) checkElementTypes(def *Attr) error {
	if f == nil || f.root == nil || def == nil {
		return nil
	}
	return f.root.checkTypes(scope{element: true, attrs: def.SubAttrs})
}

func (n *node) checkTypes(sc scope) error {
	switch n.kind {
	case nodeAnd, nodeOr:
		if err := n.left.checkTypes(sc); err != nil {
			return err
		}
		return n.right.checkTypes(sc)
	case nodeNot:
		return n.left.checkTypes(sc)
	case nodeValuePath:
		sub := scope{element: true}
		if def := sc.def(n.ref); def != nil {
			sub.attrs = def.SubAttrs
		}
		return n.left.checkTypes(sub)
	}
	switch n.op {
	case "gt", "ge", "lt", "le":
	default:
		return nil
	}
	def := sc.def(n.ref)
	if def != nil && def.Type == TypeComplex && n.ref.sub == "" {
		// Compared without a sub-attribute, a complex attribute compares
		// its value (x509Certificates gt "a" is x509Certificates.value's).
		def = findAttr(def.SubAttrs, "value")
	}
	if def != nil && (def.Type == TypeBoolean || def.Type == TypeBinary) {
		return filterError(n.ref.String() + " is " + def.Type + ": " + n.op + " needs an attribute with an order (RFC 7644 §3.4.2.2)")
	}
	return nil
}

// def resolves a filter's attribute reference to its definition, nil when
// the schema does not declare it.
func (sc scope) def(ref attrRef) *Attr {
	var def *Attr
	if sc.element {
		def = findAttr(sc.attrs, ref.attr)
	} else {
		_, attrs := resourceContainer(nil, sc.rs, ref.urn, false)
		def = findAttr(attrs, ref.attr)
	}
	if def != nil && ref.sub != "" {
		def = findAttr(def.SubAttrs, ref.sub)
	}
	return def
}
