package scimpath

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Operation is one PATCH operation (RFC 7644 §3.5.2). Op is add, replace or
// remove in any letter case; Path may be "".
type Operation struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// ApplyPatch applies ops to res in order, in place, with the IdP
// tolerances documented in docs/notes/scimpath.md (Entra's capitalised ops,
// string booleans, bare-string manager, filter paths that create their
// element; Okta's path-less values that resend id).
//
// Errors are *Error with Status 400. res may be partly changed when an
// error is returned: callers wanting all-or-nothing pass a DeepCopy and
// keep it only on success. Values are copied into res, never aliased.
func ApplyPatch(res map[string]any, ops []Operation, rs *ResourceSchema) error {
	for i, op := range ops {
		err := checkValuePrimary(op)
		switch {
		case err != nil:
		case mayAffectPrimary(res, op):
			before := takePrimarySnapshot(res)
			if err = applyOp(res, op, rs); err == nil {
				err = settlePrimary(res, before)
			}
		default:
			err = applyOp(res, op, rs)
		}
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Detail = "operation " + strconv.Itoa(i+1) + ": " + e.Detail
			}
			return err
		}
	}
	return nil
}

type opKind uint8

const (
	opAdd opKind = iota
	opReplace
	opRemove
)

func applyOp(res map[string]any, op Operation, rs *ResourceSchema) error {
	var kind opKind
	switch strings.ToLower(op.Op) {
	case "add":
		kind = opAdd
	case "replace":
		kind = opReplace
	case "remove":
		kind = opRemove
	default:
		return badRequest(ErrInvalidSyntax, "unknown op "+quoteShort(op.Op))
	}
	if strings.TrimSpace(op.Path) == "" {
		if kind == opRemove {
			return badRequest(ErrNoTarget, "remove needs a path")
		}
		obj, ok := unwrapObject(op.Value)
		if !ok {
			return badRequest(ErrInvalidValue, "an operation without path needs an object value")
		}
		return applyPathless(res, kind, obj, rs)
	}
	p, err := ParsePath(op.Path)
	if err != nil {
		return err
	}
	return applyPath(res, kind, p, op.Value, rs)
}

// unwrapObject returns v as an object, accepting a one-element list of one
// (elimity-com/scim wraps filtered values that way).
func unwrapObject(v any) (map[string]any, bool) {
	if l, ok := v.([]any); ok && len(l) == 1 {
		v = l[0]
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// applyPathless applies an add or replace whose value holds the
// attributes: plain names, dotted names, URN-prefixed names or whole
// extension objects keyed by URN.
func applyPathless(res map[string]any, kind opKind, obj map[string]any, rs *ResourceSchema) error {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic when keys overlap
	for _, k := range keys {
		v := obj[k]
		switch strings.ToLower(k) {
		case "schemas", "meta":
			continue
		case "id":
			// Okta resends the resource's own id; only a different one is
			// an attempt to change it.
			if cur, ok := res["id"]; ok && v != nil && !reflect.DeepEqual(cur, v) {
				return badRequest(ErrMutability, "id is readOnly")
			}
			continue
		}
		p, err := ParsePath(k)
		if err != nil {
			return err
		}
		if p.Filter == nil && p.URN == "" && p.SubAttr == "" {
			if def := findAttr(coreAttrs(rs), p.Attr); def != nil && def.ReadOnly {
				continue // e.g. groups, resent from a GET
			}
		}
		if err := applyPath(res, kind, p, v, rs); err != nil {
			return err
		}
	}
	return nil
}

func coreAttrs(rs *ResourceSchema) []Attr {
	if rs == nil {
		return nil
	}
	return rs.Core.Attrs
}

func applyPath(res map[string]any, kind opKind, p Path, value any, rs *ResourceSchema) error {
	if urn, ok := p.wholeSchema(res, rs); ok {
		return applyWholeSchema(res, kind, urn, value, rs)
	}
	container, attrs := resourceContainer(res, rs, p.URN, kind != opRemove)
	if container == nil {
		if kind == opRemove {
			return nil
		}
		return badRequest(ErrInvalidPath, "unknown schema in path "+quoteShort(p.String()))
	}
	def := findAttr(attrs, p.Attr)
	if err := p.Filter.checkElementTypes(def); err != nil {
		return err
	}
	if def != nil && def.ReadOnly || def == nil && rs == nil && p.URN == "" && isCommonReadOnly(p.Attr) {
		return badRequest(ErrMutability, p.Attr+" is readOnly")
	}
	key := p.Attr
	if def != nil {
		key = def.Name
	}
	cur, curKey, exists := lookupKey(container, key)
	if exists {
		key = curKey
	}
	t := target{container: container, key: key, def: def, cur: cur, exists: exists}
	var err error
	switch {
	case p.Filter != nil:
		err = t.applyFiltered(kind, p, value)
	case p.SubAttr != "":
		err = t.applySub(kind, p.SubAttr, value)
	default:
		err = t.apply(kind, value)
	}
	if err != nil {
		return err
	}
	if p.URN != "" {
		pruneExtension(res, rs, p.URN) // a remove or null may empty it
	}
	return nil
}

func isCommonReadOnly(name string) bool {
	return strings.EqualFold(name, "id") || strings.EqualFold(name, "meta")
}

// applyWholeSchema handles a path or key naming a whole extension object.
func applyWholeSchema(res map[string]any, kind opKind, urn string, value any, rs *ResourceSchema) error {
	if kind == opRemove {
		if _, k, ok := lookupKey(res, urn); ok {
			delete(res, k)
		}
		removeSchema(res, urn)
		return nil
	}
	obj, ok := value.(map[string]any)
	if !ok {
		return badRequest(ErrInvalidValue, "value of "+quoteShort(urn)+" must be an object")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p, err := ParsePath(urn + ":" + k)
		if err != nil {
			return err
		}
		if err := applyPath(res, kind, p, obj[k], rs); err != nil {
			return err
		}
	}
	return nil
}

// pruneExtension drops an extension object left empty by a remove.
func pruneExtension(res map[string]any, rs *ResourceSchema, urn string) {
	if rs != nil {
		s := rs.schemaFor(urn)
		if s == nil || s == &rs.Core {
			return
		}
		urn = s.URN
	}
	v, k, ok := lookupKey(res, urn)
	if m, isMap := v.(map[string]any); ok && isMap && len(m) == 0 {
		delete(res, k)
		removeSchema(res, urn)
	}
}

func removeSchema(res map[string]any, urn string) {
	list, ok := res["schemas"].([]any)
	if !ok {
		return
	}
	res["schemas"] = slices.DeleteFunc(slices.Clone(list), func(s any) bool {
		str, ok := s.(string)
		return ok && strings.EqualFold(str, urn)
	})
}

// target is the attribute an operation changes.
type target struct {
	container map[string]any
	key       string
	def       *Attr // nil for attributes no schema declares
	cur       any
	exists    bool
}

func (t *target) multiValued(value any) bool {
	if t.def != nil {
		return t.def.MultiValued
	}
	if _, ok := t.cur.([]any); ok {
		return true
	}
	_, ok := value.([]any)
	return !t.exists && ok
}

func (t *target) isComplex(value any) bool {
	if t.def != nil {
		return t.def.Type == TypeComplex
	}
	_, curMap := t.cur.(map[string]any)
	_, valMap := value.(map[string]any)
	return curMap && valMap
}

func (t *target) set(v any)   { t.container[t.key] = v }
func (t *target) unset()      { delete(t.container, t.key) }
func (t *target) list() []any { l, _ := t.cur.([]any); return l }

// apply handles a path naming the attribute itself.
func (t *target) apply(kind opKind, value any) error {
	if kind == opRemove {
		if value != nil && t.multiValued(nil) {
			// Remove exactly the listed values, never the whole list.
			drop := asList(value)
			kept := slices.DeleteFunc(slices.Clone(t.list()), func(e any) bool {
				return slices.ContainsFunc(drop, func(d any) bool { return sameValue(e, d) })
			})
			t.setList(kept)
			return nil
		}
		t.unset()
		return nil
	}
	if value == nil {
		t.unset() // a null value clears (RFC 7644 §3.5.2.3 treats it as unassigned)
		return nil
	}
	if t.multiValued(value) {
		vals, err := normalizeList(t.def, value)
		if err != nil {
			return err
		}
		if kind == opReplace {
			t.set(vals)
			fixPrimary(vals, vals)
			return nil
		}
		l := slices.Clone(t.list())
		written := make([]any, 0, len(vals))
		for _, v := range vals {
			i := slices.IndexFunc(l, func(e any) bool { return sameElement(e, v) })
			if i < 0 {
				l = append(l, v)
				written = append(written, v)
				continue
			}
			// Already there: refresh its other sub-attributes (display...).
			em, eok := l[i].(map[string]any)
			vm, vok := v.(map[string]any)
			if eok && vok {
				mergeInto(em, vm)
				written = append(written, em)
			}
		}
		t.set(l)
		fixPrimary(l, written)
		return nil
	}
	v, err := normalize(t.def, value)
	if err != nil {
		return err
	}
	if vm, ok := v.(map[string]any); ok && t.isComplex(value) {
		// RFC 7644 §3.5.2.1/3: sub-attributes not given stay unchanged.
		if _, given := value.(map[string]any); given {
			if cm, ok := t.cur.(map[string]any); ok {
				mergeInto(cm, vm)
				return nil
			}
		}
	}
	t.set(v)
	return nil
}

// setList stores l, or removes the attribute when l is empty.
func (t *target) setList(l []any) {
	if len(l) == 0 {
		t.unset()
		return
	}
	t.set(l)
}

// applySub handles attr.sub without a filter: on a complex attribute, or on
// every element of a multi-valued one.
func (t *target) applySub(kind opKind, sub string, value any) error {
	var subDef *Attr
	if t.def != nil {
		subDef = findAttr(t.def.SubAttrs, sub)
		if subDef != nil {
			sub = subDef.Name
		}
	}
	if subDef != nil && subDef.ReadOnly {
		return badRequest(ErrMutability, t.def.Name+"."+sub+" is readOnly")
	}
	var v any
	if kind != opRemove {
		var err error
		if v, err = normalize(subDef, value); err != nil {
			return err
		}
	}
	switch cur := t.cur.(type) {
	case map[string]any:
		setSub(cur, sub, kind, v)
		if len(cur) == 0 {
			t.unset()
		}
	case []any:
		l := slices.Clone(cur)
		for i, e := range l {
			if m, ok := e.(map[string]any); ok {
				m = cloneMap(m)
				setSub(m, sub, kind, v)
				l[i] = m
			}
		}
		t.set(l)
		fixPrimary(l, l)
	default:
		if kind == opRemove || v == nil {
			return nil
		}
		m := map[string]any{sub: v}
		if t.multiValued(nil) {
			t.set([]any{m})
		} else {
			t.set(m)
		}
	}
	return nil
}

func setSub(m map[string]any, sub string, kind opKind, v any) {
	_, k, ok := lookupKey(m, sub)
	if !ok {
		k = sub
	}
	if kind == opRemove || v == nil {
		delete(m, k)
		return
	}
	m[k] = v
}

// applyFiltered handles attr[filter] and attr[filter].sub.
func (t *target) applyFiltered(kind opKind, p Path, value any) error {
	sc := scope{element: true}
	var subDef *Attr
	if t.def != nil {
		sc.attrs = t.def.SubAttrs
		if p.SubAttr != "" {
			subDef = findAttr(t.def.SubAttrs, p.SubAttr)
		}
	}
	sub := p.SubAttr
	if subDef != nil {
		sub = subDef.Name
		if subDef.ReadOnly {
			return badRequest(ErrMutability, t.def.Name+"."+sub+" is readOnly")
		}
	}
	l := slices.Clone(t.list())
	// A filter on a single complex value (name[givenName eq "x"]) selects
	// it or nothing; it stays a single value.
	single, isMap := t.cur.(map[string]any)
	if isMap {
		l = []any{single}
	}
	store := func(l []any) {
		if isMap && len(l) == 1 {
			t.set(l[0])
			return
		}
		t.setList(l)
	}
	var matched []int
	for i, e := range l {
		if m, ok := e.(map[string]any); ok && p.Filter.root.eval(m, sc) {
			matched = append(matched, i)
		}
	}

	if kind == opRemove {
		if sub == "" {
			for _, i := range slices.Backward(matched) {
				l = slices.Delete(l, i, i+1)
			}
		} else {
			for _, i := range matched {
				m := cloneMap(l[i].(map[string]any))
				setSub(m, sub, opRemove, nil)
				l[i] = m
			}
		}
		store(l)
		return nil
	}

	// add and replace: the new value for the selected elements.
	var v any
	if sub != "" {
		var err error
		if v, err = normalize(subDef, value); err != nil {
			return err
		}
	} else {
		obj, ok := unwrapObject(value)
		if !ok {
			return badRequest(ErrInvalidValue, "value for "+quoteShort(p.String())+" must be an object")
		}
		elemDef := t.def
		if elemDef != nil {
			d := *elemDef
			d.MultiValued = false
			elemDef = &d
		}
		nv, err := normalize(elemDef, obj)
		if err != nil {
			return err
		}
		v = nv
	}

	if len(matched) == 0 {
		// Entra: a filter path that selects nothing creates the element the
		// filter describes (emails[type eq "work"].value → a work email).
		elem, ok := p.Filter.root.equalities()
		if !ok || isMap || t.def != nil && !t.def.MultiValued {
			return badRequest(ErrNoTarget, "no value matches "+quoteShort(p.String()))
		}
		if sub != "" {
			elem[sub] = v
		} else {
			mergeInto(elem, v.(map[string]any))
		}
		if nv, err := normalize(t.def, []any{elem}); err == nil {
			elem = nv.([]any)[0].(map[string]any)
		}
		l = append(l, elem)
		t.set(l)
		fixPrimary(l, []any{elem})
		return nil
	}
	var touched []any
	for _, i := range matched {
		m := cloneMap(l[i].(map[string]any))
		switch {
		case sub != "":
			setSub(m, sub, kind, DeepCopyValue(v))
		case kind == opAdd:
			mergeInto(m, DeepCopyValue(v).(map[string]any))
		default:
			// replace swaps the element, keeping what the filter selected on.
			eq, ok := p.Filter.root.equalities()
			if !ok {
				eq = map[string]any{}
			}
			m = eq
			mergeInto(m, DeepCopyValue(v).(map[string]any))
		}
		l[i] = m
		touched = append(touched, m)
	}
	store(l)
	fixPrimary(l, touched)
	return nil
}

// equalities returns the attribute values an and-conjunction of eq
// comparisons requires, as an element that satisfies it.
func (n *node) equalities() (map[string]any, bool) {
	m := map[string]any{}
	var walk func(n *node) bool
	walk = func(n *node) bool {
		switch {
		case n.kind == nodeAnd:
			return walk(n.left) && walk(n.right)
		case n.kind == nodeCompare && n.op == "eq" && n.ref.sub == "" && n.ref.urn == "" && n.value.raw != nil:
			v := n.value.raw
			if num, ok := toFloat(v); ok {
				v = num
			}
			m[n.ref.attr] = v
			return true
		}
		return false
	}
	return m, walk(n)
}

// sameElement reports whether the new element d of a multi-valued
// attribute is already there as e: same "value" and no conflicting "type"
// for complex values (so a member is never added twice, while the same
// address as work and home stays two), equality otherwise.
func sameElement(e, d any) bool {
	em, eIsMap := e.(map[string]any)
	dm, dIsMap := d.(map[string]any)
	if !eIsMap || !dIsMap {
		return scalarEqual(e, d)
	}
	ev, eok := em["value"]
	dv, dok := dm["value"]
	if !eok || !dok {
		return reflect.DeepEqual(withoutNulls(em), withoutNulls(dm))
	}
	et, dt := em["type"], dm["type"]
	return scalarEqual(ev, dv) && (et == nil || dt == nil || scalarEqual(et, dt))
}

// sameValue reports whether e is the element a remove's value d names:
// RFC 7644 §3.5.2.2 compares on "value" (a bare d is that value).
func sameValue(e, d any) bool {
	if dm, ok := d.(map[string]any); ok {
		dv, ok := dm["value"]
		if !ok {
			return sameElement(e, d)
		}
		d = dv
	}
	if em, ok := e.(map[string]any); ok {
		return scalarEqual(em["value"], d)
	}
	return scalarEqual(e, d)
}

func scalarEqual(a, b any) bool {
	if af, ok := toFloat(a); ok {
		bf, ok := toFloat(b)
		return ok && af == bf
	}
	switch a.(type) {
	case map[string]any, []any:
		return reflect.DeepEqual(a, b)
	}
	switch b.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}

func withoutNulls(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// fixPrimary keeps RFC 7643 §2.4's "primary true at most once": when one of
// the elements just written is primary, every other one stops being.
func fixPrimary(list []any, written []any) {
	var winner map[string]any
	for _, w := range written {
		if m, ok := w.(map[string]any); ok && isPrimary(m) {
			if winner != nil {
				return // two written primaries: ApplyPatch refuses the operation
			}
			winner = m
		}
	}
	if winner == nil {
		return
	}
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok || sameMap(m, winner) || !isPrimary(m) {
			continue
		}
		_, k, _ := lookupKey(m, "primary")
		m[k] = false
	}
}

func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func isPrimary(m map[string]any) bool {
	v, _, _ := lookupKey(m, "primary")
	b, _ := v.(bool)
	return b
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// mergeInto copies src's keys into dst, matching existing keys
// case-insensitively; null values delete.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if _, dk, ok := lookupKey(dst, k); ok {
			k = dk
		}
		if v == nil {
			delete(dst, k)
			continue
		}
		dst[k] = DeepCopyValue(v)
	}
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// normalizeList normalises a multi-valued attribute's new values.
func normalizeList(def *Attr, v any) ([]any, error) {
	out, err := normalize(def, asList(v))
	if err != nil {
		return nil, err
	}
	if l, ok := out.([]any); ok {
		return l, nil
	}
	return []any{out}, nil
}

// normalize returns a copy of v converted to def's type: "True"/"false"
// strings to booleans, numeric strings to numbers, a bare value of a
// complex attribute to {"value": v} (Entra's manager), recursively through
// sub-attributes. Values of unknown attributes are copied as given.
func normalize(def *Attr, v any) (any, error) {
	if def == nil || v == nil {
		return DeepCopyValue(v), nil
	}
	if def.MultiValued {
		if l, ok := v.([]any); ok {
			single := *def
			single.MultiValued = false
			out := make([]any, 0, len(l))
			for _, e := range l {
				ne, err := normalize(&single, e)
				if err != nil {
					return nil, err
				}
				if ne != nil {
					out = append(out, ne)
				}
			}
			return out, nil
		}
	}
	switch def.Type {
	case TypeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, ok := parseBool(strings.TrimSpace(x)); ok {
				return b, nil
			}
		}
		return nil, badRequest(ErrInvalidValue, def.Name+" must be a boolean")
	case TypeInteger, TypeDecimal:
		if s, ok := v.(string); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, badRequest(ErrInvalidValue, def.Name+" must be a number")
			}
			return f, nil
		}
		return DeepCopyValue(v), nil
	case TypeComplex:
		m, ok := v.(map[string]any)
		if !ok {
			if _, isList := v.([]any); isList {
				return nil, badRequest(ErrInvalidValue, def.Name+" must be an object")
			}
			if findAttr(def.SubAttrs, "value") == nil {
				return nil, badRequest(ErrInvalidValue, def.Name+" must be an object")
			}
			m = map[string]any{"value": v}
		}
		out := make(map[string]any, len(m))
		for k, sv := range m {
			if sv == nil {
				continue // null is unassigned (RFC 7643 §2.5), e.g. Entra's "$ref": null
			}
			sd := findAttr(def.SubAttrs, k)
			if sd != nil && sd.ReadOnly {
				continue // ignored inside a value, as POST and PUT ignore it (RFC 7643 §2.2)
			}
			if sd != nil {
				k = sd.Name
			}
			nv, err := normalize(sd, sv)
			if err != nil {
				return nil, err
			}
			out[k] = nv
		}
		return out, nil
	}
	return DeepCopyValue(v), nil
}

// DeepCopy returns a copy of m sharing nothing mutable with it (maps and
// slices are copied; strings, numbers and booleans are values).
func DeepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = DeepCopyValue(v)
	}
	return out
}

// DeepCopyValue is DeepCopy for any decoded JSON value.
func DeepCopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return DeepCopy(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = DeepCopyValue(e)
		}
		return out
	}
	return v
}
