package e2ekit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PatchOp is the SCIM PatchOp message schema.
const PatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// Client is a SCIM client that resends a request until the server answers
// it (a killed server refuses connections, a restarting one may answer
// 5xx), and remembers when the last write was acknowledged.
type Client struct {
	Base  string // http://127.0.0.1:port
	Token string
	HTTP  *http.Client

	Acked atomic.Int64 // writes acknowledged
	Tries atomic.Int64 // requests sent

	mu      sync.Mutex
	lastAck time.Time
}

// LastAck is when the last write was acknowledged (its answer read).
func (c *Client) LastAck() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastAck
}

func (c *Client) ack() {
	now := time.Now()
	c.Acked.Add(1)
	c.mu.Lock()
	if now.After(c.lastAck) {
		c.lastAck = now
	}
	c.mu.Unlock()
}

// Do sends one request under /scim/v2 until the server answers it below
// 500; it returns the answer's status and body (0 when ctx ends first).
func (c *Client) Do(ctx context.Context, method, path string, body any) (int, []byte) {
	code, out, _ := c.send(ctx, method, path, body)
	return code, out
}

// send is Do, also saying whether an earlier attempt went unanswered (and
// so may have been applied).
func (c *Client) send(ctx context.Context, method, path string, body any) (code int, out []byte, resent bool) {
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	for ctx.Err() == nil {
		c.Tries.Add(1)
		req, _ := http.NewRequestWithContext(ctx, method, c.Base+"/scim/v2"+path, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := c.HTTP.Do(req)
		if err != nil {
			resent = true
			time.Sleep(20 * time.Millisecond)
			continue
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode >= 500 {
			resent = true
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return resp.StatusCode, out, resent
	}
	return 0, nil, resent
}

// Find looks one resource up by filter and returns its id.
func (c *Client) Find(ctx context.Context, endpoint, filter string) (string, error) {
	code, body := c.Do(ctx, http.MethodGet, "/"+endpoint+"?filter="+url.QueryEscape(filter), nil)
	var list struct {
		Resources []struct {
			ID string `json:"id"`
		} `json:"Resources"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Resources) != 1 {
		return "", fmt.Errorf("lookup %s %s: %d %s", endpoint, filter, code, body)
	}
	return list.Resources[0].ID, nil
}

// Create POSTs a resource to /endpoint and returns its id; a 409 means an
// earlier attempt whose answer was lost landed: the resource is looked up
// by filter.
func (c *Client) Create(ctx context.Context, endpoint string, body map[string]any, filter string) (string, error) {
	code, out := c.Do(ctx, http.MethodPost, "/"+endpoint, body)
	switch code {
	case http.StatusCreated:
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(out, &r); err != nil || r.ID == "" {
			return "", fmt.Errorf("create %s: no id in %s", endpoint, out)
		}
		c.ack()
		return r.ID, nil
	case http.StatusConflict:
		c.ack()
		return c.Find(ctx, endpoint, filter)
	}
	return "", fmt.Errorf("create %s: %d %s", endpoint, code, out)
}

// Patch sends a PatchOp with ops to path (/Users/id or /Groups/id).
func (c *Client) Patch(ctx context.Context, path string, ops ...map[string]any) error {
	code, out, resent := c.send(ctx, http.MethodPatch, path, map[string]any{"schemas": []string{PatchOp}, "Operations": ops})
	// A remove resent after an unanswered attempt finds nothing to remove
	// when that attempt was applied: acknowledged then.
	noTarget := code == http.StatusBadRequest && resent && strings.Contains(string(out), "noTarget")
	if code == http.StatusOK || code == http.StatusNoContent || noTarget {
		c.ack()
		return nil
	}
	return fmt.Errorf("PATCH %s: %d %s", path, code, out)
}

// Put replaces the resource at path with body.
func (c *Client) Put(ctx context.Context, path string, body map[string]any) error {
	code, out := c.Do(ctx, http.MethodPut, path, body)
	if code == http.StatusOK {
		c.ack()
		return nil
	}
	return fmt.Errorf("PUT %s: %d %s", path, code, out)
}

// Get reads the resource at path into a map.
func (c *Client) Get(ctx context.Context, path string) (map[string]any, error) {
	code, out := c.Do(ctx, http.MethodGet, path, nil)
	var m map[string]any
	if code != http.StatusOK || json.Unmarshal(out, &m) != nil {
		return nil, fmt.Errorf("GET %s: %d %s", path, code, out)
	}
	return m, nil
}

// Delete deletes the resource at path; a 404 acknowledges an earlier
// attempt whose answer was lost.
func (c *Client) Delete(ctx context.Context, path string) error {
	code, out := c.Do(ctx, http.MethodDelete, path, nil)
	if code == http.StatusNoContent || code == http.StatusNotFound {
		c.ack()
		return nil
	}
	return fmt.Errorf("DELETE %s: %d %s", path, code, strings.TrimSpace(string(out)))
}
