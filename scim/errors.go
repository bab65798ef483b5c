package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/scimbridge/scimbridge/scimpath"
	"github.com/scimbridge/scimbridge/store"
)

const (
	contentType   = "application/scim+json"
	errorSchema   = "urn:ietf:params:scim:api:messages:2.0:Error"
	listSchema    = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	patchOpSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	searchSchema  = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// Error is a SCIM error response (RFC 7644 §3.12): one type with the
// errors scimpath reports for filters and paths.
type Error = scimpath.Error

func errorf(status int, scimType, detail string) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: detail}
}

func notFound(typ, id string) *Error {
	return errorf(http.StatusNotFound, "", typ+" "+strconv.Quote(id)+" not found")
}

// asError turns any error into a SCIM error; errors we did not make are
// internal (their text is logged, not sent).
func asError(err error) (*Error, bool) {
	var se *Error
	if errors.As(err, &se) {
		return se, true
	}
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return errorf(http.StatusConflict, "uniqueness", ce.Error()), true
	}
	return errorf(http.StatusInternalServerError, "", "internal error; see the server log for this request id"), false
}

// WriteError writes err as a SCIM error body with Content-Type
// application/scim+json. The lead's middleware may use it too.
func WriteError(w http.ResponseWriter, status int, scimType, detail string) {
	b, _ := json.Marshal(errorBody(status, scimType, detail))
	w.Header().Set("Content-Type", contentType)
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "R&D", not "R\u0026D"
	if err := enc.Encode(v); err != nil {
		WriteError(w, http.StatusInternalServerError, "", "cannot encode response")
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorBody is a SCIM error response (RFC 7644 §3.12).
func errorBody(status int, scimType, detail string) map[string]any {
	body := map[string]any{
		"schemas": []string{errorSchema},
		"status":  strconv.Itoa(status),
		"detail":  detail,
	}
	if scimType != "" {
		body["scimType"] = scimType
	}
	return body
}
