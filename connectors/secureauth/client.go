package secureauth

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/scimbridge/scimbridge/connectors"
)

// call is one native request: path segments after /api/vN (unescaped;
// a trailing "" gives /users/), an optional JSON body.
type call struct {
	op     string // for logs: create_user, update_user, ...
	method string
	segs   []string
	body   any // nil: no body
	kind   connectors.CallKind
	found  bool // GET user: the account statuses also mean "exists"
}

// reply is the part of an answer the connector reads. knowledgeBase is
// deliberately absent: its answers are secrets.
type reply struct {
	HTTP       int    `json:"-"`
	Status     string `json:"status"`
	Message    string `json:"message"`
	UserID     string `json:"userId"`
	Properties map[string]struct {
		Value any `json:"value"`
	} `json:"properties"`
	Groups   []string            `json:"groups"`
	Failures map[string][]string `json:"failures"`
}

// errAdopt is a create answered "Duplicate username." (or 409).
var errAdopt = errors.New("already exists")

// userStatuses are GET answers that mean the account exists.
var userStatuses = map[string]bool{"found": true, "disabled": true, "lock_out": true, "password_expired": true, "invalid_group": true}

func (c *Connector) url(segs []string) string {
	var b strings.Builder
	b.WriteString(c.base)
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// do sends a call and classifies the answer with connectors.ClassifyHTTP.
// The body's status decides success, never the HTTP status alone. A 401
// is retried once (signed afresh); a second is permanent. The reply is
// returned whenever the answer was verified, also with an error, so
// callers can read not_found and per-item failures.
func (c *Connector) do(ctx context.Context, cl call) (*reply, error) {
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return nil, connectors.NewPermanent("encoding request", err)
		}
	}
	for attempt := 1; ; attempt++ {
		rep, err := c.once(ctx, cl, body, attempt)
		if connectors.ClassOf(err) == connectors.Unauthorized {
			if attempt == 1 {
				continue
			}
			var e *connectors.Error
			errors.As(err, &e)
			return rep, &connectors.Error{Class: connectors.Permanent, Status: e.Status, Msg: "unauthorized twice: " + e.Msg}
		}
		return rep, err
	}
}

func (c *Connector) once(ctx context.Context, cl call, body []byte, attempt int) (*reply, error) {
	if c.requests != nil {
		if err := c.requests.Wait(ctx); err != nil {
			return nil, connectors.NewTransient("waiting for the request rate", err)
		}
	}
	start := time.Now()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.url(cl.segs), rd)
	if err != nil {
		return nil, connectors.NewPermanent("building request", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	ev := func() *zerolog.Event { return c.logCall(cl.op, attempt, time.Since(start)) }
	if err != nil {
		var se *SignatureError
		if errors.As(err, &se) {
			if errors.Is(se.Err, ErrUnsigned) && transientStatus(se.Status) {
				// Nothing is applied from an unsigned 429/5xx (a proxy's):
				// it only delays.
				ev().Int("http", se.Status).Msg("unsigned answer")
				h := http.Header{}
				if se.RetryAfter != "" {
					h.Set("Retry-After", se.RetryAfter)
				}
				_, cerr := connectors.ClassifyHTTP(se.Status, h, cl.kind, "unsigned answer")
				return nil, cerr
			}
			if errors.Is(se.Err, ErrUnsigned) && se.Status == http.StatusUnauthorized {
				// A server cannot sign for an app id it does not know, and
				// may sign no refusal at all. A 401 applies nothing: it is
				// re-signed and sent once more like a signed one.
				msg := cmp.Or(se.Message, "unauthorized")
				ev().Int("http", se.Status).Str("target_message", msg).Msg("unsigned answer")
				return nil, &connectors.Error{Class: connectors.Unauthorized, Status: se.Status, Msg: msg}
			}
			c.log.Error().Str("connector", c.name).Str("op", cl.op).Int("http", se.Status).Int("attempt", attempt).
				Msg("SECURITY: SecureAuth answer failed signature verification; not applied")
			return nil, &connectors.Error{Class: connectors.Permanent, Status: se.Status, Msg: "answer failed signature verification: " + se.Err.Error()}
		}
		ev().Err(err).Msg("call failed")
		return nil, connectors.NewTransient("request failed", err)
	}
	defer resp.Body.Close()
	rep := &reply{HTTP: resp.StatusCode}
	var raw bytes.Buffer
	raw.ReadFrom(resp.Body)
	jerr := json.Unmarshal(raw.Bytes(), rep)
	ev().Int("http", resp.StatusCode).Str("status", rep.Status).Str("target_message", rep.Message).Msg("call")

	ok := rep.Status == "success" || (cl.found && userStatuses[rep.Status])
	if jerr == nil && ok && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return rep, nil
	}
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		// A 2xx whose body is not a success: the body decides.
		switch {
		case jerr != nil:
			return nil, connectors.Errorf(connectors.Permanent, status, "answer is not a SecureAuth JSON body")
		case rep.Status == "not_found":
			status = http.StatusNotFound
		case rep.Status == "invalid":
			status = http.StatusUnauthorized
		case rep.Status == "server_error":
			status = http.StatusInternalServerError
		default:
			status = http.StatusBadRequest
		}
	}
	if cl.kind == connectors.CallCreate && strings.Contains(strings.ToLower(rep.Message), "duplicate username") {
		return rep, errAdopt
	}
	kind := cl.kind
	if kind == connectors.CallDelete && rep.Status != "not_found" {
		// A 404 that is not "User Id was not found" is a missing endpoint
		// (delete not enabled), not a deleted user.
		kind = connectors.CallOther
	}
	msg := rep.Message
	if msg == "" {
		msg = rep.Status
	}
	switch outcome, err := connectors.ClassifyHTTP(status, resp.Header, kind, msg); outcome {
	case connectors.OK:
		return rep, nil
	case connectors.Adopt:
		return rep, errAdopt
	default:
		return rep, err
	}
}

func transientStatus(s int) bool {
	return s == http.StatusLocked || s == http.StatusTooManyRequests || s >= 500
}

func notFound(rep *reply) bool { return rep != nil && rep.Status == "not_found" }
