package webexsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// MaxBulkOperations is the contract's limit per /Bulk request.
const MaxBulkOperations = 100

type bulkRequest struct {
	Schemas      []string `json:"schemas"`
	Operations   []bulkOp `json:"Operations"`
	FailOnErrors int      `json:"failOnErrors,omitempty"`
}

type bulkOp struct {
	Method  string          `json:"method"`
	BulkID  string          `json:"bulkId,omitempty"`
	Version string          `json:"version,omitempty"`
	Path    string          `json:"path"`
	Data    json.RawMessage `json:"data,omitempty"`
}

type bulkOpResult struct {
	Method   string         `json:"method"`
	BulkID   string         `json:"bulkId,omitempty"`
	Location string         `json:"location,omitempty"`
	Status   string         `json:"status"`
	Response map[string]any `json:"response,omitempty"`
}

// bulk runs a BulkRequest. The vendor SDK sends "operations", RFC 7644
// "Operations": both are accepted, not both at once.
func (s *Server) bulk(body []byte, base string) result {
	if err := exactKeys(body, "schemas", "Operations", "operations", "failOnErrors"); err != nil {
		return errResult(http.StatusBadRequest, "invalidSyntax", err.Error())
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(body, &top)
	if lower, ok := top["operations"]; ok {
		if _, ok := top["Operations"]; ok {
			return errResult(http.StatusBadRequest, "invalidSyntax", "send Operations or operations, not both")
		}
		top["Operations"] = lower
		delete(top, "operations")
		body, _ = json.Marshal(top)
	}
	var req bulkRequest
	if err := decodeStrict(body, &req); err != nil {
		return errResult(http.StatusBadRequest, "invalidSyntax", err.Error())
	}
	ops := req.Operations
	if len(ops) == 0 {
		return errResult(http.StatusBadRequest, "invalidSyntax", "Operations is required")
	}
	if !slices.Equal(req.Schemas, []string{schemaBulkReq}) {
		return errResult(http.StatusBadRequest, "invalidSyntax", "schemas must be [\""+schemaBulkReq+"\"]")
	}
	if len(ops) > MaxBulkOperations {
		return errResult(http.StatusRequestEntityTooLarge, "tooMany",
			fmt.Sprintf("%d operations exceed the maximum of %d", len(ops), MaxBulkOperations))
	}
	out := make([]bulkOpResult, 0, len(ops))
	errs := 0
	for _, op := range ops {
		r, loc := s.bulkOne(op, base)
		or := bulkOpResult{Method: op.Method, BulkID: op.BulkID, Status: strconv.Itoa(r.status)}
		if r.failed() {
			errs++
			or.Response = errorBody(s.tid, r.status, r.scimType, r.detail)
		} else {
			or.Location = loc
		}
		out = append(out, or)
		if req.FailOnErrors > 0 && errs >= req.FailOnErrors {
			break
		}
	}
	return ok(http.StatusOK, map[string]any{"schemas": []string{schemaBulkResp}, "Operations": out})
}

// bulkOne runs one operation and returns its result and location.
func (s *Server) bulkOne(op bulkOp, base string) (result, string) {
	seg := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
	if !strings.HasPrefix(op.Path, "/") || len(seg) > 2 || (seg[0] != "Users" && seg[0] != "Groups") || (len(seg) == 2 && seg[1] == "") {
		return errResult(http.StatusBadRequest, "invalidPath", "bad bulk path "+strconv.Quote(op.Path)), ""
	}
	users := seg[0] == "Users"
	switch {
	case op.Method == http.MethodPost && len(seg) == 1:
		if op.BulkID == "" {
			return errResult(http.StatusBadRequest, "invalidSyntax", "bulkId is required for POST"), ""
		}
		if len(op.Data) == 0 {
			return errResult(http.StatusBadRequest, "invalidSyntax", "data is required for POST"), ""
		}
		var r result
		if users {
			r = s.createUser(op.Data, base)
		} else {
			r = s.createGroup(op.Data, base)
		}
		if r.failed() {
			return r, ""
		}
		var id string
		switch b := r.body.(type) {
		case userDoc:
			id = b.ID
		case groupDoc:
			id = b.ID
		}
		return result{status: r.status}, base + "/" + seg[0] + "/" + id
	case op.Method == http.MethodPatch && len(seg) == 2:
		if len(op.Data) == 0 {
			return errResult(http.StatusBadRequest, "invalidSyntax", "data is required for PATCH"), ""
		}
		var r result
		if users {
			r = s.patchUser(seg[1], op.Data, base)
		} else {
			r = s.patchGroup(seg[1], op.Data, base)
		}
		return result{status: r.status, scimType: r.scimType, detail: r.detail}, base + op.Path
	case op.Method == http.MethodDelete && len(seg) == 2:
		if len(op.Data) != 0 {
			return errResult(http.StatusBadRequest, "invalidSyntax", "DELETE takes no data"), ""
		}
		var r result
		if users {
			r = s.deleteUser(seg[1])
		} else {
			r = s.deleteGroup(seg[1])
		}
		return r, base + op.Path
	}
	return errResult(http.StatusBadRequest, "invalidSyntax", "bulk method "+op.Method+" not allowed on "+op.Path), ""
}
