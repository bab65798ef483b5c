package scim

import (
	"net/http"
	"strings"
)

// SCIM message URNs (RFC 7644 §3.4.3, §3.5.2).
const (
	urnPatchOp       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	urnSearchRequest = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// checkMessageSchemas refuses a PATCH or .search body whose "schemas",
// when given, does not name the message's URN (RFC 7644 §3.5.2, §3.4.3),
// as /Bulk refuses a BulkRequest without its own. A body without
// "schemas" (or with null) is accepted: clients leave it out.
func checkMessageSchemas(body map[string]any, urn string) *Error {
	v, ok := lookupFold(body, "schemas")
	if !ok || v == nil {
		return nil
	}
	if list, isList := v.([]any); isList {
		for _, s := range list {
			if u, ok := s.(string); ok && strings.EqualFold(strings.TrimSpace(u), urn) {
				return nil
			}
		}
	}
	return errorf(http.StatusBadRequest, "invalidSyntax", `"schemas" must be ["`+urn+`"]`)
}
