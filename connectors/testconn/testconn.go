package testconn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/mapping"
)

// Type is the connector type name in config.yaml.
const Type = "testconn"

// Registration makes testconn known to the program (simulate mode serves
// the Sim over HTTP; the crash test uses it).
var Registration = connectors.Registration{
	Type: Type,
	New: func(s connectors.Settings, d connectors.Deps) (connectors.Connector, error) {
		if s.BaseURL == "" {
			return nil, errors.New("testconn: base_url is required")
		}
		c := d.HTTPClient
		if c == nil {
			c = http.DefaultClient
		}
		return NewHTTP(s.Name, s.BaseURL, s.Credentials["token"], c, DefaultLimits), nil
	},
	NewSimulator:    func() connectors.Simulator { return NewSim(NewTarget(Options{})) },
	DefaultMapping:  DefaultMapping,
	DefaultOnDelete: "delete",
}

// DefaultMapping is what the target is sent.
var DefaultMapping = mapping.Spec{
	User: map[string]string{
		"userName":    "userName",
		"active":      "active",
		"displayName": "displayName",
		"givenName":   "name.givenName",
		"familyName":  "name.familyName",
	},
	Group: map[string]string{"displayName": "displayName"},
}

// DefaultLimits are the connector's declared limits.
var DefaultLimits = connectors.Limits{BatchSize: 50, Timeout: 30 * time.Second}

// Connector delivers changes to a Target, in memory or over HTTP.
type Connector struct {
	name   string
	limits connectors.Limits
	call   func(ctx context.Context, ops []Op) ([]OpResult, error)
}

// New returns a connector calling t directly.
func New(name string, t *Target, l connectors.Limits) *Connector {
	return &Connector{name: name, limits: l, call: func(ctx context.Context, ops []Op) ([]OpResult, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, f, ra := t.Call(ops)
		return res, faultError(f, ra)
	}}
}

func faultError(f Fault, ra time.Duration) error {
	switch f {
	case FaultNone:
		return nil
	case Fault429, Fault429RetryAfter:
		return &connectors.Error{Class: connectors.Transient, Status: 429, RetryAfter: ra, Msg: "too many requests"}
	case Fault5xx:
		return &connectors.Error{Class: connectors.Transient, Status: 503, Msg: "service unavailable"}
	case FaultPermanent:
		return &connectors.Error{Class: connectors.Permanent, Status: 400, Msg: "bad request (injected)"}
	}
	return connectors.NewTransient("connection reset", errors.New("connection reset by peer"))
}

// NewHTTP returns a connector calling a Sim at baseURL.
func NewHTTP(name, baseURL, token string, client *http.Client, l connectors.Limits) *Connector {
	url := strings.TrimSuffix(baseURL, "/") + "/call"
	return &Connector{name: name, limits: l, call: func(ctx context.Context, ops []Op) ([]OpResult, error) {
		body, err := json.Marshal(ops)
		if err != nil {
			return nil, connectors.NewPermanent("encode call", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, connectors.NewPermanent("build request", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return nil, connectors.NewTransient("call", err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err != nil {
			return nil, connectors.NewTransient("read answer", err)
		}
		if _, err := connectors.ClassifyHTTP(resp.StatusCode, resp.Header, connectors.CallOther, strings.TrimSpace(string(data))); err != nil {
			return nil, err
		}
		var res []OpResult
		if err := json.Unmarshal(data, &res); err != nil || len(res) != len(ops) {
			return nil, connectors.NewTransient("malformed answer", err)
		}
		return res, nil
	}}
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.name }

// Limits implements connectors.Connector.
func (c *Connector) Limits() connectors.Limits { return c.limits }

// Apply implements connectors.Connector: one call for the batch, then, for
// creates the target answered 409, one lookup call and one update call
// (adopting the existing object).
func (c *Connector) Apply(ctx context.Context, batch []connectors.Change) []connectors.Result {
	results := make([]connectors.Result, len(batch))
	ops := make([]Op, len(batch))
	for i, ch := range batch {
		ops[i] = toOp(ch)
	}
	res, err := c.call(ctx, ops)
	if err != nil {
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	var conflicts []int
	for i, r := range res {
		if r.Status == http.StatusConflict && ops[i].Kind == "upsert" {
			conflicts = append(conflicts, i)
			continue
		}
		results[i] = result(batch[i], ops[i], r)
	}
	if len(conflicts) == 0 {
		return results
	}
	// Adopt: look the existing objects up, then update them.
	lookups := make([]Op, len(conflicts))
	for j, i := range conflicts {
		lookups[j] = Op{Kind: "lookup", Type: ops[i].Type, ID: ops[i].ID, Key: key(ops[i].Type, ops[i].Fields)}
	}
	found, err := c.call(ctx, lookups)
	if err != nil {
		for _, i := range conflicts {
			results[i].Err = err
		}
		return results
	}
	var updates []Op
	var idx []int
	for j, i := range conflicts {
		if found[j].Status != http.StatusOK {
			// Gone between the 409 and the lookup: worth another try.
			results[i].Err = connectors.NewTransient("adopt: "+found[j].Msg, nil)
			continue
		}
		op := ops[i]
		op.TargetID = found[j].TargetID
		updates = append(updates, op)
		idx = append(idx, i)
	}
	if len(updates) == 0 {
		return results
	}
	res, err = c.call(ctx, updates)
	for j, i := range idx {
		if err != nil {
			results[i].Err = err
			continue
		}
		results[i] = result(batch[i], updates[j], res[j])
	}
	return results
}

func toOp(ch connectors.Change) Op {
	op := Op{Kind: string(ch.Op), Type: ch.Type, ID: ch.ID, TargetID: ch.TargetID, Fields: ch.Fields}
	if ch.Op == connectors.OpDelete {
		op.Key = key(ch.Type, ch.Prev)
		return op
	}
	for _, m := range ch.MembersAdded {
		op.Add = append(op.Add, m.TargetID)
	}
	for _, m := range ch.MembersRemoved {
		if m.TargetID != "" {
			op.Remove = append(op.Remove, m.TargetID)
		}
	}
	return op
}

func key(typ string, f map[string]any) string {
	if typ == connectors.Group {
		s, _ := f["displayName"].(string)
		return s
	}
	s, _ := f["userName"].(string)
	return s
}

func result(ch connectors.Change, op Op, r OpResult) connectors.Result {
	switch {
	case r.Status == http.StatusOK || r.Status == http.StatusCreated:
		out := connectors.Result{TargetID: r.TargetID}
		if op.Kind == "delete" {
			out.TargetID = ""
		}
		for tid, msg := range r.Members {
			for _, m := range ch.MembersAdded {
				if m.TargetID == tid {
					if out.MemberErrors == nil {
						out.MemberErrors = map[string]error{}
					}
					out.MemberErrors[m.ID] = connectors.Errorf(connectors.Permanent, 400, "%s", msg)
				}
			}
		}
		return out
	case r.Status == http.StatusNotFound && op.Kind == "delete":
		return connectors.Result{}
	}
	_, err := connectors.ClassifyHTTP(r.Status, nil, connectors.CallOther, r.Msg)
	if err == nil {
		err = fmt.Errorf("unexpected status %d", r.Status)
	}
	return connectors.Result{Err: err}
}
