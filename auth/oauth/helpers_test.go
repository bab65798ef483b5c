package oauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/internal/testkit"
)

const (
	gallerySecret  = "gallery-secret-one-0123456789"
	gallerySecret2 = "gallery-secret-two-9876543210"
	oktaSecret     = "okta-client-secret-abcdefghij"
	adminToken     = "admin-token-for-consent-0123"
	oktaRedirect   = "https://system-admin.okta.example/admin/app/cpc/scimbridge/oauth/callback"
)

func testClients() []auth.Client {
	return []auth.Client{
		{Name: "entra-gallery", OAuth: &auth.OAuth{ClientID: "gallery", ClientSecrets: []string{gallerySecret, gallerySecret2}, AccessTokenTTL: 10 * time.Minute}},
		{Name: "okta", OAuth: &auth.OAuth{ClientID: "okta", ClientSecrets: []string{oktaSecret}, RedirectURIs: []string{oktaRedirect}}},
		{Name: "okta-pkce", OAuth: &auth.OAuth{ClientID: "okta-pkce", ClientSecrets: []string{oktaSecret}, RedirectURIs: []string{oktaRedirect}, RequirePKCE: true}},
	}
}

// env is an authorization server and a SCIM stand-in behind the auth
// middleware, on loopback, with a settable clock and a log buffer.
type env struct {
	t    testing.TB
	ts   *httptest.Server
	reg  *auth.Registry
	srv  *Server
	dir  string
	mu   sync.Mutex
	now  time.Time
	cfg  auth.Config
	logs *testkit.LogBuffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), cfg: auth.Config{Clients: testClients()}, logs: &testkit.LogBuffer{}}
	var handler http.Handler
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := zerolog.New(e.logs)
		handler.ServeHTTP(w, r.WithContext(log.WithContext(r.Context())))
	}))
	t.Cleanup(e.ts.Close)
	e.start(e.ts.URL)
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", e.reg.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, auth.ClientFrom(r.Context()))
	})))
	mux.Handle("/", e.srv.Handler())
	handler = mux
	return e
}

func (e *env) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func (e *env) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

// start builds the registry and server for issuer over e.dir.
func (e *env) start(issuer string) {
	var err error
	log := zerolog.New(e.logs)
	e.reg, err = auth.NewRegistry(func() (auth.Config, error) { e.mu.Lock(); defer e.mu.Unlock(); return e.cfg, nil },
		auth.Options{AdminToken: adminToken, Log: log, Registerer: prometheus.NewRegistry(), Now: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv, err = New(e.reg, Options{Issuer: issuer, DataDir: e.dir, AdminToken: adminToken, Log: log, Now: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) setClients(c []auth.Client) {
	e.mu.Lock()
	e.cfg.Clients = c
	e.mu.Unlock()
	if err := e.reg.Reload(); err != nil {
		e.t.Fatal(err)
	}
}

// post sends a form to the token or revocation endpoint.
func (e *env) post(path string, form url.Values, basicID, basicSecret string) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out, res.Header
}

// token runs a grant and returns the answer, failing on another status.
func (e *env) token(form url.Values, id, secret string, want int) map[string]any {
	e.t.Helper()
	status, out, _ := e.post(TokenPath, form, id, secret)
	if status != want {
		e.t.Fatalf("token %v: %d %v, want %d", form.Get("grant_type"), status, out, want)
	}
	return out
}

// scim calls the SCIM stand-in with a bearer token; it answers the client name.
func (e *env) scim(token string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", e.ts.URL+"/scim/v2/Users", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusUnauthorized {
		var body map[string]any
		if json.Unmarshal(raw, &body) != nil || body["status"] != "401" || res.Header.Get("WWW-Authenticate") == "" {
			e.t.Errorf("401 without a SCIM body and challenge: %s", raw)
		}
	}
	return res.StatusCode, string(raw)
}
