package webex

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/scimbridge/scimbridge/connectors"
)

// defaultListPage is the count List asks for: the contract's cap (the
// simulator caps count at 500). Pages are small: they carry ids only.
const defaultListPage = 500

var _ connectors.Lister = (*Connector)(nil)

// List implements connectors.Lister: it calls fn with the Webex id of every
// user (typ User) or group (typ Group), paging through
//
//	GET /Users?attributes=id&startIndex=…&count=500
//	GET /Groups?attributes=id&startIndex=…&count=500
//
// (groups without includeMembers, so no members), ceil(n/500) requests
// for n objects, at least one. Each page goes through c.do like every
// other call (token refresh on a 401, the shared client's rate limit,
// classification); a 429, 423 or 5xx is not retried here: List stops and
// returns the classified error (Transient, with Retry-After), and the
// caller lists again. The next startIndex advances by the number of
// resources the page held, so a service that answers fewer than count
// still pages correctly; listing stops at an empty page or when startIndex
// passes totalResults. A page that repeats the previous one, an echoed
// startIndex other than the one asked for, a page without totalResults,
// or a resource without an id is a Permanent error, never a loop. Offset
// paging has no snapshot: an object created or deleted during the listing
// can shift the pages, so one may be listed twice or missed.
func (c *Connector) List(ctx context.Context, typ string, fn func(targetID string) error) error {
	return c.listResources(ctx, typ, "id", func(id string, _ json.RawMessage) error { return fn(id) })
}

// listResources pages as List describes, asking for attributes ("" for
// whole resources), and calls fn with each resource's id and body.
func (c *Connector) listResources(ctx context.Context, typ, attributes string, fn func(id string, raw json.RawMessage) error) error {
	var path, op string
	switch typ {
	case connectors.User:
		path, op = "/Users", "user.list"
	case connectors.Group:
		path, op = "/Groups", "group.list"
	default:
		return connectors.ErrListType("webex", typ)
	}
	count := c.listPage
	var prev []string
	for start := 1; ; {
		var page struct {
			TotalResults *int              `json:"totalResults"`
			StartIndex   int               `json:"startIndex"`
			Resources    []json.RawMessage `json:"Resources"`
		}
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(count)}}
		if attributes != "" {
			q.Set("attributes", attributes)
		}
		if _, err := c.do(ctx, call{op: op, method: http.MethodGet, path: path, query: q}, &page); err != nil {
			return err
		}
		if len(page.Resources) == 0 {
			return nil
		}
		if page.TotalResults == nil {
			return permanentf("GET %s?startIndex=%d answered resources without totalResults", path, start)
		}
		if page.StartIndex != 0 && page.StartIndex != start {
			return permanentf("GET %s?startIndex=%d answered startIndex %d", path, start, page.StartIndex)
		}
		ids := make([]string, len(page.Resources))
		for i, raw := range page.Resources {
			var r idOnly
			if json.Unmarshal(raw, &r) != nil || r.ID == "" {
				return connectors.ErrListItemWithoutID(fmt.Sprintf("GET %s?startIndex=%d", path, start))
			}
			ids[i] = r.ID
		}
		if slices.Equal(ids, prev) {
			return permanentf("GET %s?startIndex=%d answered the same page as startIndex %d", path, start, start-len(prev))
		}
		for i, id := range ids {
			if err := fn(id, page.Resources[i]); err != nil {
				return err
			}
		}
		prev = ids
		start += len(ids)
		if start > *page.TotalResults {
			return nil
		}
	}
}

var _ connectors.FieldLister = (*Connector)(nil)

// ListFields implements connectors.FieldLister for users: whole user
// resources, 500 a page, read back into the mapped fields the connector
// writes (groups: displayName and externalId, without their members).
func (c *Connector) ListFields(ctx context.Context, typ string, fn func(targetID string, fields map[string]any) error) error {
	attrs := "" // users: whole resources
	if typ == connectors.Group {
		attrs = groupReadBack // not the members
	}
	return c.listResources(ctx, typ, attrs, func(id string, raw json.RawMessage) error {
		f, err := readBack(typ, id, raw)
		if err != nil {
			return err
		}
		return fn(id, f)
	})
}
