package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/auth"
)

// maxForm bounds a token or revocation request body.
const maxForm = 16 << 10

// ParseForm reads an application/x-www-form-urlencoded body strictly:
// bounded size, no parameter twice (RFC 6749 §3.2), valid UTF-8, no
// control characters. The error is ready to send.
func ParseForm(r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, badRequest("invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxForm+1))
	if err != nil {
		return nil, badRequest("invalid_request", "unreadable body")
	}
	if len(body) > maxForm {
		return nil, badRequest("invalid_request", "body too large")
	}
	return parseFormBody(string(body))
}

func parseFormBody(body string) (url.Values, *oauthError) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, badRequest("invalid_request", "malformed form body")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, badRequest("invalid_request", "parameter "+safeName(k)+" sent more than once")
		}
		if !printable(k) || !printable(v[0]) {
			return nil, badRequest("invalid_request", "parameter "+safeName(k)+" holds control characters or invalid UTF-8")
		}
	}
	return form, nil
}

// safeName quotes a parameter name in an error only if it is short and plain.
func safeName(k string) string {
	if len(k) > 40 || !printable(k) {
		return "(unnamed)"
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return "(unnamed)"
		}
	}
	return k
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// clientAuth authenticates the client by client_secret_basic or
// client_secret_post (one, not both: RFC 6749 §2.3).
func (s *Server) clientAuth(r *http.Request, form url.Values) (auth.OAuthClient, [32]byte, *oauthError) {
	var id, secret string
	h := r.Header.Get("Authorization")
	_, postSecret := form["client_secret"]
	switch {
	case h != "":
		cred, err := auth.ParseAuthorization(h)
		if err != nil || cred.Scheme != auth.SchemeBasic || postSecret {
			return auth.OAuthClient{}, [32]byte{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "use HTTP Basic or client_secret in the body, not both"}
		}
		// RFC 6749 §2.3.1: both halves are form-urlencoded first.
		id, secret = formDecode(cred.Username), formDecode(cred.Password)
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return auth.OAuthClient{}, [32]byte{}, badRequest("invalid_request", "client_id differs from the authenticated client")
		}
	case postSecret:
		id, secret = form.Get("client_id"), form.Get("client_secret")
	default:
		return auth.OAuthClient{}, [32]byte{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "client authentication required"}
	}
	c, fp, err := s.reg.AuthenticateOAuthClient(r.Context(), id, secret)
	if errors.Is(err, auth.ErrBusy) {
		return c, fp, &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "too many client authentications in progress"}
	}
	if err != nil {
		name := ""
		if oc, ok := s.reg.OAuthClient(id); ok {
			name = oc.Name
		}
		s.logger(r).Warn().Str("client_id", logSafe(id)).Msg("oauth client authentication failed")
		if wait := s.reg.Fail(r, name, "oauth_client_secret"); wait > 0 {
			return c, fp, &oauthError{status: http.StatusTooManyRequests, code: "slow_down", desc: "too many failed client authentications from this address", retryAfter: auth.RetryAfter(wait)}
		}
		return c, fp, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "client authentication failed"}
	}
	return c, fp, nil
}

func formDecode(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// logSafe keeps a client_id for the log only when it is short and plain.
func logSafe(s string) string {
	if safeName(strings.ReplaceAll(strings.ReplaceAll(s, "-", "_"), ".", "_")) == "(unnamed)" {
		return "(unprintable)"
	}
	return s
}

// clientForm reads a token or revocation request and authenticates its
// client; on failure it has answered and ok is false.
func (s *Server) clientForm(w http.ResponseWriter, r *http.Request) (form url.Values, c auth.OAuthClient, fp [32]byte, ok bool) {
	form, oe := ParseForm(r)
	if oe == nil {
		c, fp, oe = s.clientAuth(r, form)
	}
	if oe != nil {
		writeOAuthError(w, oe)
		return nil, c, fp, false
	}
	return form, c, fp, true
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	form, c, fp, ok := s.clientForm(w, r)
	if !ok {
		return
	}
	var oe *oauthError
	var resp tokenResponse
	switch form.Get("grant_type") {
	case "client_credentials":
		resp, oe = s.clientCredentials(c, fp, form)
	case "authorization_code":
		resp, oe = s.exchangeCode(c, fp, form)
	case "refresh_token":
		resp, oe = s.refresh(c, fp, form)
	case "":
		oe = badRequest("invalid_request", "grant_type is required")
	default:
		oe = badRequest("unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token")
	}
	if oe != nil {
		s.logger(r).Warn().Str("client", c.Name).Str("error", oe.code).Msg("oauth token request refused")
		writeOAuthError(w, oe)
		return
	}
	s.logger(r).Info().Str("client", c.Name).Str("grant_type", form.Get("grant_type")).Msg("oauth access token issued")
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) clientCredentials(c auth.OAuthClient, fp [32]byte, form url.Values) (tokenResponse, *oauthError) {
	scope := grantedScope(form.Get("scope"), false)
	at, _, err := s.issue(c, fp, "", scope)
	if err != nil {
		return tokenResponse{}, &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: "could not sign the token"}
	}
	return tokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: fmtDuration(c.TTL), Scope: scope}, nil
}

// grantedScope keeps the scopes scimbridge knows; access is to SCIM
// whatever is asked.
func grantedScope(requested string, refresh bool) string {
	out := []string{"scim"}
	for _, sc := range strings.Fields(requested) {
		if sc == "offline_access" && refresh {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " ")
}

func (s *Server) exchangeCode(c auth.OAuthClient, fp [32]byte, form url.Values) (tokenResponse, *oauthError) {
	code := form.Get("code")
	if code == "" {
		return tokenResponse{}, badRequest("invalid_request", "code is required")
	}
	h := hashToken(code)
	now := s.opts.Now()
	s.mu.Lock()
	ac := s.codes[h]
	if ac != nil && ac.used {
		// A code used twice: revoke what it gave (RFC 6749 §4.1.2).
		fam := ac.family
		s.mu.Unlock()
		s.revokeFamily(fam, now)
		return tokenResponse{}, badRequest("invalid_grant", "authorization code already used")
	}
	if ac != nil {
		ac.used = true
	}
	s.mu.Unlock()
	if ac == nil || now.After(ac.exp) || ac.clientID != c.ClientID {
		return tokenResponse{}, badRequest("invalid_grant", "unknown, expired or foreign authorization code")
	}
	if ru := form.Get("redirect_uri"); (ru != "" || ac.redirectGiven) && ru != ac.redirectURI {
		return tokenResponse{}, badRequest("invalid_grant", "redirect_uri differs from the authorization request's")
	}
	if ac.challenge != "" {
		v := form.Get("code_verifier")
		if !validVerifier(v) {
			return tokenResponse{}, badRequest("invalid_grant", "code_verifier missing or malformed")
		}
		sum := sha256.Sum256([]byte(v))
		if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(ac.challenge)) != 1 {
			return tokenResponse{}, badRequest("invalid_grant", "code_verifier does not match the code_challenge")
		}
	}
	fam := randomString(12)
	resp, err := s.newPair(c, fp, fam, ac.scope, now, "")
	if err != nil {
		return tokenResponse{}, err
	}
	s.mu.Lock()
	ac.family = fam
	s.mu.Unlock()
	return resp, nil
}

// validVerifier: RFC 7636 §4.1, 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// newPair issues an access token and a refresh token for a chain, new
// (from a code) or continuing (rotating out previous).
func (s *Server) newPair(c auth.OAuthClient, fp [32]byte, fam, scope string, now time.Time, previous string) (tokenResponse, *oauthError) {
	at, _, err := s.issue(c, fp, fam, scope)
	if err != nil {
		return tokenResponse{}, &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: "could not sign the token"}
	}
	rt := randomString(32)
	resp := tokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: fmtDuration(c.TTL), RefreshToken: rt, Scope: scope}
	g := s.grants
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.d.Families[fam]
	if f == nil {
		f = &family{ClientID: c.ClientID, Scope: scope, Created: now}
		g.d.Families[fam] = f
	}
	f.SFP, f.Used = s.sfp(fp), now
	g.d.Tokens[hashToken(rt)] = &refreshRec{Family: fam}
	if prev := g.d.Tokens[previous]; prev != nil {
		t := now
		prev.Rotated = &t
		g.grace[previous] = graceAnswer{resp: resp, until: now.Add(s.opts.ReuseGrace)}
	}
	if err := g.save(now, s.opts.RefreshTTL, auth.MaxAccessTokenTTL); err != nil {
		s.opts.Log.Error().Err(err).Msg("oauth: saving the grant file")
		return tokenResponse{}, &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: "could not record the grant"}
	}
	return resp, nil
}

func (s *Server) refresh(c auth.OAuthClient, fp [32]byte, form url.Values) (tokenResponse, *oauthError) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return tokenResponse{}, badRequest("invalid_request", "refresh_token is required")
	}
	h := hashToken(rt)
	// One refresh at a time, so two uses of one token cannot both rotate it.
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	now := s.opts.Now()
	g := s.grants
	g.mu.Lock()
	rec := g.d.Tokens[h]
	var f *family
	if rec != nil {
		f = g.d.Families[rec.Family]
	}
	if rec == nil || f == nil || f.ClientID != c.ClientID {
		g.mu.Unlock()
		return tokenResponse{}, badRequest("invalid_grant", "unknown refresh token")
	}
	if f.Revoked != nil || now.Sub(f.Used) > s.opts.RefreshTTL {
		g.mu.Unlock()
		return tokenResponse{}, badRequest("invalid_grant", "refresh token revoked or expired")
	}
	if name, fps := s.reg.SecretFingerprints(c.ClientID); !s.sfpCurrent(f.SFP, fps) || name == "" {
		// The secret this chain was granted under was rotated out.
		g.mu.Unlock()
		s.revokeFamily(rec.Family, now)
		return tokenResponse{}, badRequest("invalid_grant", "the client secret this grant was made under is no longer configured")
	}
	if rec.Rotated != nil {
		a, ok := g.grace[h]
		g.mu.Unlock()
		if ok && now.Sub(*rec.Rotated) <= s.opts.ReuseGrace {
			return a.resp, nil // a retry of a lost answer
		}
		s.revokeFamily(rec.Family, now)
		return tokenResponse{}, badRequest("invalid_grant", "refresh token reused: the grant is revoked")
	}
	fam, scope := rec.Family, f.Scope
	g.mu.Unlock()
	return s.newPair(c, fp, fam, scope, now, h)
}

func (s *Server) sfpCurrent(sfp string, fps [][32]byte) bool {
	ok := false
	for _, fp := range fps {
		if subtle.ConstantTimeCompare([]byte(s.sfp(fp)), []byte(sfp)) == 1 {
			ok = true
		}
	}
	return ok
}

func (s *Server) revokeFamily(fam string, now time.Time) {
	if fam == "" {
		return
	}
	g := s.grants
	g.mu.Lock()
	if f := g.d.Families[fam]; f != nil && f.Revoked == nil {
		t := now
		f.Revoked = &t
		if err := g.save(now, s.opts.RefreshTTL, auth.MaxAccessTokenTTL); err != nil {
			s.opts.Log.Error().Err(err).Msg("oauth: saving the grant file")
		}
	}
	g.mu.Unlock()
	s.reg.FlushCache()
}

// revoke is RFC 7009: the client revokes one of its refresh tokens (and
// its chain, access tokens included) or access tokens. Unknown tokens
// are answered 200 as well.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	form, c, _, ok := s.clientForm(w, r)
	if !ok {
		return
	}
	tok := form.Get("token")
	if tok == "" {
		writeOAuthError(w, badRequest("invalid_request", "token is required"))
		return
	}
	now := s.opts.Now()
	g := s.grants
	g.mu.Lock()
	rec := g.d.Tokens[hashToken(tok)]
	var fam string
	if rec != nil {
		if f := g.d.Families[rec.Family]; f != nil && f.ClientID == c.ClientID {
			fam = rec.Family
		}
	}
	g.mu.Unlock()
	if fam != "" {
		s.revokeFamily(fam, now)
	} else if cl, err := s.parse(tok, false); err == nil && cl.ClientID == c.ClientID && cl.ID != "" {
		g.mu.Lock()
		g.d.RevokedJTI[cl.ID] = cl.ExpiresAt.Time
		err := g.save(now, s.opts.RefreshTTL, auth.MaxAccessTokenTTL)
		g.mu.Unlock()
		if err != nil {
			writeOAuthError(w, &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "could not record the revocation"})
			return
		}
		s.reg.FlushCache()
	}
	s.logger(r).Info().Str("client", c.Name).Msg("oauth token revocation")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
