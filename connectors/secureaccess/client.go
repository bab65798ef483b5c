package secureaccess

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
)

// answer is what the target said to one request.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	msg     string // the target's message, for errors
	success bool   // PUT: 2xx and not {"success": false}
}

// do sends one request with the current token, in the rate-limit slot the
// caller reserved (slot is called when the answer arrives). On a 401 it
// renews the token once, single-flight, and sends again in a new slot.
// Transport failures come back as transient errors; every HTTP answer
// comes back as an answer for the caller to classify.
func (c *Connector) do(ctx context.Context, op, method, u string, body []byte, slot func(), items int) (answer, error) {
	tok, err := c.tokens.get(ctx)
	if err != nil {
		slot()
		return answer{}, err
	}
	ans, err := c.send1(ctx, op, method, u, body, tok, 1, items)
	slot()
	if err != nil || ans.status != http.StatusUnauthorized {
		return ans, err
	}
	if tok, err = c.tokens.refresh(ctx, tok); err != nil {
		return answer{}, err
	}
	if slot, err = c.lim.wait(ctx); err != nil {
		return answer{}, connectors.NewTransient("waiting for a rate-limit slot", err)
	}
	defer slot()
	return c.send1(ctx, op, method, u, body, tok, 2, items)
}

// send1 is one HTTP exchange, logged without the token.
func (c *Connector) send1(ctx context.Context, op, method, u string, body []byte, tok string, attempt, items int) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return answer{}, connectors.NewPermanent("build request", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.client.Do(req)
	ev := c.log.Info().Str("connector", c.name).Str("op", op).Int("attempt", attempt).Int("items", items)
	if err != nil {
		ev.Err(err).Dur("duration", time.Since(start)).Msg("target call")
		return answer{}, connectors.NewTransient(op+" failed", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	ev.Int("status", resp.StatusCode).Dur("duration", time.Since(start)).Msg("target call")
	if err != nil {
		return answer{}, connectors.NewTransient(op+": reading the answer", err)
	}
	ans := answer{status: resp.StatusCode, header: resp.Header, body: b}
	ans.msg, ans.success = readBody(resp, b)
	ans.msg = connectors.Redact(ans.msg, tok)
	return ans, nil
}

// readBody extracts the target's message from any of its error shapes
// (text/plain "Bad Request", {"message": ...}, {"error": ..., "success":
// "false"}) and whether a 2xx says success. Only {"success": false} (or
// "false") on a 2xx counts as a failure: an empty or other 2xx body is
// success.
func readBody(resp *http.Response, b []byte) (msg string, success bool) {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	var v struct {
		Message string          `json:"message"`
		Error   any             `json:"error"`
		Success json.RawMessage `json:"success"`
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if (mt == "application/json" || strings.HasSuffix(mt, "+json") || json.Valid(b)) && json.Unmarshal(b, &v) == nil {
		switch s := strings.Trim(string(v.Success), `"`); s {
		case "false":
			ok = false
		}
		switch e := v.Error.(type) {
		case string:
			msg = e
		case map[string]any:
			if m, _ := e["message"].(string); m != "" {
				msg = m
			}
		}
		if v.Message != "" {
			msg = v.Message
		}
	} else if len(b) > 0 && printable(b) {
		msg = strings.TrimSpace(string(b))
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return msg, ok
}

func printable(b []byte) bool {
	return !bytes.ContainsAny(b, "\x00")
}

// registration is one item of a GET page; the rest of it is ignored.
type registration struct {
	Key            string `json:"key"`
	Label          string `json:"label"`
	Status         string `json:"status"`
	AuthName       string `json:"authName"`
	DomainName     string `json:"domainName"`
	SamAccountName string `json:"samAccountName"`
	GUIDHash       string `json:"guidHash"`
}

type page struct {
	Total  *int           `json:"total"`
	Data   []registration `json:"data"`
	Offset *int           `json:"offset"` // nil when the answer has none
	Limit  int            `json:"limit"`
}

// lookup finds the registrations of deletes that came without their
// previous fields (the contract needs authName and label even to set a
// registration inactive). It pages through the device registrations once
// for all of them, stopping when all are found; keys not found were never
// registered.
func (c *Connector) lookup(ctx context.Context, batch []connectors.Change, idx []int) (map[string]item, error) {
	want := map[string]bool{}
	for _, i := range idx {
		want[keyOf(batch[i])] = true
	}
	found := map[string]item{}
	err := c.scan(ctx, func(r registration) (bool, error) {
		if want[r.Key] {
			found[r.Key] = item{Key: r.Key, Label: r.Label, AuthName: r.AuthName, Status: "inactive",
				DomainName: r.DomainName, SamAccountName: r.SamAccountName, GUIDHash: r.GUIDHash}
		}
		return len(found) < len(want), nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// list reads one page of up to MaxBatch device registrations from
// offset: one GET in a slot of the connector's limiter, with the token
// and 401 renewal of every other call, its answer classified as a PUT's.
func (c *Connector) list(ctx context.Context, offset int) (page, error) {
	var slot func()
	var err error
	if p := connectors.Background(ctx); p != nil {
		// A periodic drift check: after live work, and within its share
		// of every window (limiter.waitShare).
		if ctx, err = connectors.Pace(ctx); err == nil {
			slot, err = c.lim.waitShare(ctx, p.Share())
		}
	} else {
		slot, err = c.lim.wait(ctx)
	}
	if err != nil {
		var w errWait
		if errors.As(err, &w) {
			return page{}, &connectors.Error{Class: connectors.Transient, RetryAfter: w.wait, Msg: "waiting for a rate-limit slot", Err: err}
		}
		return page{}, connectors.NewTransient("waiting for a rate-limit slot", err)
	}
	q := url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(MaxBatch)}}
	ans, err := c.do(ctx, "list", http.MethodGet, c.regURL+"?"+q.Encode(), nil, slot, 0)
	if err != nil {
		return page{}, err
	}
	if ans.status < 200 || ans.status > 299 {
		_, err := connectors.ClassifyHTTP(ans.status, ans.header, connectors.CallOther, ans.msg)
		var e *connectors.Error
		switch {
		case ans.status == http.StatusTooManyRequests:
			if errors.As(err, &e) {
				e.RetryAfter = c.lim.throttled(e.RetryAfter)
			}
		case connectors.ClassOf(err) == connectors.Unauthorized:
			c.lim.ok()
			err = connectors.Errorf(connectors.Permanent, ans.status, "%s (again after a fresh token)", ans.msg)
		default:
			c.lim.ok()
		}
		return page{}, listError(offset, err)
	}
	c.lim.ok()
	var p page
	if err := json.Unmarshal(ans.body, &p); err != nil {
		return page{}, connectors.NewPermanent(fmt.Sprintf("list registrations at offset %d: unreadable answer", offset), err)
	}
	return p, nil
}

// listError says which page a classified error is about.
func listError(offset int, err error) error {
	var e *connectors.Error
	if !errors.As(err, &e) {
		return err
	}
	named := *e
	named.Msg = fmt.Sprintf("list registrations at offset %d: %s", offset, e.Msg)
	return &named
}
