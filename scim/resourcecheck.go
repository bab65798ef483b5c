package scim

import (
	"encoding/json"
	"net/http"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scimbridge/scimbridge/store"
)

// POST and PUT bodies are validated by calling the library's public
// schema API on the body we already decoded, with the steps of its
// ResourceType.validate (the request used to be replayed through its HTTP
// server, which decoded the body a second time). The schemas are the
// patchChecker's: the core schema with externalId added, as the library's
// schemaWithCommon, and the extensions. The replay is kept in the tests as
// the reference (resourcecheck_test.go).

// checkResource validates a decoded POST/PUT body m (numbers as
// json.Number, as the library decodes them; body is the request's bytes)
// and returns the attributes the library accepts, or its error as the
// replay reported it.
func (s *Server) checkResource(d *resourceDef, m map[string]any, body []byte) (map[string]any, *Error) {
	c := s.patchChecks[d]
	attrs, se := c.core.Validate(m)
	if se == nil {
		for _, ext := range c.exts {
			// Exact-case key, as the library looks it up; the
			// extensions are registered as not required.
			field := m[ext.ID]
			if field == nil {
				continue
			}
			var ea map[string]any
			if ea, se = ext.Validate(field); se != nil {
				break
			}
			attrs[ext.ID] = ea
		}
	}
	if se == nil {
		return attrs, nil
	}
	return nil, resourceError(d, se, m, body)
}

// resourceError is the library's error as the replay passed it on: a
// generic invalidValue without a status, a default detail, and the first
// missing required attribute named for an invalidValue. The replay looked
// for it in the body it sent: users' re-encoded, groups' as received,
// where a stray '}' or ']' after the object (which decodeObject lets
// through) made it name none.
func resourceError(d *resourceDef, se *scimerrors.ScimError, m map[string]any, body []byte) *Error {
	if se.Status == 0 {
		return errorf(http.StatusBadRequest, "invalidValue", "request rejected by schema validation")
	}
	detail := se.Detail
	if detail == "" {
		detail = "request rejected by schema validation"
	}
	if se.ScimType == scimerrors.ScimTypeInvalidValue && (d.typ == store.TypeUser || json.Valid(body)) {
		if missing := missingRequiredIn(d, m); missing != "" {
			detail = missing + " is required"
		}
	}
	return &Error{Status: se.Status, ScimType: string(se.ScimType), Detail: detail}
}
