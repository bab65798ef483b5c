package secureaccess

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
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
	cfg    clientcredentials.Config
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
	tok, err := t.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, t.client))
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
