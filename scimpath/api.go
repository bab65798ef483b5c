// Package scimpath is scimbridge's one implementation of SCIM attribute
// paths, filters (RFC 7644 §3.4.2.2), PATCH operations (§3.5.2) and
// attribute projection (§3.4.2.5) over resources held as map[string]any
// (decoded JSON). The inbound SCIM server and the mapping package both use
// it, so there is one parser and one evaluator.
//
// Parsing and evaluation are ours: paths by ParsePath, filters by a
// recursive-descent parser (fastparse.go). A filter that parser does not
// accept falls back to github.com/scim2/filter-parser/v2, whose grammar
// and errors stay the reference; FromExpression compiles the expressions
// elimity-com/scim has already parsed with it.
package scimpath

// Attribute types, as in RFC 7643 §2.3.
const (
	TypeString    = "string"
	TypeBoolean   = "boolean"
	TypeInteger   = "integer"
	TypeDecimal   = "decimal"
	TypeDateTime  = "dateTime"
	TypeReference = "reference"
	TypeComplex   = "complex"
	TypeBinary    = "binary"
)

// Attr describes one attribute, enough to evaluate filters and apply PATCH.
type Attr struct {
	Name        string
	Type        string // one of the Type constants
	MultiValued bool
	CaseExact   bool
	ReadOnly    bool   // mutability readOnly: PATCH may not change it
	SubAttrs    []Attr // for complex attributes
}

// Schema is one schema's attributes. Core attributes live at the top level
// of a resource; extension attributes under the key URN.
type Schema struct {
	URN   string
	Attrs []Attr
}

// ResourceSchema is a resource type's core schema and its extensions.
// Attribute names resolve case-insensitively; a URN prefix
// ("urn:...:User:department") selects an extension (or the core schema).
type ResourceSchema struct {
	Core       Schema
	Extensions []Schema
}
