package webexsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// Schema URNs of the contract.
const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaCiscoUser  = "urn:scim:schemas:extension:cisco:webexidentity:2.0:User"
	schemaCiscoGroup = "urn:scim:schemas:extension:cisco:webexidentity:2.0:Group"
	schemaList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaBulkReq    = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	schemaBulkResp   = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	schemaMembers    = "urn:scim:schemas:extension:cisco:webexidentity:2.0:GroupMembers"
	schemaError      = "urn:ietf:params:scim:api:messages:2.0:Error"
	schemaCiscoError = "urn:scim:schemas:extension:cisco:webexidentity:api:messages:2.0:Error"
)

const maxBody = 10 << 20

// result is a handler's answer: a status and a JSON body (nil: none).
type result struct {
	status   int
	body     any
	scimType string
	detail   string // for errors
}

func ok(status int, body any) result { return result{status: status, body: body} }

func errResult(status int, scimType, detail string) result {
	return result{status: status, scimType: scimType, detail: detail}
}

func (r result) failed() bool { return r.status >= 400 }

func (r result) write(w http.ResponseWriter, tid string) {
	if r.failed() {
		writeError(w, tid, r.status, r.scimType, r.detail)
		return
	}
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	writeJSON(w, r.status, r.body)
}

// errorBody is the SCIM error with Cisco's extension, as the contract
// decides.
func errorBody(tid string, status int, scimType, detail string) map[string]any {
	b := map[string]any{
		"schemas": []string{schemaError, schemaCiscoError},
		"status":  strconv.Itoa(status),
		"detail":  detail,
		schemaCiscoError: map[string]any{
			"trackingId": tid,
			"errorCode":  strconv.Itoa(status*1000 + 1),
			"details":    detail,
		},
	}
	if scimType != "" {
		b["scimType"] = scimType
	}
	return b
}

func writeError(w http.ResponseWriter, tid string, status int, scimType, detail string) {
	w.Header().Set("TrackingID", tid)
	writeJSON(w, status, errorBody(tid, status, scimType, detail))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	simkit.WriteJSON(w, status, "application/json;charset=UTF-8", v)
}

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

func jsonType(ct string) bool {
	mt := mediaType(ct)
	return mt == "application/json" || mt == "application/scim+json"
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, errors.New("request body too large")
	}
	return b, nil
}

// decodeStrict decodes one JSON document into v, rejecting unknown fields,
// trailing data and null anywhere (the contract: omit, never null).
func decodeStrict(b []byte, v any) error {
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("malformed JSON: %v", err)
	}
	if p := findNull(raw, ""); p != "" {
		return fmt.Errorf("null value for %q: omit absent attributes", p)
	}
	if p := unknownKey(raw, reflect.TypeOf(v), ""); p != "" {
		return fmt.Errorf("unknown attribute %q (names are case-sensitive)", p)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid body: %v", err)
	}
	return nil
}

// findNull returns the path of the first null in v, or "".
func findNull(v any, path string) string {
	switch v := v.(type) {
	case nil:
		if path == "" {
			return "(body)"
		}
		return path
	case map[string]any:
		for k, e := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if n := findNull(e, p); n != "" {
				return n
			}
		}
	case []any:
		for i, e := range v {
			if n := findNull(e, fmt.Sprintf("%s[%d]", path, i)); n != "" {
				return n
			}
		}
	}
	return ""
}

var rawMessage = reflect.TypeOf(json.RawMessage(nil))

// unknownKey returns the path of the first object key in v that is not
// exactly a JSON field name of t. encoding/json matches names without
// regard to case; the contract's attribute names are exact.
func unknownKey(v any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage {
		return ""
	}
	switch v := v.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return ""
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
		for k, e := range v {
			ft, ok := fields[k]
			if !ok {
				return path + k
			}
			if p := unknownKey(e, ft, path+k+"."); p != "" {
				return p
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return ""
		}
		for _, e := range v {
			if p := unknownKey(e, t.Elem(), path); p != "" {
				return p
			}
		}
	}
	return ""
}
