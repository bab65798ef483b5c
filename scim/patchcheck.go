package scim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	scimerrors "github.com/elimity-com/scim/errors"
	elfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimbridge/scimbridge/scimpath"
)

// PATCH operations are checked here with the same decisions, and the same
// errors, as the pinned library's ResourceType.validatePatch and its
// internal/patch validator, which the request used to be replayed through.
// The library parses every operation's path with filter-parser again,
// which cost a third of all CPU under PATCH load; here the structural part
// (parsing the path, resolving it in the schemas, validating its filter) is
// computed once per path and cached, and the values are still validated by
// the library's own CoreAttribute.ValidateSingular. The replay is kept in
// the tests as the reference (patchcheck_test.go).

// pathKind says how the library treats a path: the path of an add or
// replace, the path of a remove (its filter is validated against other
// attributes), or a key of a path-less add/replace value (parsed without
// the path validator; a failure is invalidValue, not invalidPath).
type pathKind uint8

const (
	kindUpdate pathKind = iota
	kindRemove
	kindKey
)

type pathKey struct {
	kind pathKind
	path string
}

// resolvedPath is the structural verdict on one path.
type resolvedPath struct {
	badPath bool                  // rejected by the path validator: invalidPath
	attr    *schema.CoreAttribute // the attribute values are checked against; nil: invalidValue
}

// Bounds of the path cache: clients send a handful of path shapes; a
// client inventing paths gets them checked uncached, as before.
const (
	maxCachedPaths   = 4096
	maxCachedPathLen = 512
)

// patchChecker checks PATCH operations on one resource type.
type patchChecker struct {
	core    schema.Schema // with externalId, as the library's schemaWithCommon
	exts    []schema.Schema
	schemas map[string]schema.Schema // by id: core and extensions

	mu    sync.RWMutex
	paths map[pathKey]resolvedPath
}

func newPatchChecker(d *resourceDef) *patchChecker {
	core := d.core
	core.Attributes = append(append(schema.Attributes(nil), d.core.Attributes...),
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			CaseExact:  true,
			Mutability: schema.AttributeMutabilityReadWrite(),
			Name:       schema.CommonAttributeExternalID,
			Uniqueness: schema.AttributeUniquenessNone(),
		})))
	c := &patchChecker{core: core, exts: d.exts, schemas: map[string]schema.Schema{core.ID: core}, paths: map[pathKey]resolvedPath{}}
	for _, e := range d.exts {
		c.schemas[e.ID] = e
	}
	return c
}

var (
	errPatchPath  = scimError(scimerrors.ScimErrorInvalidPath)
	errPatchValue = scimError(scimerrors.ScimErrorInvalidValue)
)

// scimError is the library's error as validate reports it.
func scimError(e scimerrors.ScimError) *Error {
	return &Error{Status: e.Status, ScimType: string(e.ScimType), Detail: e.Detail}
}

// check validates ops in order and returns the error of the first one the
// library would reject, nil if it would accept them all.
func (c *patchChecker) check(ops []scimpath.Operation) *Error {
	for _, op := range ops {
		if e := c.checkOp(op); e != nil {
			return e
		}
	}
	return nil
}

// checkOp mirrors patch.NewValidator (errors: invalidPath) followed by
// OperationValidator.Validate (errors: invalidValue).
func (c *patchChecker) checkOp(op scimpath.Operation) *Error {
	value := op.Value
	// NewValidator drops an Okta-style "id" from an object value and
	// refuses two of them. Without one it deletes the key "" (its key
	// variable's zero value), so that is dropped too.
	if obj, ok := value.(map[string]any); ok {
		idKey, n := "", 0
		for k := range obj {
			if strings.ToLower(k) == "id" {
				idKey, n = k, n+1
			}
		}
		if n > 1 {
			return errPatchPath
		}
		if _, ok := obj[idKey]; ok {
			rest := make(map[string]any, len(obj)-1)
			for k, v := range obj {
				if k != idKey {
					rest[k] = v
				}
			}
			value = rest
		}
	}
	opName := strings.ToLower(op.Op)
	var p resolvedPath
	if op.Path != "" {
		kind := kindUpdate
		if opName == "remove" {
			kind = kindRemove
		}
		if p = c.resolve(kind, op.Path); p.badPath {
			return errPatchPath
		}
	}
	switch opName {
	case "add", "replace":
		if value == nil {
			return errPatchValue
		}
		if op.Path == "" {
			return c.checkPathless(value)
		}
	case "remove":
		if op.Path == "" || p.attr == nil {
			return errPatchValue
		}
		if value == nil {
			return nil
		}
	default:
		return errPatchValue
	}
	if p.attr == nil || !validValue(p.attr, value) {
		return errPatchValue
	}
	return nil
}

// checkPathless mirrors validateEmptyPath: the value is an object whose
// keys are paths of add/replace operations.
func (c *patchChecker) checkPathless(value any) *Error {
	obj, ok := value.(map[string]any)
	if !ok {
		return errPatchValue
	}
	for k, v := range obj {
		if v == nil {
			return errPatchValue
		}
		p := c.resolve(kindKey, k)
		if p.attr == nil || !validValue(p.attr, v) {
			return errPatchValue
		}
	}
	return nil
}

// validValue mirrors the value half of validateUpdate/validateRemove.
func validValue(a *schema.CoreAttribute, v any) bool {
	if list, ok := v.([]any); ok && a.MultiValued() {
		for _, e := range list {
			if _, err := a.ValidateSingular(e); err != nil {
				return false
			}
		}
		return true
	}
	_, err := a.ValidateSingular(v)
	return err == nil
}

// resolve returns the verdict on path, cached.
func (c *patchChecker) resolve(kind pathKind, path string) resolvedPath {
	key := pathKey{kind, path}
	c.mu.RLock()
	p, ok := c.paths[key]
	c.mu.RUnlock()
	if ok {
		return p
	}
	p = c.resolveUncached(kind, path)
	if len(path) <= maxCachedPathLen {
		c.mu.Lock()
		if len(c.paths) < maxCachedPaths {
			c.paths[key] = p
		}
		c.mu.Unlock()
	}
	return p
}

func (c *patchChecker) resolveUncached(kind pathKind, path string) resolvedPath {
	var fp filter.Path
	if kind == kindKey {
		var err error
		if fp, err = filter.ParsePath([]byte(path)); err != nil {
			return resolvedPath{}
		}
	} else {
		v, err := elfilter.NewPathValidator(path, c.core, c.exts...)
		if err != nil || v.Validate() != nil {
			return resolvedPath{badPath: true}
		}
		fp = v.Path()
	}
	return resolvedPath{attr: c.target(kind, fp)}
}

// target mirrors the structural half of validateUpdate/validateRemove:
// the attribute a path's values are checked against, nil if it names none
// or its filter is invalid.
func (c *patchChecker) target(kind pathKind, p filter.Path) *schema.CoreAttribute {
	attr := c.refAttribute(p.AttributePath)
	if attr == nil {
		return nil
	}
	if p.ValueExpression != nil {
		attrs := attr.SubAttributes()
		if kind == kindRemove {
			attrs = elfilter.MultiValuedFilterAttributes(*attr)
		}
		if elfilter.NewFilterValidator(p.ValueExpression, schema.Schema{Attributes: attrs}).Validate() != nil {
			return nil
		}
	}
	if sub := p.SubAttributeName(); sub != "" {
		return subAttribute(attr, sub)
	}
	return attr
}

// refAttribute mirrors OperationValidator.getRefAttribute.
func (c *patchChecker) refAttribute(ap filter.AttributePath) *schema.CoreAttribute {
	ref := c.core
	if uri := ap.URI(); uri != "" {
		var ok bool
		if ref, ok = c.schemas[uri]; !ok {
			return nil
		}
	}
	var attr *schema.CoreAttribute
	for _, a := range ref.Attributes {
		if strings.EqualFold(a.Name(), ap.AttributeName) {
			attr = &a
			break
		}
	}
	if attr == nil {
		return nil
	}
	if sub := ap.SubAttributeName(); sub != "" {
		return subAttribute(attr, sub)
	}
	return attr
}

// subAttribute mirrors OperationValidator.getRefSubAttribute.
func subAttribute(attr *schema.CoreAttribute, name string) *schema.CoreAttribute {
	if !attr.HasSubAttributes() {
		return nil
	}
	for _, a := range attr.SubAttributes() {
		if strings.EqualFold(a.Name(), name) {
			return &a
		}
	}
	return nil
}

// checkPatch validates the operations of a PATCH on d as the library does.
func (s *Server) checkPatch(d *resourceDef, ops []scimpath.Operation) *Error {
	if c := s.patchChecks[d]; c != nil {
		return c.check(ops)
	}
	return errorf(http.StatusInternalServerError, "", "no PATCH validator for "+d.typ)
}

// explainPatch names the operation a PATCH was refused for: the library's
// details ("A required value was missing, or the value specified was not
// compatible …") name no attribute, and a client sending ten operations
// could not tell which one. Runs on the error path only.
func (s *Server) explainPatch(d *resourceDef, ops []scimpath.Operation, e *Error) *Error {
	c := s.patchChecks[d]
	if c == nil {
		return e
	}
	for _, op := range ops {
		if c.checkOp(op) == nil {
			continue
		}
		where := op.Path
		if obj, ok := op.Value.(map[string]any); ok && where == "" {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			where = strings.Join(keys, ",")
		}
		return &Error{Status: e.Status, ScimType: e.ScimType, Detail: strings.ToLower(op.Op) + " " + strconv.Quote(where) + ": " + e.Detail}
	}
	return e
}
