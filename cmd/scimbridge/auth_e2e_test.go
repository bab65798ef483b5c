package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/store"
)

// Secrets of the auth end-to-end test; none may appear in a log line.
var authSecrets = map[string]string{
	"OKTA_SCIM_PASSWORD":  "okta-basic-pässword-0123",
	"ENTRA_SCIM_TOKEN":    "entra-secret-token-4567",
	"ENTRA_CLIENT_SECRET": "entra-client-secret-89ab",
	"OKTA_CLIENT_SECRET":  "okta-client-secret-cdef",
	"LEGACY_TOKEN":        "legacy-scim-token-0000",
	// replaces ENTRA_CLIENT_SECRET in the rotation test
	"ENTRA_CLIENT_SECRET_NEXT": "entra-client-secret-next-0042",
}

const (
	authAdminToken  = "admin-token-e2e-auth-1234"
	oktaHeaderToken = "okta-header-token-aaaa"
	oktaHeaderNext  = "okta-header-token-bbbb"
	auditLiteral    = "audit-literal-token-cccc"
	oktaCallback    = "https://system-admin.okta.example/admin/app/cpc/scimbridge/oauth/callback"
)

type authBridge struct {
	t       testing.TB
	ts      *httptest.Server
	app     *app
	logs    *testkit.LogBuffer
	reg     *prometheus.Registry
	yaml    string
	dir     string
	lookup  func(string) (string, bool)
	secrets []string // tokens seen during the test, checked against the logs at the end
	mu      sync.Mutex
}

// newAuthBridge serves the whole router (access log, metrics, SCIM,
// OAuth, admin) on loopback with one client of each kind.
func newAuthBridge(t testing.TB) *authBridge {
	t.Helper()
	b := &authBridge{t: t, logs: &testkit.LogBuffer{}, reg: prometheus.NewRegistry(), dir: t.TempDir()}
	var handler http.Handler
	b.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(b.ts.Close)
	headerFile := filepath.Join(b.dir, "okta-header")
	if err := os.WriteFile(headerFile, []byte(oktaHeaderToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	oktaHash, err := auth.HashSecret(authSecrets["OKTA_CLIENT_SECRET"])
	if err != nil {
		t.Fatal(err)
	}
	b.yaml = `external_url: ` + b.ts.URL + `
data_dir: ` + b.dir + `
tokens: ["${LEGACY_TOKEN}"]
scim:
  clients:
    - name: okta-basic
      basic: {username: okta-provisioning, password: "${OKTA_SCIM_PASSWORD}"}
    - name: okta-header
      bearer: ["${file:` + headerFile + `}"]
    - name: entra
      bearer: ["${ENTRA_SCIM_TOKEN}"]
    - name: entra-gallery
      oauth: {client_id: entra, client_secrets: ["${ENTRA_CLIENT_SECRET}"], access_token_ttl: 5m}
    - name: okta-oauth
      oauth:
        client_id: okta
        client_secrets: ["` + oktaHash + `"]
        redirect_uris: [` + oktaCallback + `]
    - name: audit
      bearer: [` + auditLiteral + `]
      read_only: true
`
	b.lookup = func(k string) (string, bool) { v, ok := authSecrets[k]; return v, ok }
	cfg, err := config.Parse([]byte(b.yaml), b.lookup)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(b.dir, "scimbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(b.logs)
	b.app, err = buildApp(cfg, db, cfg.Tokens, authAdminToken, b.reg, log)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	b.app.reloadConfig = func() (*config.Config, error) {
		b.mu.Lock()
		yaml := b.yaml
		b.mu.Unlock()
		return config.Parse([]byte(yaml), b.lookup)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.app.start(ctx)
	handler = newRouter(log, b.reg, b.app, "")
	t.Cleanup(func() {
		cancel()
		_ = b.app.shutdown(context.Background())
		b.app.close()
		db.Close()
	})
	return b
}

// do sends a SCIM request with the given Authorization header value.
func (b *authBridge) do(method, path, authz, body string) (int, map[string]any) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.ts.URL+"/scim/v2"+path, strings.NewReader(body))
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if res.StatusCode == 401 && (out["status"] != "401" || res.Header.Get("WWW-Authenticate") == "") {
		b.t.Errorf("401 without a SCIM body or challenge: %s", raw)
	}
	return res.StatusCode, out
}

func userJSON(name string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name + `","active":true,"emails":[{"value":"` + name + `","primary":true}]}`
}

// provision creates a user and reads it back with authz.
func (b *authBridge) provision(authz, userName string) {
	b.t.Helper()
	status, out := b.do("POST", "/Users", authz, userJSON(userName))
	if status != 201 {
		b.t.Fatalf("create %s: %d %v", userName, status, out)
	}
	if status, _ := b.do("GET", "/Users/"+out["id"].(string), authz, ""); status != 200 {
		b.t.Fatalf("read %s back: %d", userName, status)
	}
}

func (b *authBridge) seen(tokens ...string) {
	b.mu.Lock()
	b.secrets = append(b.secrets, tokens...)
	b.mu.Unlock()
}

func basicHeader(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func TestAuthEndToEnd(t *testing.T) {
	b := newAuthBridge(t)

	t.Run("Entra OAuth client credentials", func(t *testing.T) {
		cc := clientcredentials.Config{ClientID: "entra", ClientSecret: authSecrets["ENTRA_CLIENT_SECRET"], TokenURL: b.ts.URL + "/oauth/token"}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b.seen(tok.AccessToken)
		b.provision("Bearer "+tok.AccessToken, "gallery@example.com")
		// The x/oauth2 client as an IdP would use it.
		res, err := cc.Client(context.Background()).Get(b.ts.URL + "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "gallery@example.com"`))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("list through the oauth2 client: %v %v", res, err)
		}
		res.Body.Close()
	})

	t.Run("Okta OAuth 2 (authorization code)", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		oc := oauth2.Config{ClientID: "okta", ClientSecret: authSecrets["OKTA_CLIENT_SECRET"], RedirectURL: oktaCallback,
			Scopes: []string{"offline_access"}, Endpoint: oauth2.Endpoint{AuthURL: b.ts.URL + "/oauth/authorize", TokenURL: b.ts.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
		verifier := oauth2.GenerateVerifier()
		res, err := browser.Get(oc.AuthCodeURL("okta-state", oauth2.S256ChallengeOption(verifier)))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(page), "okta-oauth") {
			t.Fatalf("consent page: %d %s", res.StatusCode, page)
		}
		form := url.Values{"admin_token": {authAdminToken}, "action": {"approve"}}
		for _, m := range regexp.MustCompile(`name="(request|csrf)" value="([^"]*)"`).FindAllStringSubmatch(string(page), -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		res, err = browser.PostForm(b.ts.URL+"/oauth/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != 302 || loc.Query().Get("state") != "okta-state" || !strings.HasPrefix(loc.String(), oktaCallback) {
			t.Fatalf("consent: %d %s", res.StatusCode, loc)
		}
		tok, err := oc.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		b.seen(tok.AccessToken, tok.RefreshToken, verifier)
		b.provision("Bearer "+tok.AccessToken, "okta-oauth@example.com")
		refresh := func(rt string) (*oauth2.Token, error) {
			return oc.TokenSource(context.Background(), &oauth2.Token{RefreshToken: rt}).Token()
		}
		next, err := refresh(tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		b.seen(next.AccessToken, next.RefreshToken)
		if status, _ := b.do("GET", "/Users", "Bearer "+next.AccessToken, ""); status != 200 {
			t.Fatalf("refreshed token: %d", status)
		}
		// Within the grace window a retry gets the same pair (tested with a
		// clock in auth/oauth); here the chain is revoked by revocation.
		revoke := url.Values{"token": {next.RefreshToken}}
		req, _ := http.NewRequest("POST", b.ts.URL+"/oauth/revoke", strings.NewReader(revoke.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("okta", authSecrets["OKTA_CLIENT_SECRET"])
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
			t.Fatalf("revoke: %v %v", res, err)
		}
		if _, err := refresh(next.RefreshToken); err == nil {
			t.Error("revoked refresh token still works")
		}
		if status, _ := b.do("GET", "/Users", "Bearer "+next.AccessToken, ""); status != 401 {
			t.Errorf("access token of a revoked chain: %d, want 401", status)
		}
	})

	t.Run("Okta Basic", func(t *testing.T) {
		b.provision(basicHeader("okta-provisioning", authSecrets["OKTA_SCIM_PASSWORD"]), "basic@example.com")
		if status, _ := b.do("GET", "/Users", basicHeader("okta-provisioning", "wrong"), ""); status != 401 {
			t.Errorf("wrong password: %d", status)
		}
	})

	t.Run("Okta Header Auth (raw token) and Entra secret token", func(t *testing.T) {
		b.provision(oktaHeaderToken, "header@example.com")
		b.provision("Bearer "+authSecrets["ENTRA_SCIM_TOKEN"], "entra@example.com")
		b.provision("Bearer "+authSecrets["LEGACY_TOKEN"], "legacy@example.com")
	})

	t.Run("read-only client", func(t *testing.T) {
		if status, _ := b.do("GET", "/Users", "Bearer "+auditLiteral, ""); status != 200 {
			t.Errorf("GET: %d", status)
		}
		if status, _ := b.do("POST", "/Users/.search", "Bearer "+auditLiteral, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}`); status != 200 {
			t.Errorf(".search: %d", status)
		}
		for _, w := range []struct{ method, path, body string }{
			{"POST", "/Users", userJSON("ro@example.com")},
			{"POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","path":"/Users","bulkId":"a","data":` + userJSON("bulk@example.com") + `}]}`},
			{"DELETE", "/Users/anything", ""},
		} {
			status, out := b.do(w.method, w.path, "Bearer "+auditLiteral, w.body)
			if status != 403 || out["status"] != "403" {
				t.Errorf("%s %s: %d %v, want a 403 SCIM error", w.method, w.path, status, out)
			}
		}
		if status, out := b.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "ro@example.com"`), "Bearer "+auditLiteral, ""); status != 200 || out["totalResults"] != float64(0) {
			t.Errorf("the refused write happened: %v", out)
		}
	})

	t.Run("ServiceProviderConfig lists what is configured", func(t *testing.T) {
		_, out := b.do("GET", "/ServiceProviderConfig", "Bearer "+auditLiteral, "")
		var types []string
		for _, s := range out["authenticationSchemes"].([]any) {
			types = append(types, s.(map[string]any)["type"].(string))
		}
		if strings.Join(types, ",") != "oauthbearertoken,httpbasic,oauth2" {
			t.Errorf("authenticationSchemes %v", types)
		}
	})

	t.Run("rotation by reload", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(b.dir, "okta-header"), []byte(oktaHeaderNext+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cc := clientcredentials.Config{ClientID: "entra", ClientSecret: authSecrets["ENTRA_CLIENT_SECRET"], TokenURL: b.ts.URL + "/oauth/token"}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b.seen(tok.AccessToken)
		if status, _ := b.do("GET", "/Users", "Bearer "+tok.AccessToken, ""); status != 200 {
			t.Fatal(status)
		}
		b.mu.Lock()
		b.yaml = strings.Replace(b.yaml, `client_secrets: ["${ENTRA_CLIENT_SECRET}"]`, `client_secrets: ["${ENTRA_CLIENT_SECRET_NEXT}"]`, 1)
		b.mu.Unlock()
		req, _ := http.NewRequest("POST", b.ts.URL+"/admin/reload", nil)
		req.Header.Set("Authorization", "Bearer "+authAdminToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			body, _ := io.ReadAll(res.Body)
			t.Fatalf("POST /admin/reload: %v %s", err, body)
		}
		res.Body.Close()
		for name, h := range map[string]string{"old header token": oktaHeaderToken, "token of the rotated-out secret": "Bearer " + tok.AccessToken} {
			if status, _ := b.do("GET", "/Users", h, ""); status != 401 {
				t.Errorf("%s after reload: %d, want 401", name, status)
			}
		}
		if status, _ := b.do("GET", "/Users", oktaHeaderNext, ""); status != 200 {
			t.Errorf("new header token: %d", status)
		}
		if _, err := cc.Token(context.Background()); err == nil {
			t.Error("rotated-out client secret still gets tokens")
		}
		// The SCIM credential never opens /admin, nor the admin token /scim.
		req, _ = http.NewRequest("GET", b.ts.URL+"/admin/status", nil)
		req.Header.Set("Authorization", "Bearer "+authSecrets["ENTRA_SCIM_TOKEN"])
		if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
			t.Errorf("SCIM token on /admin: %d", res.StatusCode)
		}
		if status, _ := b.do("GET", "/Users", "Bearer "+authAdminToken, ""); status != 401 {
			t.Errorf("admin token on /scim: %d", status)
		}
	})

	t.Run("client in access log and metrics", func(t *testing.T) {
		logs := b.logs.String()
		for _, c := range []string{"okta-basic", "okta-header", "entra", "entra-gallery", "okta-oauth", "audit", "tokens"} {
			if !strings.Contains(logs, `"client":"`+c+`","message":"request"`) {
				t.Errorf("no access log line for client %s", c)
			}
		}
		for _, c := range []string{"okta-basic", "entra-gallery", "none"} {
			if requestsOf(b.reg, c) == 0 {
				t.Errorf("no request counted with client=%q", c)
			}
		}
		if !strings.Contains(logs, `"key":"scim.clients[audit].bearer[0]"`) {
			t.Error("no warning naming the literal secret's key")
		}
	})

	t.Run("no secret in any log line", func(t *testing.T) {
		logs := b.logs.String()
		all := append([]string{authAdminToken, oktaHeaderToken, oktaHeaderNext, auditLiteral}, b.secrets...)
		for _, v := range authSecrets {
			all = append(all, v)
		}
		for _, s := range all {
			if strings.Contains(logs, s) {
				t.Errorf("the log holds a secret (%.8s…)", s)
			}
		}
	})
}

// requestsOf adds up scimbridge_http_requests_total for one client.
func requestsOf(reg *prometheus.Registry, client string) float64 {
	fams, _ := reg.Gather()
	total := 0.0
	for _, f := range fams {
		if f.GetName() != "scimbridge_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "client" && l.GetValue() == client {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}
