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

// notImplementedMe answers every request to /Me: RFC 7644 §3.11 asks a
// server without the alias to say so with 501 rather than 404. (Our
// clients are provisioning services, not the users themselves.)
func notImplementedMe(w http.ResponseWriter, r *http.Request) {
	WriteError(w, http.StatusNotImplemented, "", "/Me is not supported (RFC 7644 §3.11): address the user as /Users/{id}")
}

// refuseDiscoveryFilter answers 403 to a filter on a discovery endpoint:
// RFC 7644 §4 has them ignore query parameters, and a filter SHOULD be
// refused so that no client takes the answer as matching it. Paging and
// sorting parameters stay ignored. It reports whether it answered.
func refuseDiscoveryFilter(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.RawQuery == "" || !r.URL.Query().Has("filter") {
		return false
	}
	WriteError(w, http.StatusForbidden, "", "filter is not supported on "+r.URL.Path+" (RFC 7644 §4): its resources are all listed")
	return true
}

// withDiscoveryMeta adds meta (resourceType and location, as the examples
// of RFC 7643 §8.6 and §8.7 show) to a ResourceType or Schema resource.
func withDiscoveryMeta(res map[string]any, resourceType, base string) map[string]any {
	id, _ := res["id"].(string)
	if id == "" {
		return res
	}
	endpoint := "/Schemas/"
	if resourceType == "ResourceType" {
		endpoint = "/ResourceTypes/"
	}
	res["meta"] = map[string]any{"resourceType": resourceType, "location": base + endpoint + id}
	return res
}

// searchID is the last segment of /Users/.search: chi routes its methods
// other than POST to /{id}.
const searchID = ".search"

// searchTakesPost answers GET/PUT/PATCH/DELETE on /Users/.search (or
// /Groups/.search): the path is the query endpoint, which takes POST only
// (RFC 7644 §3.4.3), not a resource whose id is ".search".
func searchTakesPost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	WriteError(w, http.StatusMethodNotAllowed, "", "method "+r.Method+" not allowed on "+r.URL.Path+": a search is a POST (RFC 7644 §3.4.3)")
}
