package console_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/admin"
	"github.com/scimbridge/scimbridge/admin/console"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

const adminToken = "admin-token-9d8e7f6a5b4c3d2e"

// fakeDispatcher is admin.Dispatcher over in-memory dead letters.
type fakeDispatcher struct {
	mu      sync.Mutex
	dead    map[string][]store.DeadLetter
	retried []string
	checks  []string // field checks asked for (fields_test.go)
}

func (f *fakeDispatcher) Connectors() []string { return []string{"scc", "webex"} }
func (f *fakeDispatcher) Status() ([]connectors.Status, error) {
	return []connectors.Status{
		{Name: "scc", Type: "scc", RateLimit: 10},
		{Name: "webex", Type: "webex", DeadLetters: len(f.dead["webex"]), LastError: "User u1: permanent 400: <b>bad</b> " + adminToken[:3],
			LastErrorAt: time.Now(), LastSuccess: time.Now().Add(-time.Minute)},
	}, nil
}
func (f *fakeDispatcher) DeadLetters(c string) ([]store.DeadLetter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.DeadLetter(nil), f.dead[c]...), nil
}
func (f *fakeDispatcher) remove(c string, id uint64, action string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, d := range f.dead[c] {
		if d.ID == id {
			f.dead[c] = append(f.dead[c][:i], f.dead[c][i+1:]...)
			f.retried = append(f.retried, fmt.Sprintf("%s %s/%d", action, c, id))
			return nil
		}
	}
	return connectors.ErrNotFound
}
func (f *fakeDispatcher) RetryDeadLetter(c string, id uint64) error { return f.remove(c, id, "retry") }
func (f *fakeDispatcher) DiscardDeadLetter(c string, id uint64) error {
	return f.remove(c, id, "discard")
}
func (f *fakeDispatcher) TargetIDs(string, string) (map[string]string, error) {
	return map[string]string{}, nil
}
func (f *fakeDispatcher) StartTargetCheck([]string, bool) error { return nil }
func (f *fakeDispatcher) TargetCheck() connectors.TargetCheck   { return connectors.TargetCheck{} }

// fill sets webex's dead letters to three (ids 1-3).
func (f *fakeDispatcher) fill(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead["webex"] = nil
	for i := 1; i <= 3; i++ {
		f.dead["webex"] = append(f.dead["webex"], store.DeadLetter{ID: uint64(i), Type: "User", SCIMID: fmt.Sprintf("u%d", i),
			Op: "upsert", Class: "permanent", Status: 400, Reason: "injected <script>alert(1)</script>", At: at})
	}
}

func (f *fakeDispatcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.dead["webex"])
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	srv   *httptest.Server
	d     *fakeDispatcher
	clock *clock
	token string
	tokMu sync.Mutex
	pages []string // every page fetched, for the secrets check
}

func newFixture(t testing.TB, src activity.Source) *fixture {
	t.Helper()
	return newFixtureWith(t, src, nil)
}

// newFixtureWith enables the Import page with imp (nil: disabled).
func newFixtureWith(t testing.TB, src activity.Source, imp *console.ImportOptions) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	seed(t, db)
	f := &fixture{d: &fakeDispatcher{dead: map[string][]store.DeadLetter{}}, clock: &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}, token: adminToken}
	f.d.fill(f.clock.Now())
	svc := &admin.Service{Dispatcher: f.d, DB: db, Activity: src, Now: f.clock.Now}
	h := console.Handler(svc, console.Options{Token: func() string { f.tokMu.Lock(); defer f.tokMu.Unlock(); return f.token }, Now: f.clock.Now, Import: imp})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// seed stores a user and a group as the SCIM server would.
func seed(t testing.TB, db *store.DB) {
	t.Helper()
	err := db.Update(func(tx *store.Tx) error {
		if _, err := tx.CreateResource(store.TypeUser, "u1", []byte(`{"id":"u1","userName":"ann@example.com","active":true,
			"emails":[{"value":"ann.work@example.com","type":"work"}],"meta":{"lastModified":"2026-03-01T08:00:00Z"}}`)); err != nil {
			return err
		}
		if err := tx.PutMapping("webex", store.TypeUser, "u1", store.Mapping{TargetID: "wx-1"}); err != nil {
			return err
		}
		if err := tx.PutShadow("webex", store.TypeUser, "u1", store.Shadow{InScope: true}); err != nil {
			return err
		}
		if err := tx.PutShadow("scc", store.TypeUser, "u1", store.Shadow{InScope: false}); err != nil {
			return err
		}
		_, err := tx.CreateResource(store.TypeGroup, "g1", []byte(`{"id":"g1","displayName":"Sales EMEA"}`))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

type client struct {
	f *fixture
	c *http.Client
}

func (f *fixture) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{f: f, c: &http.Client{Jar: jar}}
}

func (c *client) get(t *testing.T, path string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.f.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(t, req)
}

func (c *client) post(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", c.f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(t, req)
}

func (c *client) do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	c.f.pages = append(c.f.pages, string(b))
	return res.StatusCode, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

func (c *client) signIn(t *testing.T) string {
	t.Helper()
	code, page := c.post(t, "/admin/ui/signin", url.Values{"token": {adminToken}})
	if code != http.StatusOK || !strings.Contains(page, `id="connector-webex"`) {
		t.Fatalf("sign-in: %d\n%s", code, page)
	}
	return csrfOf(t, page)
}

func signedIn(page string) bool { return strings.Contains(page, `id="signout"`) }

func TestSignInFormWithoutSession(t *testing.T) {
	f := newFixture(t, nil)
	res, err := http.Get(f.srv.URL + "/admin/ui/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	page := string(body)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `type="password"`) || !strings.Contains(page, `action="/admin/ui/signin"`) {
		t.Errorf("%d\n%s", res.StatusCode, page)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "default-src 'self'", "script-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: %v", res.Header)
	}
	for _, p := range []string{"/admin/ui/deadletters", "/admin/ui/lookup?q=u1", "/admin/ui/activity"} {
		code, page := f.client().get(t, p)
		if code != http.StatusOK || signedIn(page) || strings.Contains(page, "ann@example.com") || strings.Contains(page, "injected") {
			t.Errorf("%s without a session: %d, shows data or no sign-in form", p, code)
		}
	}
}

func TestSignInCookieAndSignOut(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	if code, page := c.post(t, "/admin/ui/signin", url.Values{"token": {"wrong"}}); code != http.StatusUnauthorized || signedIn(page) {
		t.Fatalf("wrong token: %d", code)
	}
	// The cookie's attributes.
	res, err := http.PostForm(f.srv.URL+"/admin/ui/signin", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, ck := range res.Request.Response.Cookies() {
		cookie = ck
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure || cookie.Path != "/admin/ui" {
		t.Errorf("cookie over plain HTTP: %+v", cookie)
	}
	if strings.Contains(cookie.Value, adminToken) {
		t.Error("the cookie carries the admin token")
	}

	csrf := c.signIn(t)
	if code, page := c.get(t, "/admin/ui/deadletters"); code != 200 || !strings.Contains(page, "u2") || !strings.Contains(page, `q=u1">ann@example.com</a>`) {
		t.Fatalf("dead letters: %d", code)
	}
	if code, page := c.post(t, "/admin/ui/signout", url.Values{"csrf": {csrf}}); code != 200 || signedIn(page) {
		t.Fatalf("sign out: %d", code)
	}
	if _, page := c.get(t, "/admin/ui/deadletters"); signedIn(page) {
		t.Error("still signed in after signing out")
	}
}

func TestSecureCookieUnderTLS(t *testing.T) {
	d := &fakeDispatcher{dead: map[string][]store.DeadLetter{}}
	h := console.Handler(&admin.Service{Dispatcher: d}, console.Options{Token: func() string { return adminToken }})
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	cl := srv.Client()
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cl.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	res, err := cl.PostForm(srv.URL+"/admin/ui/signin", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cs := res.Cookies()
	if res.StatusCode != http.StatusSeeOther || len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("%d %+v", res.StatusCode, cs)
	}
}

func TestSessionLifetime(t *testing.T) {
	tests := []struct {
		name  string
		steps func(f *fixture, c *client, t *testing.T)
		alive bool
	}{
		{"active within 30 min idle", func(f *fixture, c *client, t *testing.T) {
			for range 5 {
				f.clock.Add(25 * time.Minute)
				c.get(t, "/admin/ui/")
			}
		}, true},
		{"idle 31 min", func(f *fixture, c *client, t *testing.T) { f.clock.Add(31 * time.Minute) }, false},
		{"auto-refresh is not activity", func(f *fixture, c *client, t *testing.T) {
			for range 4 {
				f.clock.Add(10 * time.Minute)
				c.get(t, "/admin/ui/", "X-Console-Refresh", "1")
			}
		}, false},
		{"12 hours at most, however active", func(f *fixture, c *client, t *testing.T) {
			for range 25 {
				f.clock.Add(29 * time.Minute)
				c.get(t, "/admin/ui/")
			}
		}, false},
		{"admin token changed", func(f *fixture, c *client, t *testing.T) {
			f.tokMu.Lock()
			f.token = "rotated-token-000000"
			f.tokMu.Unlock()
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			c := f.client()
			c.signIn(t)
			tt.steps(f, c, t)
			if _, page := c.get(t, "/admin/ui/"); signedIn(page) != tt.alive {
				t.Errorf("signed in: %v, want %v", signedIn(page), tt.alive)
			}
		})
	}
}

func TestSignInThrottled(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	for i := range 5 {
		if code, _ := c.post(t, "/admin/ui/signin", url.Values{"token": {"guess"}}); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	// Throttled, the right token is not even compared.
	if code, page := c.post(t, "/admin/ui/signin", url.Values{"token": {adminToken}}); code != http.StatusTooManyRequests || signedIn(page) {
		t.Fatalf("6th attempt: %d", code)
	}
	f.clock.Add(11 * time.Second)
	c.signIn(t)
}

func TestFormsNeedSessionAndCSRF(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	csrf := c.signIn(t)
	discard := url.Values{"action": {"discard"}, "dl": {"webex/1", "webex/2"}}

	tests := []struct {
		name string
		c    *client
		form url.Values
		hdr  []string
	}{
		{"no session", f.client(), with(discard, "csrf", csrf), nil},
		{"no CSRF token", c, discard, nil},
		{"wrong CSRF token", c, with(discard, "csrf", "forged"), nil},
		{"cross-site", c, with(discard, "csrf", csrf), []string{"Sec-Fetch-Site", "cross-site"}},
		{"other origin", c, with(discard, "csrf", csrf), []string{"Origin", "https://evil.example"}},
		{"same-site, not same-origin", c, with(discard, "csrf", csrf), []string{"Sec-Fetch-Site", "same-site", "Origin", "https://other.example.com"}},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("POST", f.srv.URL+"/admin/ui/deadletters", strings.NewReader(tt.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(tt.hdr); i += 2 {
			req.Header.Set(tt.hdr[i], tt.hdr[i+1])
		}
		if code, _ := tt.c.do(t, req); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tt.name, code)
		}
		if n := f.d.count(); n != 3 {
			t.Fatalf("%s: %d dead letters left, want 3", tt.name, n)
		}
	}
	// Signing out also needs the token.
	if code, _ := c.post(t, "/admin/ui/signout", url.Values{"csrf": {"forged"}}); code != http.StatusForbidden {
		t.Errorf("sign-out with a forged token: %d", code)
	}
	// With both, it works: selected, then one row.
	if code, page := c.post(t, "/admin/ui/deadletters", with(discard, "csrf", csrf)); code != 200 || !strings.Contains(page, "Discarded: 2.") {
		t.Fatalf("discard: %d\n%s", code, page)
	}
	if code, page := c.post(t, "/admin/ui/deadletters", url.Values{"csrf": {csrf}, "row": {"retry/webex/3"}}); code != 200 || !strings.Contains(page, "Queued again: 1.") {
		t.Fatalf("retry: %d\n%s", code, page)
	}
	if code, page := c.post(t, "/admin/ui/deadletters", url.Values{"csrf": {csrf}, "row": {"retry/webex/3"}}); code != 200 || !strings.Contains(page, "Already retried or discarded elsewhere: 1.") {
		t.Fatalf("retry again: %d\n%s", code, page)
	}
	f.d.fill(f.clock.Now())
	if code, _ := c.post(t, "/admin/ui/deadletters", url.Values{"csrf": {csrf}, "action": {"retry-all"}}); code != http.StatusBadRequest || f.d.count() != 3 {
		t.Fatalf("retry all without a connector: %d, %d left", code, f.d.count())
	}
	if code, page := c.post(t, "/admin/ui/deadletters", url.Values{"csrf": {csrf}, "action": {"retry-all"}, "connector": {"webex"}}); code != 200 || !strings.Contains(page, "Queued again: 3.") || f.d.count() != 0 {
		t.Fatalf("retry all: %d, %d left\n%s", code, f.d.count(), page)
	}
	if got := strings.Join(f.d.retried, ","); got != "discard webex/1,discard webex/2,retry webex/3,retry webex/1,retry webex/2,retry webex/3" {
		t.Errorf("dispatcher calls: %s", got)
	}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for kk, vv := range v {
		out[kk] = vv
	}
	out.Set(k, val)
	return out
}

func TestPagesEscapeAndShowNoSecret(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signIn(t)
	for _, p := range []string{"/admin/ui/", "/admin/ui/deadletters", "/admin/ui/lookup?q=ann.work@example.com", "/admin/ui/activity"} {
		if code, _ := c.get(t, p); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
	if !strings.Contains(f.pages[1], "1 failing · 1 delivering — 3 dead letters in all") {
		t.Errorf("overview summary missing:\n%s", f.pages[1])
	}
	for _, page := range f.pages {
		if strings.Contains(page, adminToken) {
			t.Errorf("a page shows the admin token:\n%s", page)
		}
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>bad</b>") {
			t.Errorf("a target's message is not escaped:\n%s", page)
		}
	}
}

func TestLookup(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signIn(t)
	tests := []struct{ q, want, by string }{
		{"u1", `data-id="u1"`, "id"},
		{"ANN@example.com", `data-id="u1"`, "userName"},
		{"ann.work@example.com", `data-id="u1"`, "email"},
		{"sales emea", `data-id="g1"`, "displayName"},
	}
	for _, tt := range tests {
		_, page := c.get(t, "/admin/ui/lookup?q="+url.QueryEscape(tt.q))
		if !strings.Contains(page, tt.want) || !strings.Contains(page, "<dd>"+tt.by+"</dd>") {
			t.Errorf("%q: want %s matched by %s:\n%s", tt.q, tt.want, tt.by, page)
		}
	}
	_, page := c.get(t, "/admin/ui/lookup?q=ann@example.com")
	for _, want := range []string{`data-connector="webex" data-state="delivered"`, `wx-1`, `data-connector="scc" data-state="out of scope"`, "Activity log not available."} {
		if !strings.Contains(page, want) {
			t.Errorf("ann's lookup lacks %q", want)
		}
	}
	if _, page := c.get(t, "/admin/ui/lookup?q=nobody@example.com"); !strings.Contains(page, `id="notfound"`) {
		t.Error("no 'not found' for an unknown name")
	}
}

type fakeSource struct {
	mu       sync.Mutex
	timeline string
	filter   activity.Filter
}

func (s *fakeSource) Timeline(_ context.Context, resource, cursor string, limit int) (activity.Page, error) {
	s.mu.Lock()
	s.timeline = resource
	s.mu.Unlock()
	return activity.Page{Events: []activity.Event{
		{Time: time.Date(2026, 3, 1, 8, 0, 1, 0, time.UTC), Kind: activity.KindDelivered, Outcome: activity.OutcomeOK, Connector: "webex", Type: "User", ID: resource, TargetID: "wx-1"},
		{Time: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Kind: activity.KindSCIM, Method: "POST", Status: 201, Client: "okta", Type: "User", ID: resource, Name: "ann@example.com"},
	}, Next: "c2"}, nil
}

func (s *fakeSource) Recent(_ context.Context, f activity.Filter) (activity.Page, error) {
	s.mu.Lock()
	s.filter = f
	s.mu.Unlock()
	return activity.Page{Events: []activity.Event{{Kind: activity.KindDead, Outcome: activity.OutcomeFailed, Connector: "webex", Type: "User", ID: "u2", Detail: "permanent 400: nope"}}, Next: "c9"}, nil
}

func TestActivityFromSource(t *testing.T) {
	src := &fakeSource{}
	f := newFixture(t, src)
	c := f.client()
	c.signIn(t)
	_, page := c.get(t, "/admin/ui/lookup?q=ann.work@example.com")
	if src.timeline != "u1" || !strings.Contains(page, `data-kind="delivered" data-connector="webex"`) || !strings.Contains(page, "POST → 201") ||
		!strings.Contains(page, "cursor=c2") {
		t.Errorf("timeline for %q:\n%s", src.timeline, page)
	}
	_, page = c.get(t, "/admin/ui/activity?failed=1&connector=webex")
	if !src.filter.Failed || src.filter.Connector != "webex" || !strings.Contains(page, "permanent 400: nope") ||
		!strings.Contains(page, `class="event failed"`) || !strings.Contains(page, "cursor=c9") {
		t.Errorf("recent with %+v:\n%s", src.filter, page)
	}
	// An unknown connector is ignored rather than passed on.
	c.get(t, "/admin/ui/activity?connector=nope")
	if src.filter.Connector != "" {
		t.Errorf("filter %+v", src.filter)
	}
}
