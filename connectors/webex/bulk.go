package webex

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/connectors"
)

type bulkRequest struct {
	Schemas    []string `json:"schemas"`
	Operations []bulkOp `json:"Operations"` // RFC 7644's casing, as the contract decides
}

type bulkOp struct {
	Method string `json:"method"`
	BulkID string `json:"bulkId"`
	Path   string `json:"path"`
	Data   any    `json:"data,omitempty"`
}

// bulkResponse accepts both casings of the operations key; each status
// may come as a string (RFC 7644) or a number.
type bulkResponse struct {
	Operations []bulkOpResult
}

type bulkOpResult struct {
	BulkID   string          `json:"bulkId"`
	Location string          `json:"location"`
	Status   json.RawMessage `json:"status"`
	Response json.RawMessage `json:"response"`
}

// UnmarshalJSON picks whichever casing of the operations key is present
// (encoding/json alone would fold both onto one field unpredictably).
func (r *bulkResponse) UnmarshalJSON(b []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return err
	}
	raw, ok := top["Operations"]
	if !ok {
		raw = top["operations"]
	}
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, &r.Operations)
}

// status reads "201", 201 or {"code": 201}.
func (o bulkOpResult) status() int {
	var s string
	if json.Unmarshal(o.Status, &s) == nil {
		n, _ := strconv.Atoi(strings.TrimSpace(strings.Fields(s + " 0")[0]))
		return n
	}
	var n int
	if json.Unmarshal(o.Status, &n) == nil {
		return n
	}
	var c struct {
		Code json.RawMessage `json:"code"`
	}
	if json.Unmarshal(o.Status, &c) == nil && c.Code != nil {
		return bulkOpResult{Status: c.Code}.status()
	}
	return 0
}

// id is the created resource's id: the last segment of location, or the
// id of a response body when the target sends one.
func (o bulkOpResult) id() string {
	var r idOnly
	if len(o.Response) > 0 && json.Unmarshal(o.Response, &r) == nil && r.ID != "" {
		return r.ID
	}
	loc := strings.TrimRight(o.Location, "/")
	return loc[strings.LastIndex(loc, "/")+1:]
}

// applyBulk sends user writes through /Bulk, 100 operations a request,
// and answers each change from its operation's status.
func (c *Connector) applyBulk(ctx context.Context, calls []*userCall, results []connectors.Result) {
	for len(calls) > 0 {
		n := min(len(calls), maxBulkOps)
		c.bulkOnce(ctx, calls[:n], results)
		calls = calls[n:]
	}
}

func (c *Connector) bulkOnce(ctx context.Context, calls []*userCall, results []connectors.Result) {
	req := bulkRequest{Schemas: []string{schemaBulkReq}}
	byID := make(map[string]*userCall, len(calls))
	for i, uc := range calls {
		id := "op" + strconv.Itoa(i+1)
		byID[id] = uc
		req.Operations = append(req.Operations, bulkOp{Method: uc.call.method, BulkID: id, Path: uc.call.path, Data: uc.call.body})
	}
	var resp bulkResponse
	_, err := c.do(ctx, call{op: "bulk", method: http.MethodPost, path: "/Bulk", body: req}, &resp)
	if err != nil {
		if isPermanent(err) {
			// The target refused /Bulk itself (unsupported, too large, a
			// shape it dislikes): send the writes one by one instead.
			c.log.Warn().Err(err).Msg("webex /Bulk refused; sending writes one by one")
			for _, uc := range calls {
				results[uc.idx] = c.applyUser(ctx, uc)
			}
			return
		}
		for _, uc := range calls {
			results[uc.idx] = connectors.Result{TargetID: uc.ch.TargetID, Err: err}
		}
		return
	}
	answers := matchAnswers(resp.Operations, byID, calls)
	for _, uc := range calls {
		o, ok := answers[uc]
		if !ok {
			// failOnErrors stopped it, or the answer lost it: it may not
			// have run; a retry is safe (409 adopts, 404 on delete is done).
			results[uc.idx] = connectors.Result{TargetID: uc.ch.TargetID, Err: connectors.NewTransient("no answer for this operation in the /Bulk response", nil)}
			continue
		}
		results[uc.idx] = c.bulkResult(ctx, uc, o)
	}
}

// matchAnswers pairs a /Bulk response's operations with the writes sent:
// by the bulkId echoed, or by position when the target echoes none. A
// write left out of the result got no answer.
func matchAnswers[T comparable](answers []bulkOpResult, byID map[string]T, sent []T) map[T]bulkOpResult {
	out := make(map[T]bulkOpResult, len(sent))
	for i, o := range answers {
		w, ok := byID[o.BulkID]
		if !ok && o.BulkID == "" && i < len(sent) {
			w, ok = sent[i], true
		}
		if _, seen := out[w]; ok && !seen {
			out[w] = o
		}
	}
	return out
}

func (c *Connector) bulkResult(ctx context.Context, uc *userCall, o bulkOpResult) connectors.Result {
	outcome, err := connectors.ClassifyHTTP(o.status(), http.Header{}, uc.call.kind, errorMessage(o.Response))
	switch {
	case err != nil && c.vanished(uc, err):
		return c.recreateUser(ctx, uc.ch)
	case err != nil:
		if connectors.ClassOf(err) == connectors.Unauthorized {
			// The request itself was authorized; retry the operation.
			err = connectors.NewTransient("bulk operation answered 401", err)
		}
		return connectors.Result{TargetID: uc.ch.TargetID, Err: adjust(err)}
	case outcome == connectors.Adopt:
		return c.adoptUser(ctx, uc.ch)
	case uc.create:
		id := o.id()
		if id == "" {
			return connectors.Result{Err: connectors.NewTransient("bulk create answered without a location", nil)}
		}
		return connectors.Result{TargetID: id}
	}
	return connectors.Result{TargetID: uc.ch.TargetID}
}
