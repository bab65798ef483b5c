package oauth

import (
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/auth"
)

// authCode is an issued authorization code (kept by hash, single use).
type authCode struct {
	clientID      string
	redirectURI   string
	redirectGiven bool
	challenge     string
	scope         string
	exp           time.Time
	used          bool
	family        string // the chain it started, revoked if the code is replayed
}

// pendingAuth is an authorization request waiting for the operator.
type pendingAuth struct {
	client        auth.OAuthClient
	redirectURI   string
	redirectGiven bool
	state         string
	challenge     string
	scope         string
	csrf          string
	exp           time.Time
	tries         int
}

// Bounds on what unauthenticated requests can make the server hold.
const (
	maxPending  = 256
	maxCodes    = 1024
	pendingTTL  = 10 * time.Minute
	codeTTL     = time.Minute
	maxTries    = 5
	csrfCookie  = "scimbridge_oauth_csrf"
	maxParamLen = 2048
)

// authorize is GET /oauth/authorize: validate the request, then show the
// consent page. Until client_id and redirect_uri are known good, errors
// are shown here and never redirected (RFC 6749 §4.1.2.1).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, v := range q {
		if len(v) > 1 || len(v[0]) > maxParamLen || !printable(v[0]) {
			s.errorPage(w, http.StatusBadRequest, "The authorization request repeats a parameter or holds an invalid one ("+safeName(k)+").")
			return
		}
	}
	c, ok := s.reg.OAuthClient(q.Get("client_id"))
	if !ok || len(c.RedirectURIs) == 0 {
		s.errorPage(w, http.StatusBadRequest, "Unknown client_id, or the client has no redirect_uris configured.")
		return
	}
	redirect, given := q.Get("redirect_uri"), true
	if redirect == "" {
		given = false
		if len(c.RedirectURIs) == 1 {
			redirect = c.RedirectURIs[0]
		}
	}
	if !slices.Contains(c.RedirectURIs, redirect) {
		s.errorPage(w, http.StatusBadRequest, "The redirect_uri is not one configured for this client (scim.clients[].oauth.redirect_uris, matched exactly).")
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) { redirectError(w, r, redirect, state, s.opts.Issuer, code, desc) }
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && c.RequirePKCE:
		fail("invalid_request", "this client must use PKCE (code_challenge with S256)")
		return
	case challenge != "" && method != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case challenge != "" && (len(challenge) != 43 || !validVerifier(challenge)):
		fail("invalid_request", "code_challenge is not a base64url SHA-256")
		return
	}
	p := &pendingAuth{
		client: c, redirectURI: redirect, redirectGiven: given, state: state, challenge: challenge,
		scope: grantedScope(q.Get("scope"), true), csrf: randomString(24), exp: s.opts.Now().Add(pendingTTL),
	}
	id := randomString(24)
	s.mu.Lock()
	s.prune()
	if len(s.pending) >= maxPending {
		// Full (someone opening authorize pages in a loop): the oldest
		// request goes, so the operator's own can always be started.
		oldest := ""
		for k, q := range s.pending {
			if oldest == "" || q.exp.Before(s.pending[oldest].exp) {
				oldest = k
			}
		}
		delete(s.pending, oldest)
	}
	s.pending[id] = p
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: p.csrf, Path: AuthorizePath, HttpOnly: true,
		Secure: strings.HasPrefix(s.opts.Issuer, "https://"), SameSite: http.SameSiteStrictMode, MaxAge: int(pendingTTL / time.Second),
	})
	s.consentPage(w, http.StatusOK, id, p, "")
}

// prune drops expired requests and codes; s.mu held.
func (s *Server) prune() {
	now := s.opts.Now()
	for id, p := range s.pending {
		if now.After(p.exp) {
			delete(s.pending, id)
		}
	}
	for h, c := range s.codes {
		// A used code stays a while, so a replay can still revoke its chain.
		if now.After(c.exp.Add(10 * time.Minute)) {
			delete(s.codes, h)
		}
	}
}

// consent is POST /oauth/authorize: the operator's answer.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "Malformed form.")
		return
	}
	id := r.PostForm.Get("request")
	s.mu.Lock()
	p := s.pending[id]
	if p != nil && s.opts.Now().After(p.exp) {
		delete(s.pending, id)
		p = nil
	}
	s.mu.Unlock()
	cookie, _ := r.Cookie(csrfCookie)
	if p == nil || cookie == nil ||
		subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(p.csrf)) != 1 ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(p.csrf)) != 1 {
		s.errorPage(w, http.StatusForbidden, "This approval form is expired or was not opened in this browser. Start again from the identity provider.")
		return
	}
	if r.PostForm.Get("action") == "deny" {
		s.dropPending(id)
		redirectError(w, r, p.redirectURI, p.state, s.opts.Issuer, "access_denied", "the operator denied access")
		return
	}
	if !s.adminOK(r.PostForm.Get("admin_token")) {
		s.mu.Lock()
		p.tries++
		tries := p.tries
		s.mu.Unlock()
		s.logger(r).Warn().Str("client", p.client.Name).Msg("oauth consent: wrong admin token")
		if wait := s.reg.Fail(r, "", "consent_admin_token"); wait > 0 {
			w.Header().Set("Retry-After", auth.RetryAfter(wait))
			s.errorPage(w, http.StatusTooManyRequests, "Too many failed sign-ins from this address; try again in a minute.")
			return
		}
		if tries >= maxTries {
			s.dropPending(id)
			s.errorPage(w, http.StatusForbidden, "Too many wrong admin tokens. Start again from the identity provider.")
			return
		}
		s.consentPage(w, http.StatusUnauthorized, id, p, "Wrong admin token.")
		return
	}
	code := randomString(32)
	now := s.opts.Now()
	s.mu.Lock()
	delete(s.pending, id)
	s.prune()
	if len(s.codes) >= maxCodes {
		s.mu.Unlock()
		s.errorPage(w, http.StatusServiceUnavailable, "Too many authorization codes outstanding; try again in a minute.")
		return
	}
	s.codes[hashToken(code)] = &authCode{
		clientID: p.client.ClientID, redirectURI: p.redirectURI, redirectGiven: p.redirectGiven,
		challenge: p.challenge, scope: p.scope, exp: now.Add(codeTTL),
	}
	s.mu.Unlock()
	s.logger(r).Info().Str("client", p.client.Name).Msg("oauth consent given")
	v := url.Values{"code": {code}, "iss": {s.opts.Issuer}}
	if p.state != "" {
		v.Set("state", p.state)
	}
	http.Redirect(w, r, withQuery(p.redirectURI, v), http.StatusFound)
}

func (s *Server) dropPending(id string) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

func (s *Server) adminOK(got string) bool {
	if s.opts.AdminToken == "" || got == "" {
		return false
	}
	a, b := sha(got), sha(s.opts.AdminToken)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func withQuery(base string, v url.Values) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + v.Encode()
}

func redirectError(w http.ResponseWriter, r *http.Request, redirect, state, iss, code, desc string) {
	v := url.Values{"error": {code}, "error_description": {desc}, "iss": {iss}}
	if state != "" {
		v.Set("state", state)
	}
	http.Redirect(w, r, withQuery(redirect, v), http.StatusFound)
}

var pageTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>scimbridge: authorize {{.Client}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;background:#f5f6f8;color:#1d2330;margin:0}
main{max-width:28rem;margin:4rem auto;background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:2rem}
h1{font-size:1.25rem;margin-top:0} .err{color:#a40e26} label{display:block;margin:1rem 0 .25rem}
input[type=password]{width:100%;padding:.5rem;box-sizing:border-box} button{padding:.5rem 1rem;margin-right:.5rem}
code{word-break:break-all}
</style></head><body><main>
{{if .Message}}<h1>Authorization request refused</h1><p>{{.Message}}</p>{{else}}
<h1>Allow {{.Client}} to provision through scimbridge?</h1>
<p>The identity provider will receive tokens for <code>{{.Audience}}</code> and be sent back to <code>{{.Redirect}}</code>.</p>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}" autocomplete="off">
<input type="hidden" name="request" value="{{.Request}}"><input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="admin_token">scimbridge admin token</label>
<input type="password" id="admin_token" name="admin_token" autofocus>
<p><button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny">Deny</button></p>
</form>{{end}}
</main></body></html>
`))

type pageData struct {
	Client, Audience, Redirect, Action, Request, CSRF, Error, Message string
}

func (s *Server) consentPage(w http.ResponseWriter, status int, id string, p *pendingAuth, errMsg string) {
	origin := "'self'"
	if u, err := url.Parse(p.redirectURI); err == nil {
		origin += " " + u.Scheme + "://" + u.Host
	}
	s.page(w, status, origin, pageData{
		Client: p.client.Name, Audience: s.Audience(), Redirect: p.redirectURI, Action: AuthorizePath,
		Request: id, CSRF: p.csrf, Error: errMsg,
	})
}

func (s *Server) errorPage(w http.ResponseWriter, status int, msg string) {
	s.page(w, status, "'none'", pageData{Message: msg})
}

func (s *Server) page(w http.ResponseWriter, status int, formAction string, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// form-action also covers the redirect after the form, hence the
	// redirect URI's origin.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}
