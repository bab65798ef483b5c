// Package mapping turns a SCIM resource into the fields one target needs
// (declarative, per connector and resource type) and decides which
// resources a connector receives (scope).
package mapping

// Spec maps target fields to source expressions, per resource type.
//
// Keys are target field names as the connector defines them (flat, e.g.
// "email", "firstName", "email1"). Values are expressions:
//
//	userName                                      an attribute path
//	emails[type eq "work"].value                  value filters and sub-attributes
//	urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department
//	lower(userName)  upper(x)  trim(x)            transforms, nestable
//	default(title, displayName, "n/a")            the first argument with a value
//	join(emails.value, ",")                       multi-valued to one string
//	nth(emails.value, 2)                          the 2nd value (1-based)
//	"{{name.givenName}} {{name.familyName}}"      a template (a quoted string with {{expr}})
//	"literal"                                     a constant
//
// A field whose expression yields nothing (missing, null or "") is left
// out. A value filter selects one value, its first match; a multi-valued
// attribute without one (emails.value) gives a list. In a template a
// missing placeholder renders as nothing and the result is trimmed.
// In YAML, quote the whole expression when it has quotes of its own:
// `title: '"Engineer"'` (a template is recognised without them).
//
// An empty expression removes a default mapping's field (see Merge).
type Spec struct {
	User  map[string]string `yaml:"user"`
	Group map[string]string `yaml:"group"`
}

// Scope selects the resources a connector receives: a SCIM filter over
// users and one over groups; "" means every resource.
type Scope struct {
	Users  string `yaml:"users"`
	Groups string `yaml:"groups"`
}
