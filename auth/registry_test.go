package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"
)

const (
	bearerTok  = "entra-token-0123456789"
	bearerNext = "entra-token-next-9876543210"
	auditTok   = "audit-token-abcdefghij"
	oktaUser   = "okta-provisioning"
	oktaPass   = "pässwörd:with colon"
	adminTok   = "admin-token-zyxwvutsrq"
	legacyTok  = "legacy-token-0000000000"
)

// fixture is a registry over a mutable configuration, a fake clock and a
// log buffer.
type fixture struct {
	t   *testing.T
	reg *Registry
	mu  sync.Mutex
	cfg Config
	now time.Time
	log *bytes.Buffer
	h   http.Handler
}

func newFixture(t *testing.T, cfg Config, opts Options) *fixture {
	t.Helper()
	f := &fixture{t: t, cfg: cfg, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), log: &bytes.Buffer{}}
	opts.Now = func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	opts.Log = zerolog.New(f.log)
	if opts.AdminToken == "" {
		opts.AdminToken = adminTok
	}
	opts.Registerer = prometheus.NewRegistry()
	var err error
	f.reg, err = NewRegistry(func() (Config, error) { f.mu.Lock(); defer f.mu.Unlock(); return f.cfg, nil }, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.h = f.reg.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("client=" + ClientFrom(r.Context())))
	}))
	return f
}

func (f *fixture) advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

func (f *fixture) do(method, path, authz, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if remote != "" {
		req.RemoteAddr = remote
	}
	req = req.WithContext(f.log2ctx(req.Context()))
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) log2ctx(ctx context.Context) context.Context {
	l := zerolog.New(f.log)
	return l.WithContext(ctx)
}

func basicCfg() Config {
	return Config{
		Tokens: []string{legacyTok},
		Clients: []Client{
			{Name: "okta", Basic: &Basic{Username: oktaUser, Password: oktaPass}},
			{Name: "entra", Bearer: []string{bearerTok, bearerNext}},
			{Name: "audit", Bearer: []string{auditTok}, ReadOnly: true},
		},
	}
}

func TestSchemes(t *testing.T) {
	f := newFixture(t, basicCfg(), Options{})
	tests := []struct {
		name, header string
		status       int
		client       string
	}{
		{"bearer", "Bearer " + bearerTok, 200, "entra"},
		{"second bearer (rotation)", "Bearer " + bearerNext, 200, "entra"},
		{"bearer lower-case scheme", "bearer " + bearerTok, 200, "entra"},
		{"raw header (Okta Header Auth)", bearerTok, 200, "entra"},
		{"basic", "Basic " + b64(oktaUser+":"+oktaPass), 200, "okta"},
		{"legacy tokens", "Bearer " + legacyTok, 200, LegacyClient},
		{"basic wrong password", "Basic " + b64(oktaUser+":nope"), 401, ""},
		{"basic unknown user", "Basic " + b64("who:"+oktaPass), 401, ""},
		{"basic password as bearer", "Bearer " + b64(oktaUser+":"+oktaPass), 401, ""},
		{"bearer as basic password", "Basic " + b64(oktaUser+":"+bearerTok), 401, ""},
		{"wrong bearer", "Bearer nope-nope-nope", 401, ""},
		{"prefix of a token", "Bearer " + bearerTok[:10], 401, ""},
		{"admin token is no SCIM credential", "Bearer " + adminTok, 401, ""},
		{"missing", "", 401, ""},
		{"unknown scheme", "Digest x=y", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.do("GET", "/scim/v2/Users", tt.header, "192.0.2.1:1234")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 {
				if got := rec.Body.String(); got != "client="+tt.client {
					t.Errorf("body %q, want client=%s", got, tt.client)
				}
				return
			}
			assertSCIMError(t, rec, 401)
			got := rec.Header().Values("WWW-Authenticate")
			want := []string{`Bearer realm="scimbridge"`, `Basic realm="scimbridge", charset="UTF-8"`}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("WWW-Authenticate %q, want %q", got, want)
			}
		})
	}
}

func assertSCIMError(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	var body struct {
		Schemas []string
		Status  string
		Detail  string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if len(body.Schemas) != 1 || body.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || body.Status != http.StatusText(status)[:0]+itoa(status) || body.Detail == "" {
		t.Errorf("not a SCIM error body for %d: %s", status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/scim+json" {
		t.Errorf("content type %q", ct)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestChallengesFollowConfiguration(t *testing.T) {
	f := newFixture(t, Config{Clients: []Client{{Name: "okta", Basic: &Basic{Username: "u", Password: "p"}}}}, Options{})
	rec := f.do("GET", "/scim/v2/Users", "", "")
	if got := rec.Header().Values("WWW-Authenticate"); len(got) != 1 || !strings.HasPrefix(got[0], "Basic ") {
		t.Errorf("Basic only: WWW-Authenticate %q", got)
	}
	schemes := f.reg.Schemes("")
	if len(schemes) != 1 || schemes[0]["type"] != "httpbasic" || schemes[0]["primary"] != true {
		t.Errorf("Schemes = %v", schemes)
	}
	f.cfg = basicCfg()
	f.cfg.Clients = append(f.cfg.Clients, Client{Name: "gallery", OAuth: &OAuth{ClientID: "g", ClientSecrets: []string{"s"}}})
	if err := f.reg.Reload(); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, s := range f.reg.Schemes("https://x/.well-known/oauth-authorization-server") {
		types = append(types, s["type"].(string))
	}
	if strings.Join(types, ",") != "oauthbearertoken,httpbasic,oauth2" {
		t.Errorf("types %v", types)
	}
}

func TestReadOnly(t *testing.T) {
	f := newFixture(t, basicCfg(), Options{})
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/scim/v2/Users", 200},
		{"GET", "/scim/v2/Users/abc", 200},
		{"HEAD", "/scim/v2/Users", 200},
		{"POST", "/scim/v2/Users/.search", 200},
		{"POST", "/scim/v2/.search", 200},
		{"POST", "/scim/v2/Users", 403},
		{"PUT", "/scim/v2/Users/abc", 403},
		{"PATCH", "/scim/v2/Groups/abc", 403},
		{"DELETE", "/scim/v2/Users/abc", 403},
		{"POST", "/scim/v2/Bulk", 403},
		{"POST", "/scim/v2/Users/.searchx", 403},
	}
	for _, tt := range tests {
		rec := f.do(tt.method, tt.path, "Bearer "+auditTok, "")
		if rec.Code != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
		if tt.status == 403 {
			assertSCIMError(t, rec, 403)
		}
		// A writable client may write.
		if rec := f.do(tt.method, tt.path, "Bearer "+bearerTok, ""); rec.Code != 200 {
			t.Errorf("entra %s %s: %d", tt.method, tt.path, rec.Code)
		}
	}
}

func TestHashedSecretsAreCached(t *testing.T) {
	argon, err := cheapHash(oktaPass)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte(bearerTok), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Clients: []Client{
		{Name: "okta", Basic: &Basic{Username: oktaUser, Password: argon}},
		{Name: "entra", Bearer: []string{string(bc)}},
	}}
	f := newFixture(t, cfg, Options{})
	basic := "Basic " + b64(oktaUser+":"+oktaPass)
	for i := 0; i < 3; i++ {
		if rec := f.do("GET", "/", basic, ""); rec.Code != 200 || rec.Body.String() != "client=okta" {
			t.Fatalf("argon2id basic: %d %s", rec.Code, rec.Body)
		}
		if rec := f.do("GET", "/", "Bearer "+bearerTok, ""); rec.Code != 200 || rec.Body.String() != "client=entra" {
			t.Fatalf("bcrypt bearer: %d %s", rec.Code, rec.Body)
		}
	}
	if n := testutil.ToFloat64(f.reg.metrics.hashes); n != 2 {
		t.Errorf("%v hash verifications for 3 rounds of 2 credentials, want 2 (the rest from the cache)", n)
	}
	// The same wrong password twice costs one verification.
	for i := 0; i < 2; i++ {
		if rec := f.do("GET", "/", "Basic "+b64(oktaUser+":wrong"), ""); rec.Code != 401 {
			t.Fatalf("wrong password: %d", rec.Code)
		}
	}
	if n := testutil.ToFloat64(f.reg.metrics.hashes); n != 3 {
		t.Errorf("%v hash verifications, want 3", n)
	}
	// A reload forgets the cache: the password is verified again.
	if err := f.reg.Reload(); err != nil {
		t.Fatal(err)
	}
	f.do("GET", "/", basic, "")
	if n := testutil.ToFloat64(f.reg.metrics.hashes); n != 4 {
		t.Errorf("%v hash verifications after reload, want 4", n)
	}
}

func TestHashingIsBounded(t *testing.T) {
	argon, _ := cheapHash(oktaPass)
	f := newFixture(t, Config{Clients: []Client{{Name: "okta", Basic: &Basic{Username: oktaUser, Password: argon}}}},
		Options{MaxHashing: 1, HashWait: 20 * time.Millisecond})
	f.reg.sem <- struct{}{} // every slot busy
	rec := f.do("GET", "/", "Basic "+b64(oktaUser+":"+oktaPass), "")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("with every verification slot busy: %d, want 503 with Retry-After", rec.Code)
	}
	<-f.reg.sem
	if rec := f.do("GET", "/", "Basic "+b64(oktaUser+":"+oktaPass), ""); rec.Code != 200 {
		t.Fatalf("slot free: %d", rec.Code)
	}
}

func TestThrottle(t *testing.T) {
	f := newFixture(t, basicCfg(), Options{})
	const addr = "198.51.100.7:5555"
	for i := 1; i <= 20; i++ {
		if rec := f.do("GET", "/", "Bearer wrong-"+itoa(i), addr); rec.Code != 401 {
			t.Fatalf("failure %d: %d, want 401", i, rec.Code)
		}
	}
	f.advance(15 * time.Second)
	rec := f.do("GET", "/", "Bearer wrong-21", addr)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "45" {
		t.Fatalf("21st failure: %d Retry-After %q, want 429 45", rec.Code, rec.Header().Get("Retry-After"))
	}
	assertSCIMError(t, rec, 429)
	// A valid credential from the same address is never refused.
	for _, h := range []string{"Bearer " + bearerTok, "Basic " + b64(oktaUser+":"+oktaPass), auditTok} {
		if rec := f.do("GET", "/", h, addr); rec.Code != 200 {
			t.Errorf("valid credential from a throttled address: %d", rec.Code)
		}
	}
	// Other addresses are not affected.
	if rec := f.do("GET", "/", "Bearer wrong", "198.51.100.8:1"); rec.Code != 401 {
		t.Errorf("other address: %d", rec.Code)
	}
	f.advance(46 * time.Second)
	if rec := f.do("GET", "/", "Bearer wrong", addr); rec.Code != 401 {
		t.Errorf("next minute: %d, want 401", rec.Code)
	}
	if n := testutil.ToFloat64(f.reg.metrics.bySource.WithLabelValues("198.51.100.7")); n != 22 {
		t.Errorf("failures by source = %v, want 22", n)
	}
	if n := testutil.ToFloat64(f.reg.metrics.failures.WithLabelValues("unknown", "invalid")); n != 23 {
		t.Errorf("failures of unknown clients = %v, want 23", n)
	}
	f.do("GET", "/", "Basic "+b64(oktaUser+":bad"), "203.0.113.1:1")
	if n := testutil.ToFloat64(f.reg.metrics.failures.WithLabelValues("okta", "invalid")); n != 1 {
		t.Errorf("failures of okta = %v, want 1", n)
	}
}

func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	f := newFixture(t, basicCfg(), Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	tests := []struct{ remote, xff, want string }{
		{"192.0.2.9:1", "203.0.113.5", "192.0.2.9"},                     // untrusted peer: its header is ignored
		{"10.1.2.3:1", "203.0.113.5", "203.0.113.5"},                    // trusted proxy
		{"10.1.2.3:1", "1.1.1.1, 203.0.113.5, 10.9.9.9", "203.0.113.5"}, // right-most untrusted hop
		{"10.1.2.3:1", "", "10.1.2.3"},
		{"10.1.2.3:1", "garbage", "10.1.2.3"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tt.remote
		if tt.xff != "" {
			req.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := f.reg.sourceAddr(req); got != tt.want {
			t.Errorf("%s XFF %q: %s, want %s", tt.remote, tt.xff, got, tt.want)
		}
	}
}

func TestReloadRotatesCredentials(t *testing.T) {
	f := newFixture(t, basicCfg(), Options{})
	if rec := f.do("GET", "/", "Bearer "+bearerTok, ""); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	cfg := basicCfg()
	cfg.Clients[1].Bearer = []string{bearerNext} // rotated out
	cfg.Clients = cfg.Clients[1:]                // okta removed
	f.cfg = cfg
	if err := f.reg.Reload(); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Bearer " + bearerTok, "Basic " + b64(oktaUser+":"+oktaPass)} {
		if rec := f.do("GET", "/", h, ""); rec.Code != 401 {
			t.Errorf("after reload: %d, want 401", rec.Code)
		}
	}
	if rec := f.do("GET", "/", "Bearer "+bearerNext, ""); rec.Code != 200 {
		t.Errorf("the new token: %d", rec.Code)
	}
	// A bad configuration keeps the current clients.
	f.cfg = Config{Clients: []Client{{Name: "bad"}}}
	if err := f.reg.Reload(); err == nil {
		t.Fatal("reload of a client without credentials succeeded")
	}
	if rec := f.do("GET", "/", "Bearer "+bearerNext, ""); rec.Code != 200 {
		t.Errorf("after a refused reload: %d", rec.Code)
	}
}

func TestAdminTokenMustNotBeASCIMToken(t *testing.T) {
	_, err := NewRegistry(func() (Config, error) { return Config{Tokens: []string{adminTok}}, nil }, Options{AdminToken: adminTok})
	if err == nil {
		t.Fatal("admin token accepted as a SCIM token")
	}
}

func TestValidateNamesKeysNotValues(t *testing.T) {
	err := Validate([]Client{
		{Name: "a", Bearer: []string{"$2a$99$secretvalue"}},
		{Name: "a"},
		{Name: "bad name!"},
		{Name: "tokens", Bearer: []string{"x"}},
		{Name: "b", Basic: &Basic{Username: "u:x", Password: "pw"}},
		{Name: "c", OAuth: &OAuth{ClientID: "c", AccessTokenTTL: time.Minute, RedirectURIs: []string{"http://evil.example/cb", "https://ok.example/cb#frag"}}},
		{Name: "d", Bearer: []string{"$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}},
	})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"scim.clients[a].bearer[0]", "scim.clients[a].name: used twice", "scim.clients[a]: set bearer", "scim.clients[2].name", "reserved",
		"scim.clients[b].basic.username", "scim.clients[c].oauth.client_secrets", "access_token_ttl", "redirect_uris[0]", "redirect_uris[1]", "scim.clients[d].bearer[0]: argon2id"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "secretvalue") {
		t.Errorf("error quotes a secret:\n%s", msg)
	}
}

func TestSecretKinds(t *testing.T) {
	argon, _ := cheapHash("pw")
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for _, s := range []string{"pw", argon, string(bc)} {
		sec, err := parseSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		if !sec.verify("pw") || sec.verify("pw ") || sec.verify("") || sec.verify("PW") {
			t.Errorf("%.10s: verify wrong", s)
		}
	}
	if _, err := parseSecret("$argon2id$v=19$m=19456,t=2,p=1$!!$!!"); err == nil {
		t.Error("malformed argon2id hash accepted")
	}
	if !errors.Is(errInvalid, errInvalid) {
		t.Fatal()
	}
}

func TestNoCredentialInLogs(t *testing.T) {
	f := newFixture(t, basicCfg(), Options{})
	secrets := []string{bearerTok, oktaPass, "guess-this-token-1", "guess-pass-2", b64(oktaUser + ":guess-pass-2")}
	f.do("GET", "/", "Bearer guess-this-token-1", "")
	f.do("GET", "/", "Basic "+b64(oktaUser+":guess-pass-2"), "")
	f.do("GET", "/", "guess-this-token-1", "")
	f.do("GET", "/", "Bearer "+bearerTok, "")
	if f.log.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, s := range secrets {
		if strings.Contains(f.log.String(), s) {
			t.Errorf("log holds a credential %q:\n%s", s, f.log)
		}
	}
}

func TestHashSecret(t *testing.T) {
	if raceEnabled {
		t.Skip("argon2id at 19 MiB takes seconds under the race detector; run without -race")
	}
	h, err := HashSecret("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q", h)
	}
	sec, err := parseSecret(h)
	if err != nil || !sec.verify("correct horse") || sec.verify("correct horse ") {
		t.Errorf("round trip: %v", err)
	}
	if _, err := HashSecret(""); err == nil {
		t.Error("empty secret hashed")
	}
}
