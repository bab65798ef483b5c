package scc

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/connectors"
)

// pageSize is the largest page the contract allows; fewer pages means
// fewer calls when a lookup has to walk the user list. (Connector.pageSize
// starts here; tests make it small.)
const pageSize = 500

// maxPages stops a walk over a target whose cursors never end.
const maxPages = 10000

// answer is one HTTP answer from SCC.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// call makes one API call with the current access token; on a 401 it
// refreshes (single-flight) and tries once more. A second 401 is permanent.
// The answer is classified with the shared table; out is OK or Adopt when
// err is nil.
func (c *Connector) call(ctx context.Context, op, method, path string, q url.Values, body any, kind connectors.CallKind) (connectors.Outcome, answer, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return connectors.Failed, answer{}, connectors.NewPermanent(op+": encode request", err)
		}
	}
	target := c.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	for attempt := 1; ; attempt++ {
		// Background work (a periodic drift check's listing) waits for
		// live work before it takes a token live work shares.
		rctx, err := connectors.Pace(ctx)
		if err != nil {
			return connectors.Failed, answer{}, connectors.NewTransient(op+": waiting for live work", err)
		}
		if err := c.requests.Wait(rctx); err != nil {
			return connectors.Failed, answer{}, connectors.NewTransient(op+": waiting for the request rate", err)
		}
		tok, err := c.tokens.token(ctx)
		if err != nil {
			return connectors.Failed, answer{}, err
		}
		a, err := c.send(rctx, op, method, target, payload, tok, attempt)
		if err != nil {
			return connectors.Failed, answer{}, err
		}
		if a.status == http.StatusUnauthorized {
			if attempt == 1 {
				if err := c.tokens.unauthorized(ctx, tok); err != nil {
					return connectors.Failed, a, err
				}
				continue
			}
			return connectors.Failed, a, connectors.Errorf(connectors.Permanent, a.status, "%s: access token rejected again after a refresh: %s", op, connectors.Redact(errorMessage(a.body), tok))
		}
		var msg string
		if a.status >= 300 { // a success's body is not an error (a listing's page is large)
			msg = connectors.Redact(errorMessage(a.body), tok)
		}
		out, err := connectors.ClassifyHTTP(a.status, a.header, kind, op+": "+msg)
		if kind == connectors.CallCreate && connectors.ClassOf(err) == connectors.Permanent && saysExists(msg) {
			// The shared table also adopts on an "already exists" message
			// that comes with a status other than 409.
			return connectors.Adopt, a, nil
		}
		return out, a, err
	}
}

func saysExists(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "already exist") || strings.Contains(m, "duplicate")
}

func (c *Connector) send(ctx context.Context, op, method, target string, payload []byte, tok string, attempt int) (answer, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return answer{}, connectors.NewPermanent(op+": build request", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.Warn().Str("operation", op).Int("attempt", attempt).Dur("duration", time.Since(start)).Err(err).Msg("scc call")
		return answer{}, connectors.NewTransient(op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	c.log.Info().Str("operation", op).Int("status", resp.StatusCode).Int("attempt", attempt).Dur("duration", time.Since(start)).Msg("scc call")
	if err != nil {
		return answer{}, connectors.NewTransient(op+": read answer", err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// errorMessage extracts the target's message from SCC's error body
// {trackingId, message, timestamp, statusCode, path}, keeping the tracking
// id for support; anything else is quoted briefly.
func errorMessage(body []byte) string {
	var e struct {
		Message    string `json:"message"`
		Error      string `json:"error"`
		Detail     string `json:"detail"`
		TrackingID string `json:"trackingId"`
	}
	if json.Unmarshal(body, &e) == nil {
		msg := cmp.Or(e.Message, e.Detail, e.Error)
		if msg != "" && e.TrackingID != "" {
			msg += " (trackingId " + e.TrackingID + ")"
		}
		if msg != "" {
			return msg
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// decodeList reads one page of a collection: the decided envelope
// {"<key>":[…], "cursor":"<next>"}, tolerating a bare array, the common
// envelope names and a next cursor under nextCursor or a pagination object.
// Items are nil (not empty) when the answer holds no list at all.
func decodeList(body []byte, key string) ([]json.RawMessage, string, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, "", nil
	}
	if body[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, "", fmt.Errorf("list answer: %w", err)
		}
		return items, "", nil
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, "", fmt.Errorf("list answer: %w", err)
	}
	var items []json.RawMessage
	for _, k := range []string{key, "items", "data", "results", "content"} {
		raw, ok := env[k]
		if !ok {
			continue
		}
		if isNull(raw) {
			// A null list is an empty one; nil items mean no list at all.
			items = []json.RawMessage{}
			continue
		}
		items = nil
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, "", fmt.Errorf("list answer: %q is not an array", k)
		}
		break
	}
	return items, cursorOf(env), nil
}

func cursorOf(env map[string]json.RawMessage) string {
	for _, k := range []string{"nextCursor", "next_cursor", "cursor"} {
		if s := jsonString(env[k]); s != "" {
			return s
		}
	}
	for _, k := range []string{"pagination", "paging", "page", "meta"} {
		var sub map[string]json.RawMessage
		if raw, ok := env[k]; ok && json.Unmarshal(raw, &sub) == nil && sub != nil {
			for _, k := range []string{"nextCursor", "next_cursor", "cursor", "next"} {
				if s := jsonString(sub[k]); s != "" {
					return s
				}
			}
		}
	}
	return ""
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// jsonString reads a JSON string or number as a string ("" otherwise).
func jsonString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw[1:n-1], '\\') < 0 && utf8.Valid(raw) {
		// No escapes: the text between the quotes is the string (raw is
		// valid JSON, checked when the answer was decoded).
		return string(raw[1 : n-1])
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// walk calls fn for each item of a collection, page by page, until fn
// returns false or the pages end. A target whose paging does not end (a
// cursor it already gave, the same page again, more than maxPages pages)
// or a page that is not a list is a transient error, not the end of the
// list: a listing cut short would pass for a complete one.
func (c *Connector) walk(ctx context.Context, op, path, key string, q url.Values, fn func(json.RawMessage) bool) error {
	q = cloneValues(q)
	q.Set("max", strconv.Itoa(c.pageSize))
	cursors := map[string]bool{}
	pages := map[[sha256.Size]byte]bool{}
	for range maxPages {
		_, a, err := c.call(ctx, op, http.MethodGet, path, q, nil, connectors.CallOther)
		if err != nil {
			return err
		}
		items, next, err := decodeList(a.body, key)
		if err == nil && items == nil {
			err = fmt.Errorf("the answer carries no %q list", key)
		}
		if err != nil {
			return connectors.NewTransient(op, err)
		}
		if len(items) > 0 {
			h := sha256.New()
			for _, it := range items {
				h.Write(it)
				h.Write([]byte{0})
			}
			sum := [sha256.Size]byte(h.Sum(nil))
			if pages[sum] {
				return connectors.NewTransient(op+": the target answered the same page twice (its paging ignores the cursor)", nil)
			}
			pages[sum] = true
		}
		for _, it := range items {
			if !fn(it) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		if cursors[next] {
			return connectors.NewTransient(op+": the target answered a cursor it had already given (its paging does not end)", nil)
		}
		cursors[next] = true
		q.Set("cursor", next)
	}
	return connectors.NewTransient(fmt.Sprintf("%s: more than %d pages (the target's paging does not end)", op, maxPages), nil)
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// object is a JSON object answer, read loosely.
type object map[string]json.RawMessage

func parseObject(raw []byte) object {
	var o object
	_ = json.Unmarshal(raw, &o)
	return o
}

func (o object) str(keys ...string) string {
	for _, k := range keys {
		if s := jsonString(o[k]); s != "" {
			return s
		}
	}
	return ""
}

// targetUser is a user as SCC lists it.
type targetUser struct {
	ID, Email, FirstName, LastName, Status string
}

func parseUser(raw []byte) targetUser {
	o := parseObject(raw)
	return targetUser{
		ID:        o.str("id", "userId", "uuid"),
		Email:     o.str("email", "emailAddress"),
		FirstName: o.str("firstName"),
		LastName:  o.str("lastName"),
		Status:    strings.ToUpper(o.str("status")),
	}
}
