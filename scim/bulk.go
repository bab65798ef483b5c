package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Bulk (RFC 7644 §3.7): POST /Bulk carries many writes in one request.
//
// Each operation runs through the same handler as the single request it
// stands for (so validation, IdP quirks, uniqueness, ETags, the outbox and
// sync delivery are the ones of POST/PUT/PATCH/DELETE), as its own
// transaction: the RFC does not make a bulk request atomic. "bulkId:x"
// references are resolved to the ids that POSTs with bulkId x created;
// an operation that names a bulkId whose POST comes later in the request
// waits for it (and so do the later operations on the same resource, so
// the result is that of in-order processing), and one whose reference
// cannot be resolved (unknown, its POST failed, or a cycle) fails with 409
// (§3.7.1 allows answering a cycle so). Results are listed in request order. failOnErrors stops processing
// after that many failed operations.

const (
	urnBulkRequest  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	urnBulkResponse = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	bulkPrefix      = "bulkId:"
)

// DefaultMaxBulkOperations is the operations limit when Options leave it 0.
const DefaultMaxBulkOperations = 1000

type bulkOperation struct {
	Method  string          `json:"method"`
	BulkID  string          `json:"bulkId"`
	Version string          `json:"version"`
	Path    string          `json:"path"`
	Data    json.RawMessage `json:"data"`
}

type bulkResult struct {
	Location string          `json:"location,omitempty"`
	Method   string          `json:"method"`
	BulkID   string          `json:"bulkId,omitempty"`
	Version  string          `json:"version,omitempty"`
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
}

func (s *Server) maxBulkOperations() int {
	if s.opts.MaxBulkOperations > 0 {
		return s.opts.MaxBulkOperations
	}
	return DefaultMaxBulkOperations
}

// bulk serves POST /Bulk; single runs one operation as its own request.
func (s *Server) bulk(single http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, e := s.readBody(w, r)
		if e != nil {
			s.fail(w, r, e)
			return
		}
		var req struct {
			Schemas      []string        `json:"schemas"`
			FailOnErrors *int            `json:"failOnErrors"`
			Operations   []bulkOperation `json:"Operations"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			s.fail(w, r, errorf(http.StatusBadRequest, "invalidSyntax", "bulk request is not a BulkRequest object: "+err.Error()))
			return
		}
		if req.Schemas != nil && !slices.Contains(req.Schemas, urnBulkRequest) {
			s.fail(w, r, errorf(http.StatusBadRequest, "invalidSyntax", "schemas must be ["+urnBulkRequest+"]"))
			return
		}
		if req.Operations == nil {
			s.fail(w, r, errorf(http.StatusBadRequest, "invalidSyntax", "a BulkRequest needs Operations (a list)"))
			return
		}
		if n, limit := len(req.Operations), s.maxBulkOperations(); n > limit {
			s.fail(w, r, errorf(http.StatusRequestEntityTooLarge, "",
				fmt.Sprintf("the bulk request has %d operations, more than maxOperations (%d)", n, limit)))
			return
		}
		failOnErrors := len(req.Operations) + 1 // none given: process everything
		if req.FailOnErrors != nil {
			if *req.FailOnErrors < 1 {
				s.fail(w, r, errorf(http.StatusBadRequest, "invalidValue", "failOnErrors must be at least 1"))
				return
			}
			failOnErrors = *req.FailOnErrors
		}
		run := &bulkRun{s: s, single: single, outer: r, ops: req.Operations,
			results: make([]*bulkResult, len(req.Operations)), ids: map[string]string{}, failed: map[string]bool{}}
		run.execute(failOnErrors)
		out := make([]*bulkResult, 0, len(run.results))
		for _, res := range run.results {
			if res != nil {
				out = append(out, res)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"schemas": []string{urnBulkResponse}, "Operations": out})
	}
}

type bulkRun struct {
	s       *Server
	single  http.Handler
	outer   *http.Request
	ops     []bulkOperation
	results []*bulkResult
	ids     map[string]string // bulkId -> id created
	failed  map[string]bool   // bulkIds whose POST failed
	errors  int
}

// execute runs the operations in request order, deferring those that name
// a bulkId a later POST has still to create, until nothing more can run.
func (b *bulkRun) execute(failOnErrors int) {
	declared := map[string]int{} // bulkId -> index of the POST declaring it
	for i, op := range b.ops {
		if op.BulkID == "" || !strings.EqualFold(op.Method, http.MethodPost) {
			continue
		}
		if _, dup := declared[op.BulkID]; dup {
			// References name the first POST that declared it.
			b.results[i] = b.fail(op, http.StatusBadRequest, "invalidValue", "bulkId "+strconv.Quote(op.BulkID)+" is used by more than one operation")
			b.errors++
			continue
		}
		declared[op.BulkID] = i
	}
	pending := make([]int, 0, len(b.ops))
	for i := range b.ops {
		if b.results[i] == nil {
			pending = append(pending, i)
		}
	}
	for len(pending) > 0 && b.errors < failOnErrors {
		var later []int
		progress := false
		// A resource with a waiting operation keeps its later operations
		// waiting too, so each resource still sees them in request order
		// (§3.7: reordering must give the result of in-order processing).
		waiting := map[string]bool{}
		for _, i := range pending {
			if b.errors >= failOnErrors {
				return
			}
			op := b.ops[i]
			target := ""
			if !strings.EqualFold(op.Method, http.MethodPost) {
				target = strings.ToLower(b.resolve(op.Path))
			}
			if waiting[target] {
				later = append(later, i)
				continue
			}
			refs := references(op)
			wait, unresolved := false, ""
			for _, ref := range refs {
				_, isDeclared := declared[ref]
				switch {
				case b.ids[ref] != "":
				case b.failed[ref]:
					unresolved = "bulkId " + strconv.Quote(ref) + " names an operation that failed"
				case !isDeclared:
					unresolved = "bulkId " + strconv.Quote(ref) + " is not declared by any POST of this request"
				default:
					wait = true
				}
			}
			switch {
			case unresolved != "":
				b.record(i, b.fail(op, http.StatusConflict, "invalidValue", unresolved))
			case wait:
				later = append(later, i)
				if target != "" {
					waiting[target] = true
				}
				continue
			default:
				b.record(i, b.run(op))
			}
			progress = true
		}
		if !progress {
			// Every operation left waits for another one left: a cycle.
			for _, i := range later {
				if b.errors >= failOnErrors {
					return
				}
				b.record(i, b.fail(b.ops[i], http.StatusConflict, "invalidValue", "circular bulkId references cannot be resolved"))
			}
			return
		}
		pending = later
	}
}

func (b *bulkRun) record(i int, res *bulkResult) {
	b.results[i] = res
	ok := res.Status[0] == '2'
	if !ok {
		b.errors++
	}
	if op := b.ops[i]; op.BulkID != "" && strings.EqualFold(op.Method, http.MethodPost) && !ok {
		b.failed[op.BulkID] = true
	}
}

func (b *bulkRun) fail(op bulkOperation, status int, scimType, detail string) *bulkResult {
	body, _ := json.Marshal(errorBody(status, scimType, detail))
	return &bulkResult{Method: strings.ToUpper(op.Method), BulkID: op.BulkID, Status: strconv.Itoa(status), Response: body}
}

// run performs one operation through the single-request handler.
func (b *bulkRun) run(op bulkOperation) *bulkResult {
	method := strings.ToUpper(op.Method)
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return b.fail(op, http.StatusBadRequest, "invalidSyntax", "method must be POST, PUT, PATCH or DELETE, not "+strconv.Quote(op.Method))
	}
	path := b.resolve(op.Path)
	endpoint, id, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if _, known := endpoints[strings.ToLower(endpoint)]; !known || !strings.EqualFold(endpoint, "Users") && !strings.EqualFold(endpoint, "Groups") {
		return b.fail(op, http.StatusBadRequest, "invalidPath", "path must be /Users or /Groups (with an id unless the method is POST), not "+strconv.Quote(op.Path))
	}
	if (method == http.MethodPost) != (id == "") || strings.Contains(id, "/") {
		return b.fail(op, http.StatusBadRequest, "invalidPath", method+" needs path "+map[bool]string{true: "/" + endpoint, false: "/" + endpoint + "/{id}"}[method == http.MethodPost]+", not "+strconv.Quote(op.Path))
	}
	if method == http.MethodPost && op.BulkID == "" {
		return b.fail(op, http.StatusBadRequest, "invalidValue", "a POST in a bulk request needs a bulkId")
	}
	var body []byte
	if method != http.MethodDelete {
		if len(bytes.TrimSpace(op.Data)) == 0 || bytes.Equal(bytes.TrimSpace(op.Data), []byte("null")) {
			return b.fail(op, http.StatusBadRequest, "invalidSyntax", method+" needs data")
		}
		body = b.resolveData(op.Data)
	}
	// A fresh routing context: the outer one (routed to /Bulk) must not
	// steer the operation's routing.
	ctx := context.WithValue(b.outer.Context(), chi.RouteCtxKey, chi.NewRouteContext())
	req, err := http.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	if err != nil {
		return b.fail(op, http.StatusBadRequest, "invalidPath", "path "+strconv.Quote(op.Path)+" is not a URL path")
	}
	req.Host, req.TLS, req.RemoteAddr = b.outer.Host, b.outer.TLS, b.outer.RemoteAddr
	req.Header.Set("Content-Type", contentType)
	if op.Version != "" {
		req.Header.Set("If-Match", op.Version)
	}
	var rec bufferWriter
	b.single.ServeHTTP(&rec, req)
	status := max(rec.status, http.StatusOK)
	res := &bulkResult{Method: method, BulkID: op.BulkID, Status: strconv.Itoa(status), Version: rec.Header().Get("ETag")}
	// location is required in every result but a failed POST's (RFC 7644
	// §3.7.3): a DELETE's, and a PUT's or PATCH's that failed, too.
	if method != http.MethodPost {
		res.Location = b.s.baseURL(b.outer) + "/" + endpoints[strings.ToLower(endpoint)] + "/" + id
	}
	if status >= 300 {
		res.Response = json.RawMessage(bytes.Clone(rec.body.Bytes()))
		return res
	}
	if method == http.MethodPost {
		res.Location = rec.Header().Get("Location")
		var created struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(rec.body.Bytes(), &created) == nil && created.ID != "" {
			b.ids[op.BulkID] = created.ID
		}
	}
	return res
}

// references lists the bulkIds an operation names, in its path or as a
// string value anywhere in its data.
func references(op bulkOperation) []string {
	var refs []string
	if _, id, ok := strings.Cut(op.Path, "/"+bulkPrefix); ok {
		refs = append(refs, id)
	}
	if bytes.Contains(op.Data, []byte(bulkPrefix)) {
		var data any
		if json.Unmarshal(op.Data, &data) == nil {
			walkStrings(data, func(s string) string {
				if ref, ok := strings.CutPrefix(s, bulkPrefix); ok {
					refs = append(refs, ref)
				}
				return s
			})
		}
	}
	return refs
}

// resolve replaces a "bulkId:x" path segment with the id x created.
func (b *bulkRun) resolve(path string) string {
	if head, ref, ok := strings.Cut(path, "/"+bulkPrefix); ok && b.ids[ref] != "" {
		return head + "/" + b.ids[ref]
	}
	return path
}

// resolveData replaces every "bulkId:x" string value with the id x created.
func (b *bulkRun) resolveData(data json.RawMessage) []byte {
	if !bytes.Contains(data, []byte(bulkPrefix)) {
		return data
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return data // the handler answers the syntax error
	}
	v = walkStrings(v, func(s string) string {
		if ref, ok := strings.CutPrefix(s, bulkPrefix); ok && b.ids[ref] != "" {
			return b.ids[ref]
		}
		return s
	})
	out, err := json.Marshal(v)
	if err != nil {
		return data
	}
	return out
}

func walkStrings(v any, fn func(string) string) any {
	switch t := v.(type) {
	case string:
		return fn(t)
	case []any:
		for i := range t {
			t[i] = walkStrings(t[i], fn)
		}
	case map[string]any:
		for k := range t {
			t[k] = walkStrings(t[k], fn)
		}
	}
	return v
}
