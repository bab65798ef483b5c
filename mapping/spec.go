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
//	default(title, "n/a")                         first non-empty value
//	join(emails.value, ",")                       multi-valued to one string
//	nth(emails.value, 2)                          the 2nd value (1-based)
//	"{{name.givenName}} {{name.familyName}}"      a template (a quoted string with {{path}})
//	"literal"                                     a constant
//
// An empty expression removes a default mapping's field.
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
