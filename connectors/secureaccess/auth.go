package secureaccess

import (
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
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/scimbridge/scimbridge/connectors"
)

// tokens caches the client-credentials access token. oauth2's own
// ReuseTokenSource cannot be told that the server rejected a token, so the
// cache is ours: one fetch at a time, renewed shortly before expiry, and
// replaced at most once per rejected token however many requests saw the
// 401 (single flight).
type tokens struct {
	cfg    clientcredentials.Config // the settings; request sends the grant
	client *http.Client
	lim    *limiter // the token endpoint's own limit
	log    zerolog.Logger
	name   string
	state  connectors.StateStore // nil: the token lives in memory only

	mu      sync.Mutex // held during a fetch: that is the single flight
	tok     *oauth2.Token
	renewAt time.Time
}

// get returns a valid token, fetching one if there is none or it is about
// to expire.
func (t *tokens) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && time.Now().Before(t.renewAt) {
		return t.tok.AccessToken, nil
	}
	return t.fetch(ctx)
}

// refresh replaces the token that the server rejected with a 401. If
// another request has already replaced it, the new one is returned.
func (t *tokens) refresh(ctx context.Context, rejected string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken != rejected && time.Now().Before(t.renewAt) {
		return t.tok.AccessToken, nil
	}
	return t.fetch(ctx)
}

// fetch gets a new token; mu is held.
func (t *tokens) fetch(ctx context.Context) (string, error) {
	done, err := t.lim.wait(ctx)
	if err != nil {
		return "", connectors.NewTransient("token endpoint rate limit", err)
	}
	start := time.Now()
	tok, err := t.request(ctx)
	done()
	status := 0
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		status = re.Response.StatusCode
	} else if err == nil {
		status = http.StatusOK
	}
	t.log.Info().Str("connector", t.name).Str("op", "token").Int("status", status).
		Dur("duration", time.Since(start)).Msg("target call")
	if err != nil {
		t.tok = nil
		if status == 0 {
			return "", connectors.NewTransient("token request failed", err)
		}
		if status >= 200 && status <= 299 {
			// An OAuth error in a 2xx answer (RFC 6749 §5.2 says 400):
			// oauth2 reports it, ClassifyHTTP would see a success.
			status = http.StatusBadRequest
		}
		_, cerr := connectors.ClassifyHTTP(status, re.Response.Header, connectors.CallOther, connectors.Redact(tokenMessage(re), t.cfg.ClientSecret))
		var e *connectors.Error
		if errors.As(cerr, &e) && e.Class == connectors.Unauthorized {
			// A rejected key and secret will not get better by retrying.
			e.Class = connectors.Permanent
		}
		return "", cerr
	}
	if tok.AccessToken == "" {
		return "", connectors.NewPermanent("token endpoint answered no access_token", nil)
	}
	t.tok = tok
	t.renewAt = renewAt(tok, start)
	t.store()
	return tok.AccessToken, nil
}

// request is the client-credentials grant as the contract states it:
// POST grant_type=client_credentials with `Authorization: Basic
// base64(apiKey:apiSecret)`. It is not clientcredentials.Config.Token,
// because golang.org/x/oauth2 form-encodes the key and secret before
// Basic-encoding them (RFC 6749 §2.3.1), and the target compares them as
// issued: a secret with '+', '/', '=' or '%' would be refused
// (TestTokenBasicAuthIsRaw). Errors are *oauth2.RetrieveError, as
// x/oauth2's, for fetch to classify.
func (t *tokens) request(ctx context.Context) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(t.cfg.ClientID, t.cfg.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	fail := func(code string) error {
		return &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: code}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fail("")
	}
	var v struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"` // a number, or a number in a string
		Error       string          `json:"error"`
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fail("")
		}
		v.AccessToken, v.TokenType, v.Error = q.Get("access_token"), q.Get("token_type"), q.Get("error")
		v.ExpiresIn = json.RawMessage(q.Get("expires_in"))
	} else if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("token endpoint: unreadable answer: %w", err)
	}
	if v.Error != "" {
		return nil, fail(v.Error)
	}
	tok := &oauth2.Token{AccessToken: v.AccessToken, TokenType: v.TokenType}
	if secs, err := strconv.ParseInt(strings.Trim(string(v.ExpiresIn), `"`), 10, 64); err == nil && secs > 0 {
		tok.Expiry = time.Now().Add(time.Duration(secs) * time.Second)
	}
	return tok, nil
}

// renewAt is when to fetch a fresh token: 10s before expiry, or after 90%
// of a lifetime shorter than 100s (scaled-down tests). No expiry: never.
func renewAt(tok *oauth2.Token, issued time.Time) time.Time {
	if tok.Expiry.IsZero() {
		return time.Unix(1<<62, 0)
	}
	life := tok.Expiry.Sub(issued)
	return tok.Expiry.Add(-min(10*time.Second, life/10))
}

// tokenMessage is the token endpoint's {"message": ...}, or its status.
func tokenMessage(re *oauth2.RetrieveError) string {
	var body struct {
		Message          string `json:"message"`
		ErrorDescription string `json:"error_description"`
		Error            string `json:"error"`
	}
	if json.Unmarshal(re.Body, &body) == nil {
		for _, m := range []string{body.Message, body.ErrorDescription, body.Error} {
			if m != "" {
				return "token endpoint: " + m
			}
		}
	}
	return "token endpoint: " + http.StatusText(re.Response.StatusCode)
}
