package webex

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/oauthtoken"
)

const (
	maxAnswer = 16 << 20
	// A 429 or 423 without Retry-After waits 5 s, and no answer makes us
	// wait more than 60 s (the vendor SDK's rule, in the contract).
	defaultRetryAfter = 5 * time.Second
	maxRetryAfter     = 60 * time.Second
)

// call is one request to the SCIM API.
type call struct {
	op     string // for logs: "user.create", "group.patch", ...
	method string
	path   string // under the base URL, e.g. "/Users/{id}"
	query  url.Values
	body   any // JSON-encoded when non-nil
	kind   connectors.CallKind
}

// do sends a call with the current token, refreshing it once on a 401,
// and decodes a 2xx answer into out (when non-nil). The outcome and error
// are connectors.ClassifyHTTP's.
func (c *Connector) do(ctx context.Context, cl call, out any) (connectors.Outcome, error) {
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return connectors.Failed, connectors.NewPermanent("encoding "+cl.op, err)
		}
	}
	u := c.base + cl.path
	if len(cl.query) > 0 {
		// Percent-encoding only (RFC 3986): Encode writes a space as "+",
		// HTML form encoding a service may read as a plus sign. A "+" in
		// a value is already "%2B", so every "+" left is a space.
		u += "?" + strings.ReplaceAll(cl.query.Encode(), "+", "%20")
	}
	tok, err := c.tokens.token(ctx)
	if err != nil {
		return connectors.Failed, err
	}
	for attempt := 1; ; attempt++ {
		status, header, answer, err := c.send(ctx, cl, u, body, tok, attempt)
		if err != nil {
			return connectors.Failed, connectors.NewTransient(cl.op, err)
		}
		if status == http.StatusUnauthorized && attempt == 1 {
			if tok, err = c.tokens.refreshAfter(ctx, tok); err != nil {
				return connectors.Failed, err
			}
			continue
		}
		outcome, err := connectors.ClassifyHTTP(status, header, cl.kind, connectors.Redact(errorMessage(answer), tok))
		if err != nil {
			return outcome, adjust(err)
		}
		if outcome == connectors.OK && out != nil && status != http.StatusNoContent && len(bytes.TrimSpace(answer)) > 0 {
			if err := json.Unmarshal(answer, out); err != nil {
				// The write may have landed: a retry adopts it.
				return connectors.Failed, connectors.NewTransient("unreadable answer to "+cl.op, err)
			}
		}
		return outcome, nil
	}
}

// adjust applies the contract's Retry-After rules and makes a second 401
// permanent.
func adjust(err error) error {
	var e *connectors.Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Class == connectors.Unauthorized:
		e.Class = connectors.Permanent
		e.Msg = strings.TrimSpace("access token rejected after a refresh: " + e.Msg)
	case e.Status == http.StatusTooManyRequests || e.Status == http.StatusLocked:
		if e.RetryAfter <= 0 {
			e.RetryAfter = defaultRetryAfter
		}
		e.RetryAfter = min(e.RetryAfter, maxRetryAfter)
	case e.RetryAfter > maxRetryAfter:
		e.RetryAfter = maxRetryAfter
	}
	return e
}

func (c *Connector) send(ctx context.Context, cl call, u string, body []byte, tok string, attempt int) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	tid := "SCIMBRIDGE_" + uuid.NewString()
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/scim+json, application/json")
	req.Header.Set("TrackingID", tid)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.requests != nil {
		// Paced here, after the body is built, so a slow encode cannot
		// bunch two requests into one of the target's windows.
		if err := c.requests.Wait(ctx); err != nil {
			return 0, nil, nil, err
		}
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	ev := c.log.Info().Str("op", cl.op).Str("method", cl.method).Str("path", cl.path).
		Int("attempt", attempt).Str("tracking_id", tid)
	if err != nil {
		ev.Dur("duration", time.Since(start)).Err(err).Msg("webex call failed")
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	ev.Int("status", resp.StatusCode).Dur("duration", time.Since(start)).Msg("webex call")
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, answer, nil
}

// errorMessage extracts the target's message from an error body: SCIM's
// detail, Cisco's details, or the token API's message, with the tracking id.
func errorMessage(b []byte) string {
	var e struct {
		Detail           string `json:"detail"`
		ScimType         string `json:"scimType"`
		Message          string `json:"message"`
		ErrorDescription string `json:"error_description"`
		Cisco            struct {
			TrackingID string `json:"trackingId"`
			ErrorCode  string `json:"errorCode"`
			Details    string `json:"details"`
		} `json:"urn:scim:schemas:extension:cisco:webexidentity:api:messages:2.0:Error"`
		TrackingID string `json:"trackingId"`
	}
	if json.Unmarshal(b, &e) != nil {
		s := strings.TrimSpace(string(b))
		if len(s) > 200 {
			s = s[:200]
		}
		return s
	}
	msg := cmp.Or(e.Detail, e.Cisco.Details, e.Message, e.ErrorDescription)
	if e.ScimType != "" {
		msg = e.ScimType + ": " + msg
	}
	if e.Cisco.ErrorCode != "" {
		msg += " (errorCode " + e.Cisco.ErrorCode + ")"
	}
	if t := cmp.Or(e.Cisco.TrackingID, e.TrackingID); t != "" {
		msg += " [trackingId " + t + "]"
	}
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return msg
}

// tokenSource holds the integration token and refreshes it before expiry
// and after a 401. One mutex makes refreshes single-flight: callers that
// saw the same stale token wait for one refresh and share its result.
type tokenSource struct {
	c *Connector

	mu        sync.Mutex
	access    string
	refresh   string
	refreshAt time.Time // zero: expiry unknown, refresh on 401 only

	clientID, clientSecret, url string
	state                       connectors.StateStore
	stateKey                    string
	seed                        string // fingerprint of the configured refresh token
	durable                     *oauthtoken.Rotation[savedToken]
}

// savedToken is the durable token state: a refresh may rotate the refresh
// token, and the configured one would then be stale after a restart.
type savedToken struct {
	Seed         string    `json:"seed"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	RefreshAt    time.Time `json:"refresh_at"`
}

// load restores saved token state made from the configured refresh token.
func (t *tokenSource) load() {
	sum := sha256.Sum256([]byte(t.refresh))
	t.seed = hex.EncodeToString(sum[:8])
	t.durable = oauthtoken.New[savedToken](t.state, t.stateKey)
	if t.refresh == "" {
		return
	}
	s, ok, err := t.durable.Load()
	if err != nil || !ok || s.Seed != t.seed || s.RefreshToken == "" {
		return // none, unreadable, or made from another configured token: the config wins
	}
	t.access, t.refresh, t.refreshAt = s.AccessToken, s.RefreshToken, s.RefreshAt
}

// token returns a usable access token, refreshing first when it is due.
// A rotated pair is used only once it is stored (oauthtoken).
func (t *tokenSource) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.flush(); err != nil {
		return "", err
	}
	due := t.access == "" || (!t.refreshAt.IsZero() && !t.c.now().Before(t.refreshAt))
	if due && t.refresh != "" {
		if err := t.doRefresh(ctx); err != nil {
			if t.access == "" || t.durable.Pending() {
				return "", err
			}
			// The old token may still be valid: use it, a 401 will tell.
			t.c.log.Warn().Err(err).Msg("webex token refresh before expiry failed")
		}
	}
	return t.access, nil
}

// refreshAfter refreshes after stale was rejected with a 401, unless
// another caller already replaced it.
func (t *tokenSource) refreshAfter(ctx context.Context, stale string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.flush(); err != nil {
		return "", err
	}
	if t.access != stale {
		return t.access, nil
	}
	if t.refresh == "" {
		return "", connectors.Errorf(connectors.Permanent, http.StatusUnauthorized,
			"access token rejected and no credentials.refresh_token configured")
	}
	if err := t.doRefresh(ctx); err != nil {
		return "", err
	}
	return t.access, nil
}

// doRefresh runs the refresh_token grant; t.mu held. The form body holds
// secrets: it is never logged.
func (t *tokenSource) doRefresh(ctx context.Context) error {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {t.clientID},
		"client_secret": {t.clientSecret},
		"refresh_token": {t.refresh},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(form.Encode()))
	if err != nil {
		return connectors.NewPermanent("token refresh", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := connectors.NoRedirects(t.c.hc).Do(req) // the form carries the client secret and refresh token
	if err != nil {
		t.c.log.Info().Str("op", "token.refresh").Err(err).Msg("webex call failed")
		return connectors.NewTransient("token refresh", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	t.c.log.Info().Str("op", "token.refresh").Int("status", resp.StatusCode).Dur("duration", time.Since(start)).Msg("webex call")
	msg := connectors.Redact(errorMessage(answer), t.clientSecret, t.refresh, t.access)
	if _, err := connectors.ClassifyHTTP(resp.StatusCode, resp.Header, connectors.CallOther, msg); err != nil {
		var e *connectors.Error
		if errors.As(err, &e) && e.Class == connectors.Unauthorized {
			e.Class = connectors.Permanent // bad client credentials: refreshing again will not help
		}
		if errors.As(err, &e) {
			e.Msg = "token refresh: " + e.Msg
		}
		return err
	}
	var tr struct {
		AccessToken  string      `json:"access_token"`
		ExpiresIn    json.Number `json:"expires_in"` // a number; some servers quote it
		RefreshToken string      `json:"refresh_token"`
	}
	if err := json.Unmarshal(answer, &tr); err != nil || tr.AccessToken == "" {
		return connectors.NewTransient("token refresh: answer has no access_token", err)
	}
	t.access = tr.AccessToken
	if tr.RefreshToken != "" {
		t.refresh = tr.RefreshToken
	}
	t.refreshAt = time.Time{}
	if secs, _ := tr.ExpiresIn.Float64(); secs > 0 {
		// Refresh when 90% of the lifetime has passed (at most 5 min early).
		life := time.Duration(secs * float64(time.Second))
		t.refreshAt = t.c.now().Add(life - min(life/10, 5*time.Minute))
	}
	// The old refresh token may be dead now: store the new pair before
	// anyone uses it. On failure the call is transient and the next one
	// retries the write first.
	return t.logSaveError(t.durable.Save(savedToken{Seed: t.seed, AccessToken: t.access, RefreshToken: t.refresh, RefreshAt: t.refreshAt}))
}

// flush retries a rotated pair whose save failed; t.mu held.
func (t *tokenSource) flush() error { return t.logSaveError(t.durable.Flush()) }

func (t *tokenSource) logSaveError(err error) error {
	if err != nil {
		t.c.log.Error().Err(err).Msg("webex: could not store rotated tokens")
	}
	return err
}
