package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/scimbridge/scimbridge/auth"
)

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name   string
		secret string
		style  oauth2.AuthStyle
	}{
		{"client_secret_basic", gallerySecret, oauth2.AuthStyleInHeader},
		{"client_secret_post", gallerySecret, oauth2.AuthStyleInParams},
		{"second secret", gallerySecret2, oauth2.AuthStyleInHeader},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cc := clientcredentials.Config{ClientID: "gallery", ClientSecret: tt.secret, TokenURL: e.ts.URL + TokenPath, AuthStyle: tt.style}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Expiry.IsZero() {
				t.Errorf("token %+v", tok)
			}
			if status, client := e.scim(tok.AccessToken); status != 200 || client != "entra-gallery" {
				t.Errorf("SCIM with the access token: %d %q", status, client)
			}
			var cl claims
			if _, _, err := jwt.NewParser().ParseUnverified(tok.AccessToken, &cl); err != nil {
				t.Fatal(err)
			}
			if cl.Audience[0] != e.ts.URL+"/scim/v2" || cl.Issuer != e.ts.URL || cl.Client != "entra-gallery" ||
				cl.ExpiresAt.Sub(cl.IssuedAt.Time) != 10*time.Minute {
				t.Errorf("claims %+v", cl)
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	e := newEnv(t)
	cc := url.Values{"grant_type": {"client_credentials"}}
	post := func(v url.Values) url.Values {
		out := url.Values{}
		for k, x := range v {
			out[k] = x
		}
		return out
	}
	tests := []struct {
		name        string
		form        url.Values
		id, secret  string // Basic
		contentType string
		status      int
		code        string
	}{
		{"wrong secret", cc, "gallery", "nope", "", 401, "invalid_client"},
		{"unknown client", cc, "who", gallerySecret, "", 401, "invalid_client"},
		{"no client authentication", cc, "", "", "", 401, "invalid_client"},
		{"secret of another client", cc, "gallery", oktaSecret, "", 401, "invalid_client"},
		{"basic and post together", func() url.Values { v := post(cc); v.Set("client_secret", gallerySecret); return v }(), "gallery", gallerySecret, "", 401, "invalid_client"},
		{"post wrong secret", func() url.Values { v := post(cc); v.Set("client_id", "gallery"); v.Set("client_secret", "x"); return v }(), "", "", "", 401, "invalid_client"},
		{"no grant_type", url.Values{}, "gallery", gallerySecret, "", 400, "invalid_request"},
		{"password grant", url.Values{"grant_type": {"password"}}, "gallery", gallerySecret, "", 400, "unsupported_grant_type"},
		{"duplicate parameter", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, "gallery", gallerySecret, "", 400, "invalid_request"},
		{"json body", cc, "gallery", gallerySecret, "application/json", 400, "invalid_request"},
		{"code without code", url.Values{"grant_type": {"authorization_code"}}, "okta", oktaSecret, "", 400, "invalid_request"},
		{"unknown code", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, "okta", oktaSecret, "", 400, "invalid_grant"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "okta", oktaSecret, "", 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.ts.URL+TokenPath, strings.NewReader(tt.form.Encode()))
			ct := tt.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			req.Header.Set("Content-Type", ct)
			if tt.id != "" {
				req.SetBasicAuth(tt.id, tt.secret)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out map[string]string
			_ = json.NewDecoder(res.Body).Decode(&out)
			if res.StatusCode != tt.status || out["error"] != tt.code || out["error_description"] == "" {
				t.Errorf("%d %v, want %d %s", res.StatusCode, out, tt.status, tt.code)
			}
			if tt.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
		})
	}
}

func ccToken(t *testing.T, e *env, secret string) string {
	t.Helper()
	out := e.token(url.Values{"grant_type": {"client_credentials"}}, "gallery", secret, 200)
	return out["access_token"].(string)
}

func TestAccessTokensRefused(t *testing.T) {
	e := newEnv(t)
	good := ccToken(t, e, gallerySecret)
	parts := strings.Split(good, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[5] == 'A' {
			b[5] = 'B'
		} else {
			b[5] = 'A'
		}
		return string(b)
	}
	var cl claims
	_, _, _ = jwt.NewParser().ParseUnverified(good, &cl)
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodNone, cl).SignedString(jwt.UnsafeAllowNoneSignatureType)

	// The same key, another audience: a server for another issuer over the same data directory.
	other := &env{t: t, dir: e.dir, now: e.now, cfg: e.cfg, logs: e.logs}
	other.start("https://elsewhere.example")
	c, fp, err := other.reg.AuthenticateOAuthClient(context.Background(), "gallery", gallerySecret)
	if err != nil {
		t.Fatal(err)
	}
	wrongAud, _, err := other.srv.issue(c, fp, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// Issued by this server, the same token would pass: only the audience differs.
	if sameAud, _, _ := e.srv.issue(c, fp, "", ""); func() int { s, _ := e.scim(sameAud); return s }() != 200 {
		t.Fatal("control token refused")
	}
	// The right issuer and key, only the audience wrong.
	resign := func(mod func(*claims)) string {
		c2 := cl
		mod(&c2)
		t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c2)
		t.Header["kid"], t.Header["typ"] = e.srv.keys.Load().kid, "at+jwt"
		s, err := t.SignedString(e.srv.keys.Load().active)
		if err != nil {
			panic(err)
		}
		return s
	}
	if status, _ := e.scim(resign(func(*claims) {})); status != 200 {
		t.Fatal("re-signed control token refused")
	}
	for name, tok := range map[string]string{
		"audience only wrong": resign(func(c *claims) { c.Audience = jwt.ClaimStrings{e.ts.URL + "/admin"} }),
		"other client name":   resign(func(c *claims) { c.Client = "okta" }),
		"no expiry":           resign(func(c *claims) { c.ExpiresAt = nil }),
		"tampered payload":    parts[0] + "." + flip(parts[1]) + "." + parts[2],
		"tampered signature":  parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"alg none":            forged,
		"wrong audience":      wrongAud,
		"not a JWT":           "a.b.c",
	} {
		if status, _ := e.scim(tok); status != 401 {
			t.Errorf("%s: %d, want 401", name, status)
		}
	}
	if status, _ := e.scim(good); status != 200 {
		t.Fatalf("good token: %d", status)
	}
	// Expired: the cached verdict expires with the token, too.
	e.advance(10*time.Minute + time.Second)
	if status, _ := e.scim(good); status != 401 {
		t.Errorf("expired: %d, want 401", status)
	}
}

func TestRotatedOutSecretAndRemovedClient(t *testing.T) {
	e := newEnv(t)
	one, two := ccToken(t, e, gallerySecret), ccToken(t, e, gallerySecret2)
	for _, tok := range []string{one, two} {
		if status, _ := e.scim(tok); status != 200 {
			t.Fatal(status)
		}
	}
	clients := testClients()
	clients[0].OAuth.ClientSecrets = []string{gallerySecret2} // secret one rotated out
	e.setClients(clients)
	if status, _ := e.scim(one); status != 401 {
		t.Errorf("token of a rotated-out secret: %d, want 401", status)
	}
	if status, _ := e.scim(two); status != 200 {
		t.Errorf("token of the remaining secret: %d, want 200", status)
	}
	e.token(url.Values{"grant_type": {"client_credentials"}}, "gallery", gallerySecret, 401)
	e.setClients(clients[1:]) // client removed
	if status, _ := e.scim(two); status != 401 {
		t.Errorf("token of a removed client: %d, want 401", status)
	}
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	old := ccToken(t, e, gallerySecret)
	info, err := os.Stat(filepath.Join(e.dir, KeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	kid, err := RotateKey(e.dir, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	fresh := ccToken(t, e, gallerySecret)
	var h struct{ Kid string }
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(fresh, ".")[0])
	_ = json.Unmarshal(raw, &h)
	if h.Kid != kid {
		t.Errorf("new tokens signed by %q, want the new key %q", h.Kid, kid)
	}
	e.reg.FlushCache()
	for name, tok := range map[string]string{"old key": old, "new key": fresh} {
		if status, _ := e.scim(tok); status != 200 {
			t.Errorf("%s: %d", name, status)
		}
	}
	// Once every token the old key signed has expired, the key is dropped.
	e.advance(auth.MaxAccessTokenTTL + 2*time.Minute)
	if err := e.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.keys.Load().public); n != 1 {
		t.Errorf("%d verification keys after the old key's tokens expired, want 1", n)
	}
}

// okta drives the authorization code grant the way Okta's OAuth 2 mode
// does: the admin's browser goes to /oauth/authorize, the operator
// consents, the browser is sent back to Okta with a code, and Okta's
// server exchanges it (client_secret_basic) and later refreshes.
type okta struct {
	e        *env
	browser  *http.Client
	clientID string
	verifier string
}

func newOkta(e *env, clientID string) *okta {
	jar, _ := cookiejar.New(nil)
	return &okta{e: e, clientID: clientID, browser: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var hidden = regexp.MustCompile(`name="(request|csrf)" value="([^"]*)"`)

// authorize opens the authorize URL and returns the consent page's status and fields.
func (o *okta) authorize(extra url.Values) (int, url.Values, *http.Response) {
	q := url.Values{"response_type": {"code"}, "client_id": {o.clientID}, "redirect_uri": {oktaRedirect}, "state": {"st-123"}, "scope": {"offline_access"}}
	for k, v := range extra {
		q[k] = v
	}
	res, err := o.browser.Get(o.e.ts.URL + AuthorizePath + "?" + q.Encode())
	if err != nil {
		o.e.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fields := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(string(body), -1) {
		fields.Set(m[1], html.UnescapeString(m[2]))
	}
	return res.StatusCode, fields, res
}

func (o *okta) consent(fields url.Values, admin, action string) *http.Response {
	f := url.Values{"request": {fields.Get("request")}, "csrf": {fields.Get("csrf")}, "admin_token": {admin}, "action": {action}}
	res, err := o.browser.PostForm(o.e.ts.URL+AuthorizePath, f)
	if err != nil {
		o.e.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// code runs authorize and consent and returns the code from the redirect.
func (o *okta) code(pkce bool) string {
	t := o.e.t
	t.Helper()
	extra := url.Values{}
	if pkce {
		o.verifier = oauth2.GenerateVerifier()
		extra.Set("code_challenge", oauth2.S256ChallengeFromVerifier(o.verifier))
		extra.Set("code_challenge_method", "S256")
	}
	status, fields, _ := o.authorize(extra)
	if status != 200 || fields.Get("request") == "" || fields.Get("csrf") == "" {
		t.Fatalf("consent page: %d %v", status, fields)
	}
	res := o.consent(fields, adminToken, "approve")
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), oktaRedirect+"?") {
		t.Fatalf("consent answer: %d %s", res.StatusCode, loc)
	}
	if loc.Query().Get("state") != "st-123" || loc.Query().Get("iss") != o.e.ts.URL {
		t.Errorf("redirect %s lacks state or iss", loc)
	}
	return loc.Query().Get("code")
}

func (o *okta) exchange(code string, want int) map[string]any {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oktaRedirect}}
	if o.verifier != "" {
		form.Set("code_verifier", o.verifier)
	}
	return o.e.token(form, o.clientID, oktaSecret, want)
}

func (o *okta) refresh(rt string, want int) map[string]any {
	return o.e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, o.clientID, oktaSecret, want)
}

func TestAuthorizationCodeFlow(t *testing.T) {
	e := newEnv(t)
	o := newOkta(e, "okta")
	first := o.exchange(o.code(true), 200)
	at, rt := first["access_token"].(string), first["refresh_token"].(string)
	if rt == "" || first["scope"] != "scim offline_access" {
		t.Fatalf("answer %v", first)
	}
	if status, client := e.scim(at); status != 200 || client != "okta" {
		t.Fatalf("SCIM with the code grant's token: %d %q", status, client)
	}
	second := o.refresh(rt, 200)
	rt2 := second["refresh_token"].(string)
	if rt2 == rt || second["access_token"] == at {
		t.Fatal("refresh did not rotate")
	}
	// Okta lost the answer and retries within the grace window: the same pair.
	e.advance(30 * time.Second)
	if again := o.refresh(rt, 200); again["refresh_token"] != rt2 || again["access_token"] != second["access_token"] {
		t.Errorf("retry within the grace window got another pair")
	}
	third := o.refresh(rt2, 200)
	rt3, at3 := third["refresh_token"].(string), third["access_token"].(string)
	if status, _ := e.scim(at3); status != 200 {
		t.Fatal(status)
	}
	// A rotated-out token presented after the window: someone else has
	// it. The whole chain is revoked, access tokens included.
	e.advance(61 * time.Second)
	if out := o.refresh(rt2, 400); out["error"] != "invalid_grant" {
		t.Errorf("reuse: %v", out)
	}
	if out := o.refresh(rt3, 400); out["error"] != "invalid_grant" {
		t.Errorf("current token after reuse: %v", out)
	}
	if status, _ := e.scim(at3); status != 401 {
		t.Errorf("access token of a revoked chain: %d, want 401", status)
	}
	// The grant file holds hashes, never the tokens.
	data, _ := os.ReadFile(filepath.Join(e.dir, GrantFile))
	for _, tok := range []string{rt, rt2, rt3} {
		if strings.Contains(string(data), tok) {
			t.Error("grant file holds a refresh token")
		}
	}
}

func TestAuthorizationCodeChecks(t *testing.T) {
	e := newEnv(t)
	t.Run("code used twice revokes its tokens", func(t *testing.T) {
		o := newOkta(e, "okta")
		code := o.code(false)
		out := o.exchange(code, 200)
		o.exchange(code, 400)
		if status, _ := e.scim(out["access_token"].(string)); status != 401 {
			t.Errorf("access token from a replayed code: %d", status)
		}
		o.refresh(out["refresh_token"].(string), 400)
	})
	t.Run("wrong verifier", func(t *testing.T) {
		o := newOkta(e, "okta")
		code := o.code(true)
		o.verifier = oauth2.GenerateVerifier()
		o.exchange(code, 400)
	})
	t.Run("missing verifier", func(t *testing.T) {
		o := newOkta(e, "okta")
		code := o.code(true)
		o.verifier = ""
		o.exchange(code, 400)
	})
	t.Run("other redirect_uri at the token endpoint", func(t *testing.T) {
		o := newOkta(e, "okta")
		code := o.code(false)
		e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oktaRedirect + "x"}}, "okta", oktaSecret, 400)
	})
	t.Run("code of another client", func(t *testing.T) {
		o := newOkta(e, "okta")
		code := o.code(false)
		e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oktaRedirect}}, "okta-pkce", oktaSecret, 400)
	})
	t.Run("expired code", func(t *testing.T) {
		o := newOkta(e, "okta")
		code := o.code(false)
		e.advance(2 * time.Minute)
		o.exchange(code, 400)
	})
}

func TestAuthorizeRefusals(t *testing.T) {
	e := newEnv(t)
	o := newOkta(e, "okta")
	// Never redirected: unknown client or a redirect_uri not configured.
	for name, extra := range map[string]url.Values{
		"unknown client":           {"client_id": {"nobody"}},
		"client without redirects": {"client_id": {"gallery"}},
		"other host":               {"redirect_uri": {"https://evil.example/cb"}},
		"longer path":              {"redirect_uri": {oktaRedirect + "/../x"}},
		"extra query":              {"redirect_uri": {oktaRedirect + "?next=https://evil.example"}},
		"repeated parameter":       {"state": {"a", "b"}},
	} {
		status, _, res := o.authorize(extra)
		if status != 400 || res.Header.Get("Location") != "" {
			t.Errorf("%s: %d Location %q, want 400 and no redirect", name, status, res.Header.Get("Location"))
		}
	}
	// Redirected back with an error once the redirect_uri is known good.
	for name, tt := range map[string]struct {
		client string
		extra  url.Values
		code   string
	}{
		"implicit grant":      {"okta", url.Values{"response_type": {"token"}}, "unsupported_response_type"},
		"PKCE required":       {"okta-pkce", nil, "invalid_request"},
		"plain PKCE":          {"okta", url.Values{"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"plain"}}, "invalid_request"},
		"malformed challenge": {"okta", url.Values{"code_challenge": {"short"}, "code_challenge_method": {"S256"}}, "invalid_request"},
	} {
		oo := newOkta(e, tt.client)
		status, _, res := oo.authorize(tt.extra)
		loc, _ := url.Parse(res.Header.Get("Location"))
		if status != http.StatusFound || loc.Query().Get("error") != tt.code || loc.Query().Get("state") != "st-123" || !strings.HasPrefix(loc.String(), oktaRedirect) {
			t.Errorf("%s: %d %s, want a redirect with error=%s", name, status, loc, tt.code)
		}
	}
	t.Run("consent", func(t *testing.T) {
		_, fields, res := o.authorize(nil)
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
		if r := o.consent(fields, "wrong-admin-token", "approve"); r.StatusCode != 401 || r.Header.Get("Location") != "" {
			t.Errorf("wrong admin token: %d", r.StatusCode)
		}
		// Another browser (no CSRF cookie) cannot post the form.
		stranger := newOkta(e, "okta")
		if r := stranger.consent(fields, adminToken, "approve"); r.StatusCode != 403 {
			t.Errorf("without the CSRF cookie: %d, want 403", r.StatusCode)
		}
		bad := url.Values{"request": fields["request"], "csrf": {"forged"}}
		if r := o.consent(bad, adminToken, "approve"); r.StatusCode != 403 {
			t.Errorf("forged csrf field: %d, want 403", r.StatusCode)
		}
		r := o.consent(fields, "", "deny")
		loc, _ := url.Parse(r.Header.Get("Location"))
		if r.StatusCode != 302 || loc.Query().Get("error") != "access_denied" {
			t.Errorf("deny: %d %s", r.StatusCode, loc)
		}
		if r := o.consent(fields, adminToken, "approve"); r.StatusCode != 403 {
			t.Errorf("form used after deny: %d", r.StatusCode)
		}
	})
}

func TestRevoke(t *testing.T) {
	e := newEnv(t)
	o := newOkta(e, "okta")
	out := o.exchange(o.code(false), 200)
	at, rt := out["access_token"].(string), out["refresh_token"].(string)
	if status, _ := e.scim(at); status != 200 {
		t.Fatal(status)
	}
	// Another client cannot revoke it.
	if status, _, _ := e.post(RevokePath, url.Values{"token": {rt}}, "gallery", gallerySecret); status != 200 {
		t.Fatal(status)
	}
	o.refresh(rt, 200)
	out = o.refresh(rt, 200) // within grace: same pair
	rt2 := out["refresh_token"].(string)
	if status, _, _ := e.post(RevokePath, url.Values{"token": {rt2}, "token_type_hint": {"refresh_token"}}, "okta", oktaSecret); status != 200 {
		t.Fatal(status)
	}
	o.refresh(rt2, 400)
	if status, _ := e.scim(out["access_token"].(string)); status != 401 {
		t.Errorf("access token after its refresh token was revoked: %d", status)
	}
	// An access token alone.
	cc := ccToken(t, e, gallerySecret)
	if status, _ := e.scim(cc); status != 200 {
		t.Fatal(status)
	}
	if status, _, _ := e.post(RevokePath, url.Values{"token": {cc}}, "gallery", gallerySecret); status != 200 {
		t.Fatal(status)
	}
	if status, _ := e.scim(cc); status != 401 {
		t.Errorf("revoked access token: %d", status)
	}
	if status, _, _ := e.post(RevokePath, url.Values{"token": {"unknown"}}, "gallery", gallerySecret); status != 200 {
		t.Errorf("unknown token: %d, want 200 (RFC 7009 §2.2)", status)
	}
	if status, out, _ := e.post(RevokePath, url.Values{"token": {"x"}}, "gallery", "wrong"); status != 401 || out["error"] != "invalid_client" {
		t.Errorf("revoke with a wrong secret: %d %v", status, out)
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	res, err := http.Get(e.ts.URL + MetadataPath)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var md map[string]any
	if err := json.NewDecoder(res.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	if md["issuer"] != e.ts.URL || md["token_endpoint"] != e.ts.URL+TokenPath || md["authorization_endpoint"] != e.ts.URL+AuthorizePath ||
		md["revocation_endpoint"] != e.ts.URL+RevokePath {
		t.Errorf("metadata %v", md)
	}
}

func TestNoSecretsInLogsOrErrors(t *testing.T) {
	e := newEnv(t)
	o := newOkta(e, "okta")
	out := o.exchange(o.code(true), 200)
	rt := out["refresh_token"].(string)
	o.refresh(rt, 200)
	e.advance(2 * time.Minute)
	errAnswer := o.refresh(rt, 400)
	cc := ccToken(t, e, gallerySecret)
	_, _ = e.scim(cc)
	_, _ = e.scim(cc + "x")
	_, wrong, _ := e.post(TokenPath, url.Values{"grant_type": {"client_credentials"}}, "gallery", "guess-"+gallerySecret)
	logs := e.logs.String()
	if !strings.Contains(logs, "oauth access token issued") {
		t.Fatalf("logs lack the issue line:\n%s", logs)
	}
	answers, _ := json.Marshal([]any{errAnswer, wrong})
	for _, s := range []string{gallerySecret, oktaSecret, adminToken, cc, rt, out["access_token"].(string), o.verifier, "guess-" + gallerySecret} {
		if strings.Contains(logs, s) || strings.Contains(string(answers), s) {
			t.Errorf("a secret or token appears in a log line or error answer: %.12s…", s)
		}
	}
}

func TestTokenEndpointThrottle(t *testing.T) {
	e := newEnv(t)
	cc := url.Values{"grant_type": {"client_credentials"}}
	for i := 0; i < 20; i++ {
		e.token(cc, "gallery", "guess-"+itoa(i), 401)
	}
	status, out, h := e.post(TokenPath, cc, "gallery", "guess-21")
	if status != 429 || out["error"] != "slow_down" || h.Get("Retry-After") == "" {
		t.Errorf("21st failure: %d %v Retry-After %q", status, out, h.Get("Retry-After"))
	}
	// The right secret is never refused.
	e.token(cc, "gallery", gallerySecret, 200)
	e.advance(time.Minute)
	e.token(cc, "gallery", "guess-again", 401)
}

func itoa(i int) string { return string(rune('a'+i%26)) + string(rune('a'+i/26)) }

// Unauthenticated authorize requests cannot crowd out the operator's.
func TestPendingRequestsBounded(t *testing.T) {
	e := newEnv(t)
	flood := newOkta(e, "okta")
	for i := 0; i < maxPending+10; i++ {
		if status, _, _ := flood.authorize(nil); status != 200 {
			t.Fatalf("authorize %d: %d", i, status)
		}
		e.advance(time.Millisecond)
	}
	e.srv.mu.Lock()
	n := len(e.srv.pending)
	e.srv.mu.Unlock()
	if n != maxPending {
		t.Errorf("%d pending requests, want at most %d", n, maxPending)
	}
	o := newOkta(e, "okta")
	if code := o.code(false); code == "" {
		t.Fatal("the operator's request did not complete")
	}
}
