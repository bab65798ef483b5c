package scc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/oauthtoken"
)

// storedTokens is the durable token state. Config is a hash of the
// configured tokens when the pair was stored: a changed config value wins
// over the stored pair (an operator pasted a new API key).
type storedTokens struct {
	Access    string    `json:"access_token"`
	Refresh   string    `json:"refresh_token"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Config    string    `json:"config"`
}

type tokenConfig struct {
	hc              *http.Client
	log             zerolog.Logger
	refreshURL      string
	access, refresh string // from config
	state           connectors.StateStore
	stateKey        string
}

// tokenSource holds the current token pair. Refreshes are single-flight:
// the mutex is held across the refresh call, so workers that saw a 401
// together wait for one refresh and then find the access token changed.
type tokenSource struct {
	cfg        tokenConfig
	configHash string
	now        func() time.Time // time.Now; tests move it

	mu       sync.Mutex
	access   string
	refresh  string
	expires  time.Time     // zero: unknown (config token)
	lifetime time.Duration // of the last refreshed token
	durable  *oauthtoken.Rotation[storedTokens]
	dead     error // the refresh token was rejected: needs a new API key
}

func newTokenSource(cfg tokenConfig) (*tokenSource, error) {
	sum := sha256.Sum256([]byte(cfg.access + "\x00" + cfg.refresh))
	t := &tokenSource{cfg: cfg, configHash: hex.EncodeToString(sum[:]), now: time.Now, access: cfg.access, refresh: cfg.refresh,
		durable: oauthtoken.New[storedTokens](cfg.state, cfg.stateKey)}
	st, ok, err := t.durable.Load()
	if err != nil {
		return nil, err
	}
	if ok && st.Config == t.configHash && st.Access != "" {
		t.access, t.refresh, t.expires = st.Access, st.Refresh, st.ExpiresAt
	}
	return t, nil
}

// token returns the access token to use now, refreshing first if it has
// expired and persisting a pair that a failed write left unsaved.
func (t *tokenSource) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead != nil {
		return "", t.dead
	}
	if err := t.durable.Flush(); err != nil {
		t.cfg.log.Error().Err(err).Msg("scc: could not store rotated tokens")
		return "", err
	}
	if !t.expires.IsZero() && t.refresh != "" && !t.now().Before(t.expires.Add(-t.skew())) {
		if err := t.refreshLocked(ctx); err != nil {
			return "", err
		}
	}
	return t.access, nil
}

// skew refreshes a little before expiry: a tenth of the lifetime, at most
// a minute.
func (t *tokenSource) skew() time.Duration {
	return min(t.lifetime/10, time.Minute)
}

// unauthorized handles a 401 answered to a request made with used. Only
// the first caller refreshes; later ones find a newer token and retry.
func (t *tokenSource) unauthorized(ctx context.Context, used string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead != nil {
		return t.dead
	}
	if t.access != used {
		return nil
	}
	if t.refresh == "" {
		return connectors.Errorf(connectors.Permanent, http.StatusUnauthorized,
			"access token rejected and no refresh token configured: set credentials.access_token to a new API key token (and credentials.refresh_token, credentials.api_key_id to keep it fresh)")
	}
	return t.refreshLocked(ctx)
}

type tokenAnswer struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int64 // seconds; 0 = unknown
}

// parseTokenAnswer reads {access_token, refresh_token, expires_in} [doc],
// also in camelCase and with expires_in as a string.
func parseTokenAnswer(body []byte) tokenAnswer {
	o := parseObject(body)
	a := tokenAnswer{
		AccessToken:  o.str("access_token", "accessToken"),
		RefreshToken: o.str("refresh_token", "refreshToken"),
	}
	a.ExpiresIn, _ = strconv.ParseInt(o.str("expires_in", "expiresIn"), 10, 64)
	return a
}

// refreshLocked rotates the pair. The new pair is written durably before
// the new access token is used: the old refresh token stops working.
func (t *tokenSource) refreshLocked(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.refreshURL, strings.NewReader("grant_type=refresh_token"))
	if err != nil {
		return connectors.NewPermanent("refresh: build request", err)
	}
	req.Header.Set("Authorization", "Bearer "+t.refresh)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := connectors.NoRedirects(t.cfg.hc).Do(req) // the form carries the refresh token
	if err != nil {
		t.cfg.log.Warn().Str("operation", "refresh").Dur("duration", time.Since(start)).Err(err).Msg("scc call")
		return connectors.NewTransient("refresh token", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	t.cfg.log.Info().Str("operation", "refresh").Int("status", resp.StatusCode).Int("attempt", 1).Dur("duration", time.Since(start)).Msg("scc call")
	if err != nil {
		return connectors.NewTransient("refresh token: read answer", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusForbidden:
		// The stored refresh token is dead (rotated by a refresh whose
		// answer was lost, or revoked): only a new API key helps.
		t.dead = connectors.Errorf(connectors.Permanent, resp.StatusCode,
			"the refresh token was rejected (%s): create a new API key in SCC and set credentials.access_token, credentials.refresh_token and credentials.api_key_id", connectors.Redact(errorMessage(body), t.refresh, t.access))
		t.cfg.log.Error().Int("status", resp.StatusCode).Msg("scc refresh token rejected; connector needs a new API key in config")
		return t.dead
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		_, err := connectors.ClassifyHTTP(resp.StatusCode, resp.Header, connectors.CallOther, "refresh token: "+connectors.Redact(errorMessage(body), t.refresh, t.access))
		return err
	}
	a := parseTokenAnswer(body)
	if a.AccessToken == "" {
		return connectors.NewTransient("refresh token: answer has no access_token", nil)
	}
	t.access = a.AccessToken
	if a.RefreshToken != "" {
		t.refresh = a.RefreshToken
	}
	t.expires, t.lifetime = time.Time{}, 0
	if a.ExpiresIn > 0 {
		t.lifetime = time.Duration(a.ExpiresIn) * time.Second
		t.expires = t.now().Add(t.lifetime)
	}
	return t.save()
}

// save writes the pair to the state store (oauthtoken). On failure the
// pair stays in memory (the old one is dead already) and the next token
// call retries the write before the new token is used.
func (t *tokenSource) save() error {
	err := t.durable.Save(storedTokens{Access: t.access, Refresh: t.refresh, ExpiresAt: t.expires, Config: t.configHash})
	if err != nil {
		t.cfg.log.Error().Err(err).Msg("scc: could not store rotated tokens")
	}
	return err
}
