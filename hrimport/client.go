package hrimport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scimbridge/scimbridge/scimpath"
)

// Client talks SCIM to a running bridge.
type Client struct {
	base  string // ".../scim/v2"
	token string
	http  *http.Client

	requests atomic.Int64 // every request sent
	writes   atomic.Int64 // POST /Bulk requests sent

	maxOps, maxPayload, maxResults int
}

// NewClient returns a client of the bridge at server (its base URL;
// "/scim/v2" is appended unless already there) with a SCIM bearer token.
// hc may be nil.
func NewClient(server, token string, hc *http.Client) *Client {
	base := strings.TrimRight(server, "/")
	if !strings.HasSuffix(base, "/scim/v2") {
		base += "/scim/v2"
	}
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	return &Client{base: base, token: token, http: hc}
}

// Requests and Writes count what the client sent (benchmarks, dry-run tests).
func (c *Client) Requests() int64 { return c.requests.Load() }
func (c *Client) Writes() int64   { return c.writes.Load() }

const userAgent = "scimbridge-import"

func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	c.requests.Add(1)
	if method != http.MethodGet {
		c.writes.Add(1)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("SCIM %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("SCIM %s %s: %s: %s", method, strings.SplitN(path, "?", 2)[0], resp.Status, scimDetail(raw))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// scimDetail extracts an error body's detail (never the request).
func scimDetail(raw []byte) string {
	var e struct {
		Detail   string `json:"detail"`
		ScimType string `json:"scimType"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Detail != "" {
		if e.ScimType != "" {
			return e.ScimType + ": " + e.Detail
		}
		return e.Detail
	}
	return strings.TrimSpace(string(raw))
}

// discover reads ServiceProviderConfig (bulk and page limits).
func (c *Client) discover(ctx context.Context) error {
	var spc struct {
		Bulk struct {
			Supported      bool `json:"supported"`
			MaxOperations  int  `json:"maxOperations"`
			MaxPayloadSize int  `json:"maxPayloadSize"`
		} `json:"bulk"`
		Filter struct {
			MaxResults int `json:"maxResults"`
		} `json:"filter"`
	}
	if err := c.do(ctx, http.MethodGet, "/ServiceProviderConfig", nil, &spc); err != nil {
		return err
	}
	if !spc.Bulk.Supported || spc.Bulk.MaxOperations < 1 {
		return fmt.Errorf("the server does not offer /Bulk")
	}
	c.maxOps, c.maxPayload, c.maxResults = spc.Bulk.MaxOperations, spc.Bulk.MaxPayloadSize, spc.Filter.MaxResults
	if c.maxPayload <= 0 {
		c.maxPayload = 1 << 20
	}
	if c.maxResults <= 0 {
		c.maxResults = 100
	}
	return nil
}

// userSchema builds the server's User resource schema from /ResourceTypes
// and /Schemas, so headers are checked against what the server accepts,
// custom extensions included.
func (c *Client) userSchema(ctx context.Context) (*scimpath.ResourceSchema, error) {
	var types struct {
		Resources []struct {
			Name       string `json:"name"`
			Schema     string `json:"schema"`
			Extensions []struct {
				Schema string `json:"schema"`
			} `json:"schemaExtensions"`
		} `json:"Resources"`
	}
	if err := c.do(ctx, http.MethodGet, "/ResourceTypes", nil, &types); err != nil {
		return nil, err
	}
	var schemas struct {
		Resources []schemaDoc `json:"Resources"`
	}
	if err := c.do(ctx, http.MethodGet, "/Schemas", nil, &schemas); err != nil {
		return nil, err
	}
	byID := map[string]schemaDoc{}
	for _, s := range schemas.Resources {
		byID[strings.ToLower(s.ID)] = s
	}
	for _, t := range types.Resources {
		if t.Name != "User" {
			continue
		}
		core, ok := byID[strings.ToLower(t.Schema)]
		if !ok {
			return nil, fmt.Errorf("/Schemas lacks the User schema %s", t.Schema)
		}
		// id, externalId and meta are common attributes /Schemas leaves out.
		base := scimpath.CoreUser()
		rs := scimpath.ResourceSchema{Core: scimpath.Schema{URN: core.ID, Attrs: append(commonOf(base.Core.Attrs), core.attrs()...)}}
		for _, e := range t.Extensions {
			if s, ok := byID[strings.ToLower(e.Schema)]; ok {
				rs.Extensions = append(rs.Extensions, scimpath.Schema{URN: s.ID, Attrs: s.attrs()})
			}
		}
		return &rs, nil
	}
	return nil, fmt.Errorf("/ResourceTypes lists no User type")
}

func commonOf(attrs []scimpath.Attr) []scimpath.Attr {
	var out []scimpath.Attr
	for _, a := range attrs {
		switch a.Name {
		case "id", "externalId", "meta":
			out = append(out, a)
		}
	}
	return out
}

type schemaDoc struct {
	ID         string    `json:"id"`
	Attributes []attrDoc `json:"attributes"`
}

type attrDoc struct {
	Name          string    `json:"name"`
	Type          string    `json:"type"`
	MultiValued   bool      `json:"multiValued"`
	CaseExact     bool      `json:"caseExact"`
	Mutability    string    `json:"mutability"`
	SubAttributes []attrDoc `json:"subAttributes"`
}

func (s schemaDoc) attrs() []scimpath.Attr { return convertAttrs(s.Attributes) }

func convertAttrs(in []attrDoc) []scimpath.Attr {
	var out []scimpath.Attr
	for _, a := range in {
		out = append(out, scimpath.Attr{
			Name: a.Name, Type: a.Type, MultiValued: a.MultiValued, CaseExact: a.CaseExact,
			ReadOnly: a.Mutability == "readOnly", SubAttrs: convertAttrs(a.SubAttributes),
		})
	}
	return out
}

// page is one list response.
type page struct {
	TotalResults int              `json:"totalResults"`
	ItemsPerPage int              `json:"itemsPerPage"`
	Resources    []map[string]any `json:"Resources"`
}

// eachPage is each for a filter expected to match a handful: the first
// page only (the server's page is far larger than a key's matches).
func (c *Client) eachPage(ctx context.Context, endpoint, filter string, attributes []string, fn func(map[string]any) error) error {
	q := url.Values{}
	q.Set("filter", filter)
	q.Set("attributes", strings.Join(attributes, ","))
	var p page
	if err := c.do(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil, &p); err != nil {
		return err
	}
	for _, r := range p.Resources {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// count is the number of resources at endpoint.
func (c *Client) count(ctx context.Context, endpoint string) (int, error) {
	var p page
	err := c.do(ctx, http.MethodGet, endpoint+"?count=0", nil, &p)
	return p.TotalResults, err
}

// each pages through endpoint ("/Users") with filter and attributes,
// calling fn for every resource; only one page is held at a time.
func (c *Client) each(ctx context.Context, endpoint, filter string, attributes []string, fn func(map[string]any) error) error {
	start := 1
	for {
		q := url.Values{}
		q.Set("startIndex", strconv.Itoa(start))
		q.Set("count", strconv.Itoa(c.maxResults))
		if filter != "" {
			q.Set("filter", filter)
		}
		if len(attributes) > 0 {
			q.Set("attributes", strings.Join(attributes, ","))
		}
		var p page
		if err := c.do(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil, &p); err != nil {
			return err
		}
		for _, r := range p.Resources {
			if err := fn(r); err != nil {
				return err
			}
		}
		start += len(p.Resources)
		if len(p.Resources) == 0 || start > p.TotalResults {
			return nil
		}
	}
}

// bulkOp is one operation of a POST /Bulk.
type bulkOp struct {
	Method string `json:"method"`
	BulkID string `json:"bulkId,omitempty"`
	Path   string `json:"path"`
	Data   any    `json:"data,omitempty"`
}

type bulkResult struct {
	Location string          `json:"location"`
	Method   string          `json:"method"`
	BulkID   string          `json:"bulkId"`
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response"`
}

// ok reports a 2xx status.
func (r bulkResult) ok() bool { return strings.HasPrefix(r.Status, "2") }

// id is the created or changed resource's id, from its location.
func (r bulkResult) id() string {
	if i := strings.LastIndexByte(r.Location, '/'); i >= 0 {
		return r.Location[i+1:]
	}
	return ""
}

// bulk sends ops (at most maxOps, within maxPayload) in one request and
// returns one result per op, in order.
func (c *Client) bulk(ctx context.Context, ops []bulkOp) ([]bulkResult, error) {
	req := map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"},
		"Operations": ops,
	}
	var resp struct {
		Operations []bulkResult `json:"Operations"`
	}
	if err := c.do(ctx, http.MethodPost, "/Bulk", req, &resp); err != nil {
		return nil, err
	}
	if len(resp.Operations) != len(ops) {
		return nil, fmt.Errorf("SCIM POST /Bulk: %d results for %d operations", len(resp.Operations), len(ops))
	}
	return resp.Operations, nil
}

var patchSchema = []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}

func patchBody(ops []scimpath.Operation) map[string]any {
	return map[string]any{"schemas": patchSchema, "Operations": ops}
}
