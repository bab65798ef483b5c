package scimpath

import "net/http"

// SCIM error types (RFC 7644 §3.12) this package reports.
const (
	ErrInvalidFilter = "invalidFilter"
	ErrInvalidPath   = "invalidPath"
	ErrNoTarget      = "noTarget"
	ErrInvalidValue  = "invalidValue"
	ErrMutability    = "mutability"
	ErrInvalidSyntax = "invalidSyntax"
)

// Error is a SCIM error: the HTTP status, the scimType and a detail that
// can go to the client as is (it never carries a secret, only paths and
// operators).
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *Error) Error() string {
	if e.ScimType == "" {
		return "scim: " + e.Detail
	}
	return "scim: " + e.ScimType + ": " + e.Detail
}

func badRequest(scimType, detail string) *Error {
	return &Error{Status: http.StatusBadRequest, ScimType: scimType, Detail: detail}
}
