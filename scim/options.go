// Package scim is scimbridge's inbound SCIM 2.0 endpoint (RFC 7643/7644):
// the pinned github.com/elimity-com/scim server for protocol plumbing, and
// our handlers for storage, filtering, PATCH and the IdP quirks it lacks.
package scim

import "github.com/scimbridge/scimbridge/auth"

// Options configure the SCIM endpoint (the `scim:` section of config.yaml).
type Options struct {
	// ExternalURL is the absolute base URL IdPs use, e.g.
	// "https://scim.example.com"; meta.location and Location headers are
	// built from it (+ "/scim/v2/Users/<id>").
	ExternalURL string `yaml:"-"`
	// MaxResults caps `count` on list and search requests.
	MaxResults int `yaml:"max_results"`
	// MaxPayloadBytes is the request body limit (413 beyond it).
	MaxPayloadBytes int64 `yaml:"max_payload_bytes"`
	// MaxBulkOperations caps the operations of one POST /Bulk (413
	// beyond it); 0 means DefaultMaxBulkOperations.
	MaxBulkOperations int `yaml:"max_bulk_operations"`
	// UniqueGroupDisplayName makes group displayName unique
	// case-insensitively (409 uniqueness); default true.
	UniqueGroupDisplayName *bool `yaml:"unique_group_display_name"`
	// StrictAttributes rejects attributes no schema declares with 400
	// instead of ignoring them with a warning.
	StrictAttributes bool `yaml:"strict_attributes"`
	// Extensions are custom schema extensions (Okta/Entra custom attributes).
	Extensions []Extension `yaml:"extensions"`
	// ProvenanceWriters are the SCIM clients allowed to write the
	// provenance extension (the HR importer's, config import.client). Set,
	// the extension is read-only to every other client; empty, anyone may
	// write it.
	ProvenanceWriters []string `yaml:"-"`
	// Clients are the named SCIM clients (package auth authenticates them).
	Clients []auth.Client `yaml:"clients"`
	// AuthenticationSchemes, when set, gives /ServiceProviderConfig's
	// authenticationSchemes (what the client registry has loaded now).
	AuthenticationSchemes func() []map[string]any `yaml:"-"`
}

// Extension declares a custom schema extension of a resource type.
type Extension struct {
	URN          string           `yaml:"urn"`           // e.g. urn:ietf:params:scim:schemas:extension:acme:2.0:User
	ResourceType string           `yaml:"resource_type"` // User (default) or Group
	Name         string           `yaml:"name"`
	Attributes   []ExtensionField `yaml:"attributes"`
}

// ExtensionField is one attribute of a custom extension.
type ExtensionField struct {
	Name        string `yaml:"name"`
	Type        string `yaml:"type"` // string (default), boolean, integer, decimal, dateTime, reference
	MultiValued bool   `yaml:"multi_valued"`
	CaseExact   bool   `yaml:"case_exact"`
	Required    bool   `yaml:"required"`
}
