package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/scimpath"
	"github.com/scimbridge/scimbridge/store"
)

// Resource types (store.ResourceType), named here for readable call sites.
const (
	User  = store.TypeUser
	Group = store.TypeGroup
)

// Mapper is a compiled Spec and Scope for one connector. It is immutable
// and safe for concurrent use.
type Mapper struct {
	user, group []field
	userScope   matcher // nil: every user
	groupScope  matcher // nil: every group
	fingerprint string
}

type field struct {
	name string
	n    node
}

// matcher is a compiled scope filter.
type matcher interface {
	match(res map[string]any) bool
}

// Option configures New.
type Option func(*options)

type options struct {
	user, group *scimpath.ResourceSchema
}

// WithSchemas sets the resource schemas that attribute paths and scope
// filters are checked and evaluated against. The default is the core User
// (with the enterprise extension) and core Group; a deployment that
// registers custom extensions passes its own so their URN paths resolve.
// A nil schema keeps the default.
func WithSchemas(user, group *scimpath.ResourceSchema) Option {
	return func(o *options) {
		if user != nil {
			o.user = user
		}
		if group != nil {
			o.group = group
		}
	}
}

// New compiles and checks every expression of spec and both scope filters
// against the schemas. It reports every problem, one per line (see
// Errors), each naming the field and expression:
//
//	user field "email": expression "lowr(userName)": unknown function "lowr" (...)
func New(spec Spec, scope Scope, opts ...Option) (*Mapper, error) {
	o := options{user: coreUser(), group: coreGroup()}
	for _, opt := range opts {
		opt(&o)
	}
	m := &Mapper{fingerprint: fingerprint(spec, scope)}
	var errs []error
	compile := func(typ string, exprs map[string]string, rs *scimpath.ResourceSchema) []field {
		fields := make([]field, 0, len(exprs))
		for _, name := range slices.Sorted(maps.Keys(exprs)) {
			expr := exprs[name]
			if strings.TrimSpace(expr) == "" {
				continue // removed by an override (see Merge)
			}
			n, err := parseExpr(expr, compilePath(rs))
			if err != nil {
				errs = append(errs, &Error{Type: typ, Field: name, Expr: expr, Err: err})
				continue
			}
			fields = append(fields, field{name, n})
		}
		return fields
	}
	m.user = compile(User, spec.User, o.user)
	m.group = compile(Group, spec.Group, o.group)

	scopeOf := func(typ, filter string, rs *scimpath.ResourceSchema) matcher {
		if strings.TrimSpace(filter) == "" {
			return nil
		}
		f, err := compileFilter(filter, rs)
		if err != nil {
			errs = append(errs, &Error{Type: typ, Scope: true, Expr: filter, Err: err})
		}
		return f
	}
	m.userScope = scopeOf(User, scope.Users, o.user)
	m.groupScope = scopeOf(Group, scope.Groups, o.group)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// Error is one bad expression or scope filter.
type Error struct {
	Type  string // User or Group
	Field string // target field; "" for a scope filter
	Scope bool   // the scope filter, not a field
	Expr  string
	Err   error
}

func (e *Error) Error() string {
	if e.Scope {
		return fmt.Sprintf("%s scope: filter %q: %v", strings.ToLower(e.Type), e.Expr, e.Err)
	}
	return fmt.Sprintf("%s field %q: expression %q: %v", strings.ToLower(e.Type), e.Field, e.Expr, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Errors splits an error returned by New into its problems, one per bad
// field or filter, so a caller can prefix each (with the connector name)
// and print one line per problem.
func Errors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Merge overlays override on defaults, field by field: a field in
// override replaces the default's, and an empty expression removes it.
func Merge(defaults, override Spec) Spec {
	merge := func(d, o map[string]string) map[string]string {
		if d == nil && o == nil {
			return nil
		}
		out := make(map[string]string, len(d)+len(o))
		maps.Copy(out, d)
		for k, v := range o {
			if strings.TrimSpace(v) == "" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	return Spec{User: merge(defaults.User, override.User), Group: merge(defaults.Group, override.Group)}
}

// Map computes the target fields of a resource (a User or Group as stored:
// decoded SCIM JSON). A field whose expression yields nothing is omitted.
// A field is a single value (string, bool, float64, or a map for a whole
// complex value) unless its expression selects a multi-valued attribute
// without a value filter (emails.value), which gives a []any.
func (m *Mapper) Map(typ string, res map[string]any) (map[string]any, error) {
	var fields []field
	switch typ {
	case User:
		fields = m.user
	case Group:
		fields = m.group
	default:
		return nil, fmt.Errorf("mapping: unknown resource type %q", typ)
	}
	out := make(map[string]any, len(fields))
	var buf [8]any
	for _, f := range fields {
		v, ok, err := value(f.n, res, buf[:0])
		if err != nil {
			return nil, fmt.Errorf("%s field %q: %w", strings.ToLower(typ), f.name, err)
		}
		if ok {
			out[f.name] = v
		}
	}
	return out, nil
}

// value evaluates one field's expression, using buf as scratch space; ok
// is false when it yields nothing.
func value(n node, res map[string]any, buf []any) (v any, ok bool, err error) {
	vals, err := n.eval(res, buf)
	switch {
	case err != nil || len(vals) == 0:
		return nil, false, err
	case n.multi():
		return slices.Clone(vals), true, nil
	}
	return vals[0], true, nil
}

// InScope reports whether the connector receives the resource. Scope is
// about which resources a target holds, not their state: an inactive user
// stays in scope (and is disabled in the target) unless the filter itself
// says otherwise (active eq true).
func (m *Mapper) InScope(typ string, res map[string]any) bool {
	var f matcher
	switch typ {
	case User:
		f = m.userScope
	case Group:
		f = m.groupScope
	default:
		return false
	}
	return f == nil || f.match(res)
}

// Transition is what a change to a resource means for one connector.
type Transition int

const (
	Outside Transition = iota // out of scope before and after: nothing to send
	Enter                     // created in scope or entered it: provision
	Stay                      // in scope before and after: update (deactivation included)
	Leave                     // was in scope, now is not (or is deleted): deprovision
)

func (t Transition) String() string {
	return [...]string{"outside", "enter", "stay", "leave"}[t]
}

// Transition compares a resource before and after a change (nil: it did
// not exist). The dispatcher enqueues an upsert for Enter and Stay and a
// delete for Leave; a deactivated user stays in scope (unless the filter
// tests active), so it is updated and disabled, not deprovisioned.
func (m *Mapper) Transition(typ string, before, after map[string]any) Transition {
	was := before != nil && m.InScope(typ, before)
	is := after != nil && m.InScope(typ, after)
	switch {
	case was && is:
		return Stay
	case is:
		return Enter
	case was:
		return Leave
	}
	return Outside
}

// Fields lists the target fields mapped for typ, sorted.
func (m *Mapper) Fields(typ string) []string {
	var fields []field
	switch typ {
	case User:
		fields = m.user
	case Group:
		fields = m.group
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

// Fingerprint identifies the spec and scope the Mapper was built from.
// A caller stores it per connector; when it changes between two starts,
// every resource must be re-evaluated (re-mapped, and provisioned or
// deprovisioned where scope changed).
func (m *Mapper) Fingerprint() string { return m.fingerprint }

func fingerprint(spec Spec, scope Scope) string {
	h := sha256.New()
	write := func(kind string, exprs map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(exprs)) {
			if v := strings.TrimSpace(exprs[k]); v != "" {
				fmt.Fprintf(h, "%s\x00%s\x00%s\x00", kind, k, v)
			}
		}
	}
	write("user", spec.User)
	write("group", spec.Group)
	fmt.Fprintf(h, "scope\x00%s\x00%s", strings.TrimSpace(scope.Users), strings.TrimSpace(scope.Groups))
	return hex.EncodeToString(h.Sum(nil)[:12])
}
