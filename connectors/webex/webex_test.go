package webex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/mapping"
)

type request struct {
	Method, Path, Body string
}

// env is one connector wired to one simulator through a recording proxy.
type env struct {
	t    *testing.T
	sim  *webexsim.Server
	c    *Connector
	logs *testkit.LogBuffer

	mu   sync.Mutex
	reqs []request
	// intercept, when set, may answer a request instead of the simulator.
	intercept func(w http.ResponseWriter, r *http.Request, body []byte) bool
}

func newEnv(t *testing.T, opts webexsim.Options, mod func(*connectors.Settings)) *env {
	t.Helper()
	e := &env{t: t, sim: webexsim.New(opts), logs: &testkit.LogBuffer{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		e.mu.Lock()
		e.reqs = append(e.reqs, request{r.Method, r.URL.RequestURI(), string(body)})
		intercept := e.intercept
		e.mu.Unlock()
		if intercept != nil && intercept(w, r, body) {
			return
		}
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	s := connectors.Settings{
		Name:        "webex-test",
		Type:        "webex",
		BaseURL:     ts.URL + e.sim.BasePath(),
		Credentials: e.sim.Credentials(),
		RateLimit:   10000, // request pacing is measured in connectors/limitbench
	}
	if mod != nil {
		mod(&s)
	}
	c, err := newConnector(s, connectors.Deps{HTTPClient: ts.Client(), Log: zerolog.New(e.logs)})
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

func (e *env) apply(batch ...connectors.Change) []connectors.Result {
	e.t.Helper()
	res := e.c.Apply(context.Background(), batch)
	if len(res) != len(batch) {
		e.t.Fatalf("%d results for %d changes", len(res), len(batch))
	}
	return res
}

// requests returns and forgets the recorded requests (token calls too).
func (e *env) requests() []request {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.reqs
	e.reqs = nil
	return r
}

func (e *env) golden(name string, reqs []request) {
	e.t.Helper()
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "%s %s\n", r.Method, r.Path)
		if r.Body != "" {
			var out bytes.Buffer
			if err := json.Indent(&out, []byte(r.Body), "", "  "); err != nil {
				b.WriteString(r.Body)
			} else {
				b.Write(out.Bytes())
			}
			b.WriteString("\n")
		}
	}
	path := filepath.Join("testdata", name+".golden")
	if testkit.Update() {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatalf("%v (run go test -update)", err)
	}
	if b.String() != string(want) {
		e.t.Errorf("requests differ from %s:\n--- got\n%s\n--- want\n%s", path, b.String(), want)
	}
}

func userFieldsOf(email string, kv ...any) map[string]any {
	f := map[string]any{"userName": email, "active": true}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i].(string)] = kv[i+1]
	}
	return f
}

func createUser(id, email string, kv ...any) connectors.Change {
	return connectors.Change{Type: connectors.User, ID: id, Op: connectors.OpUpsert, Fields: userFieldsOf(email, kv...)}
}

func classOf(t *testing.T, err error) connectors.Class {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	return connectors.ClassOf(err)
}

func TestNewValidation(t *testing.T) {
	full := map[string]string{"org_id": "o", "access_token": "AT-S3CR3T", "refresh_token": "RT-S3CR3T", "client_id": "cid", "client_secret": "CS-S3CR3T"}
	without := func(k string) map[string]string {
		m := map[string]string{}
		for kk, v := range full {
			if kk != k {
				m[kk] = v
			}
		}
		return m
	}
	tests := []struct {
		name string
		s    connectors.Settings
		want string // "" = valid
	}{
		{"full", connectors.Settings{Credentials: full}, ""},
		{"access token only", connectors.Settings{Credentials: map[string]string{"org_id": "o", "token": "AT-S3CR3T"}}, ""},
		{"no org", connectors.Settings{Credentials: without("org_id")}, "credentials.org_id"},
		{"base url instead of org", connectors.Settings{BaseURL: "https://x.example/identity/scim/o/v2", Credentials: without("org_id")}, ""},
		{"relative base url", connectors.Settings{BaseURL: "/identity/scim/o/v2", Credentials: full}, "base_url"},
		{"no token", connectors.Settings{Credentials: map[string]string{"org_id": "o"}}, "credentials.access_token or credentials.refresh_token"},
		{"refresh without client_id", connectors.Settings{Credentials: without("client_id")}, "credentials.client_id"},
		{"refresh without secret", connectors.Settings{Credentials: without("client_secret")}, "credentials.client_secret"},
		{"bad on_delete", connectors.Settings{Credentials: full, OnDelete: "scramble_password"}, "on_delete"},
		{"bad bulk", connectors.Settings{Credentials: full, Options: map[string]string{"bulk": "maybe"}}, "options.bulk"},
		{"token url derived", connectors.Settings{BaseURL: "http://127.0.0.1:9/identity/scim/o/v2", Credentials: without("org_id")}, ""},
		{"bad member_chunk", connectors.Settings{Credentials: full, Options: map[string]string{"member_chunk": "501"}}, "options.member_chunk"},
		{"unknown mapped field", connectors.Settings{Credentials: full, Mapping: mappingSpec("shoeSize")}, "mapping.user.shoeSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.s, connectors.Deps{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "S3CR3T"):
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestUserLifecycle(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	full := userFieldsOf("ann@example.com", "displayName", "Ann Lee", "firstName", "Ann", "lastName", "Lee",
		"title", "Engineer", "externalId", "scim-1", "department", "R&D", "phoneNumber", "+1 555 0100")
	res := e.apply(connectors.Change{Type: connectors.User, ID: "1", Op: connectors.OpUpsert, Fields: full})
	if res[0].Err != nil || res[0].TargetID == "" {
		t.Fatalf("create: %+v", res[0])
	}
	id := res[0].TargetID
	e.golden("user_create", e.requests())

	// Only what changed: title removed, lastName and email changed.
	next := userFieldsOf("ann.smith@example.com", "displayName", "Ann Lee", "firstName", "Ann", "lastName", "Smith",
		"externalId", "scim-1", "department", "R&D", "phoneNumber", "+1 555 0100")
	res = e.apply(connectors.Change{Type: connectors.User, ID: "1", Op: connectors.OpUpsert, TargetID: id, Prev: full, Fields: next})
	if res[0].Err != nil || res[0].TargetID != id {
		t.Fatalf("update: %+v", res[0])
	}
	e.golden("user_patch", e.requests())

	// Nothing changed: no call.
	res = e.apply(connectors.Change{Type: connectors.User, ID: "1", Op: connectors.OpUpsert, TargetID: id, Prev: next, Fields: next})
	if res[0].Err != nil || res[0].TargetID != id || len(e.requests()) != 0 {
		t.Fatalf("no-op update: %+v", res[0])
	}

	deact := userFieldsOf("ann.smith@example.com")
	deact["active"] = false
	res = e.apply(connectors.Change{Type: connectors.User, ID: "1", Op: connectors.OpUpsert, TargetID: id, Prev: map[string]any{"userName": "ann.smith@example.com", "active": true}, Fields: deact})
	if u := e.sim.Users(); res[0].Err != nil || len(u) != 1 || u[0].Active || u[0].UserName != "ann.smith@example.com" {
		t.Fatalf("deactivate: %+v %+v", res[0], u)
	}
	e.requests()

	res = e.apply(connectors.Change{Type: connectors.User, ID: "1", Op: connectors.OpDelete, TargetID: id})
	if res[0].Err != nil || len(e.sim.Users()) != 0 {
		t.Fatalf("delete: %+v", res[0])
	}
	// Already gone is done; never created is done without a call.
	res = e.apply(connectors.Change{Type: connectors.User, ID: "1", Op: connectors.OpDelete, TargetID: id},
		connectors.Change{Type: connectors.User, ID: "2", Op: connectors.OpDelete})
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("repeat delete: %+v", res)
	}
	if reqs := e.requests(); len(reqs) != 2 || reqs[0].Method != "DELETE" || reqs[1].Method != "DELETE" {
		t.Errorf("delete requests: %+v", reqs)
	}
}

func TestDeleteAsDeactivate(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, func(s *connectors.Settings) { s.OnDelete = OnDeleteDeactivate })
	id := e.sim.AddUser("dee@example.com")
	res := e.apply(connectors.Change{Type: connectors.User, ID: "1", Op: connectors.OpDelete, TargetID: id, LeftScope: true})
	if u := e.sim.Users(); res[0].Err != nil || len(u) != 1 || u[0].Active {
		t.Fatalf("deactivate on delete: %+v %+v", res[0], u)
	}
	e.requests()
	res = e.apply(connectors.Change{Type: connectors.User, ID: "2", Op: connectors.OpDelete, TargetID: "gone"})
	if res[0].Err != nil {
		t.Fatalf("deactivating a user Webex no longer has: %v", res[0].Err)
	}
}

func TestUserAdoptOnConflict(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	existing := e.sim.AddUser("bo@example.com")
	res := e.apply(createUser("1", "bo@example.com", "title", "Chief"))
	if res[0].Err != nil || res[0].TargetID != existing {
		t.Fatalf("adopt: %+v, want target %s", res[0], existing)
	}
	reqs := e.requests()
	if len(reqs) != 3 || reqs[0].Method != "POST" || !strings.HasPrefix(reqs[1].Path, "/identity/scim/sim-org/v2/Users?") || reqs[2].Method != "PATCH" {
		t.Errorf("adopt requests: %+v", reqs)
	}
	if !strings.Contains(reqs[1].Path, "filter=userName%20eq%20%22bo%40example.com%22") {
		t.Errorf("lookup %s", reqs[1].Path)
	}
}

func TestUserWithoutEmailUnsupported(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	res := e.apply(createUser("1", "jdoe"), createUser("2", ""))
	for i, r := range res {
		if classOf(t, r.Err) != connectors.Unsupported {
			t.Errorf("change %d: %v, want unsupported", i, r.Err)
		}
	}
	if n := len(e.requests()); n != 0 {
		t.Errorf("%d requests for unsupported users", n)
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		fault      connectortest.Fault
		class      connectors.Class
		retryAfter time.Duration
	}{
		{connectortest.Fault429, connectors.Transient, 5 * time.Second},
		{connectortest.Fault429RetryAfter, connectors.Transient, time.Second},
		{connectortest.Fault5xx, connectors.Transient, 0},
		{connectortest.FaultPermanent, connectors.Permanent, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.fault), func(t *testing.T) {
			e := newEnv(t, webexsim.Options{}, nil)
			e.sim.FailNext(tt.fault, 1)
			res := e.apply(createUser("1", "x@example.com"))
			if got := classOf(t, res[0].Err); got != tt.class || connectors.RetryAfterOf(res[0].Err) != tt.retryAfter {
				t.Errorf("class %v retry-after %v, want %v %v", got, connectors.RetryAfterOf(res[0].Err), tt.class, tt.retryAfter)
			}
			if tt.class == connectors.Permanent && !strings.Contains(res[0].Err.Error(), "trackingId SCIMBRIDGE_") {
				t.Errorf("permanent error lacks the target's message: %v", res[0].Err)
			}
			// The retry lands.
			if res := e.apply(createUser("1", "x@example.com")); res[0].Err != nil {
				t.Errorf("retry: %v", res[0].Err)
			}
		})
	}
}

func TestNetworkErrorTransient(t *testing.T) {
	c, err := New(connectors.Settings{BaseURL: "http://127.0.0.1:1/identity/scim/o/v2", Credentials: map[string]string{"access_token": "t"}}, connectors.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	res := c.Apply(context.Background(), []connectors.Change{createUser("1", "n@example.com")})
	if classOf(t, res[0].Err) != connectors.Transient {
		t.Errorf("connection refused: %v", res[0].Err)
	}
}

// memStore is a connectors.StateStore in memory.
type memStore struct {
	mu   sync.Mutex
	m    map[string][]byte
	fail error // Put fails with it when set
}

func (s *memStore) Get(k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k], nil
}

func (s *memStore) Put(k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[k] = v
	return nil
}

func TestRefreshOn401(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	e.sim.ExpireTokens()
	res := e.apply(createUser("1", "r@example.com"))
	if res[0].Err != nil || e.sim.TokenRequests() != 1 {
		t.Fatalf("after refresh: %+v, %d token requests", res[0], e.sim.TokenRequests())
	}
	// Concurrent workers that all hit the 401 share one refresh.
	e.sim.ExpireTokens()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = e.c.Apply(context.Background(), []connectors.Change{createUser(fmt.Sprint(i+10), fmt.Sprintf("w%d@example.com", i))})[0].Err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.TokenRequests(); n != 2 {
		t.Errorf("%d token requests for 8 concurrent 401s, want one more (2)", n)
	}
	logs := e.logs.String()
	for _, secret := range []string{"sim-secret", "sim-refresh-token", "sim-access-token"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	if !strings.Contains(logs, `"op":"token.refresh"`) || !strings.Contains(logs, `"tracking_id":"SCIMBRIDGE_`) {
		t.Errorf("logs lack call lines: %s", logs)
	}
}

func TestSecond401Permanent(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	e.intercept = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if strings.Contains(r.URL.Path, "/Users") {
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		return false
	}
	res := e.apply(createUser("1", "p@example.com"))
	if classOf(t, res[0].Err) != connectors.Permanent || e.sim.TokenRequests() != 1 {
		t.Errorf("%v after %d refreshes", res[0].Err, e.sim.TokenRequests())
	}
}

func TestNoRefreshTokenPermanent(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, func(s *connectors.Settings) { delete(s.Credentials, "refresh_token") })
	e.sim.ExpireTokens()
	res := e.apply(createUser("1", "p@example.com"))
	if classOf(t, res[0].Err) != connectors.Permanent || !strings.Contains(res[0].Err.Error(), "refresh_token") {
		t.Errorf("got %v", res[0].Err)
	}
}

// clock is a settable time source shared by the simulator and connector.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRefreshBeforeExpiry(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	state := &memStore{}
	e := newEnv(t, webexsim.Options{TokenLifetime: 100 * time.Second, RotateRefreshToken: true, Now: clk.Now},
		func(s *connectors.Settings) { delete(s.Credentials, "access_token") })
	e.c.now = clk.Now
	e.c.tokens.state = state
	e.c.tokens.load()
	// No access token configured: the first call refreshes.
	if res := e.apply(createUser("1", "a@example.com")); res[0].Err != nil || e.sim.TokenRequests() != 1 {
		t.Fatalf("first call: %+v, %d refreshes", res[0], e.sim.TokenRequests())
	}
	clk.Add(80 * time.Second)
	if res := e.apply(createUser("2", "b@example.com")); res[0].Err != nil || e.sim.TokenRequests() != 1 {
		t.Fatalf("at 80s: %+v, %d refreshes", res[0], e.sim.TokenRequests())
	}
	clk.Add(15 * time.Second) // 95 s: past 90% of the lifetime, before expiry
	if res := e.apply(createUser("3", "c@example.com")); res[0].Err != nil || e.sim.TokenRequests() != 2 {
		t.Fatalf("at 95s: %+v, %d refreshes", res[0], e.sim.TokenRequests())
	}
	for _, r := range e.requests() {
		if strings.Contains(r.Path, "/Users") && r.Method == "POST" && strings.Contains(r.Body, "401") {
			t.Errorf("a 401 was needed: %+v", r)
		}
	}
	// A restarted connector resumes from the saved (rotated) refresh token;
	// the configured one was revoked by the rotation.
	s := connectors.Settings{Name: "webex-test", BaseURL: e.c.base, Credentials: map[string]string{
		"refresh_token": "sim-refresh-token", "client_id": "sim-client", "client_secret": "sim-secret", "token_url": "/v1/access_token"}}
	c2, err := newConnector(s, connectors.Deps{HTTPClient: e.c.hc, State: state})
	if err != nil {
		t.Fatal(err)
	}
	c2.now = clk.Now
	e.sim.ExpireTokens()
	if res := c2.Apply(context.Background(), []connectors.Change{createUser("4", "d@example.com")}); res[0].Err != nil {
		t.Fatalf("restart with saved state: %v", res[0].Err)
	}
	if b, _ := state.Get("webex/webex-test/token"); strings.Contains(string(b), `"refresh_token":"sim-refresh-token"`) {
		t.Errorf("state still holds the revoked refresh token: %s", b)
	}
}

// A rotated refresh token is stored before the new access token is used:
// when the store write fails, the call fails as transient, nothing reaches
// the target with the new token, and the next call stores the pair first
// without refreshing again (the old refresh token is dead).
func TestRotatedTokenSavedBeforeUse(t *testing.T) {
	state := &memStore{fail: errors.New("disk full")}
	e := newEnv(t, webexsim.Options{RotateRefreshToken: true}, nil)
	e.c.tokens.state = state
	e.c.tokens.load()
	e.sim.ExpireTokens()
	res := e.apply(createUser("1", "a@example.com"))
	if classOf(t, res[0].Err) != connectors.Transient || e.sim.TokenRequests() != 1 {
		t.Fatalf("failed save: %v after %d refreshes, want transient after 1", res[0].Err, e.sim.TokenRequests())
	}
	if len(e.sim.Users()) != 0 {
		t.Fatal("the new token was used before it was stored")
	}
	state.mu.Lock()
	state.fail = nil
	state.mu.Unlock()
	if res := e.apply(createUser("1", "a@example.com")); res[0].Err != nil || e.sim.TokenRequests() != 1 {
		t.Fatalf("after the store heals: %v, %d refreshes", res[0].Err, e.sim.TokenRequests())
	}
	b, _ := state.Get("webex/webex-test/token")
	if !strings.Contains(string(b), `"refresh_token":"`) || strings.Contains(string(b), `"refresh_token":"sim-refresh-token"`) {
		t.Errorf("state does not hold the rotated refresh token: %s", b)
	}
}

func TestGroupLifecycle(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	u1, u2, u3 := e.sim.AddUser("g1@example.com"), e.sim.AddUser("g2@example.com"), e.sim.AddUser("g3@example.com")
	m := func(id, tid string) connectors.Member { return connectors.Member{ID: id, TargetID: tid} }
	fields := map[string]any{"displayName": "Engineering", "externalId": "scim-g1"}
	res := e.apply(connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, Fields: fields,
		MembersAdded: []connectors.Member{m("1", u1), m("2", u2)}})
	if res[0].Err != nil || res[0].TargetID == "" {
		t.Fatalf("create: %+v", res[0])
	}
	gid := res[0].TargetID
	e.golden("group_create", e.requests())

	renamed := map[string]any{"displayName": "Eng", "externalId": "scim-g1"}
	res = e.apply(connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, TargetID: gid, Prev: fields, Fields: renamed,
		MembersAdded: []connectors.Member{m("3", u3)}, MembersRemoved: []connectors.Member{m("1", u1), m("9", "")}})
	if res[0].Err != nil || res[0].TargetID != gid {
		t.Fatalf("update: %+v", res[0])
	}
	e.golden("group_patch", e.requests())
	g := e.sim.Groups()
	if len(g) != 1 || g[0].Name != "Eng" || fmt.Sprint(g[0].MemberTargetIDs) != fmt.Sprint([]string{u2, u3}) {
		t.Fatalf("group = %+v", g)
	}

	// Removing from a group Webex no longer has is done.
	res = e.apply(connectors.Change{Type: connectors.Group, ID: "gx", Op: connectors.OpUpsert, TargetID: "gone", Prev: renamed, Fields: renamed,
		MembersRemoved: []connectors.Member{m("2", u2)}})
	if res[0].Err != nil {
		t.Errorf("removal from a vanished group: %v", res[0].Err)
	}
	res = e.apply(connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpDelete, TargetID: gid},
		connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpDelete, TargetID: gid})
	if res[0].Err != nil || res[1].Err != nil || len(e.sim.Groups()) != 0 {
		t.Errorf("delete: %+v", res)
	}
}

func TestGroupAdoptOnConflict(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	u1, u2 := e.sim.AddUser("a1@example.com"), e.sim.AddUser("a2@example.com")
	existing := e.sim.AddGroup("Sales", u1)
	res := e.apply(connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert,
		Fields: map[string]any{"displayName": "sales", "externalId": "scim-g"}, MembersAdded: []connectors.Member{{ID: "2", TargetID: u2}}})
	if res[0].Err != nil || res[0].TargetID != existing {
		t.Fatalf("adopt: %+v", res[0])
	}
	if g := e.sim.Groups(); len(g) != 1 || len(g[0].MemberTargetIDs) != 2 || g[0].Name != "sales" {
		t.Errorf("adopted group = %+v", g)
	}
}

func TestGroupMemberErrors(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	u1, u2 := e.sim.AddUser("m1@example.com"), e.sim.AddUser("m2@example.com")
	res := e.apply(connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{"displayName": "Mixed"},
		MembersAdded: []connectors.Member{{ID: "1", TargetID: u1}, {ID: "bad", TargetID: "not-a-webex-user"}, {ID: "none"}, {ID: "2", TargetID: u2}}})
	if res[0].Err != nil || res[0].TargetID == "" {
		t.Fatalf("group: %+v", res[0])
	}
	if len(res[0].MemberErrors) != 2 || classOf(t, res[0].MemberErrors["bad"]) != connectors.Permanent || res[0].MemberErrors["none"] == nil {
		t.Errorf("member errors = %v", res[0].MemberErrors)
	}
	if g := e.sim.Groups(); len(g) != 1 || fmt.Sprint(g[0].MemberTargetIDs) != fmt.Sprint([]string{u1, u2}) {
		t.Errorf("group = %+v", g)
	}
}

func TestGroupMembersOver500(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	var members []connectors.Member
	var want []string
	for i := range 700 {
		id := e.sim.AddUser(fmt.Sprintf("big%04d@example.com", i))
		members = append(members, connectors.Member{ID: fmt.Sprint(i), TargetID: id})
		want = append(want, id)
	}
	res := e.apply(connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{"displayName": "All"}, MembersAdded: members})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	// One POST with the first 100, then 6 PATCHes of 100.
	if n := e.sim.Calls(); n != 7 {
		t.Errorf("%d calls, want 7", n)
	}
	got, err := e.c.Members(context.Background(), res[0].TargetID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Members returned %d ids, want %d in order", len(got), len(want))
	}
	if n := e.sim.Calls(); n != 7+2 {
		t.Errorf("paging used %d calls, want 2 pages (500 + 200)", n-7)
	}
}

func TestBulkPartialFailure(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	existing := e.sim.AddUser("old@example.com")
	upd := e.sim.AddUser("upd@example.com")
	batch := []connectors.Change{
		createUser("1", "new1@example.com", "firstName", "New"),
		createUser("2", "old@example.com"),  // 409: adopted
		createUser("3", "bad@@example.com"), // 400 from Webex: permanent, alone
		createUser("4", "noemail"),          // unsupported, never sent
		{Type: connectors.User, ID: "5", Op: connectors.OpUpsert, TargetID: upd, Prev: userFieldsOf("upd@example.com"), Fields: userFieldsOf("upd@example.com", "title", "Lead")},
		{Type: connectors.User, ID: "6", Op: connectors.OpDelete, TargetID: "gone"}, // 404: done
	}
	res := e.apply(batch...)
	if res[0].Err != nil || res[0].TargetID == "" {
		t.Errorf("create: %+v", res[0])
	}
	if res[1].Err != nil || res[1].TargetID != existing {
		t.Errorf("adopt: %+v", res[1])
	}
	if classOf(t, res[2].Err) != connectors.Permanent || res[2].TargetID != "" {
		t.Errorf("bad userName: %+v", res[2])
	}
	if classOf(t, res[3].Err) != connectors.Unsupported {
		t.Errorf("no email: %+v", res[3])
	}
	if res[4].Err != nil || res[4].TargetID != upd || res[5].Err != nil {
		t.Errorf("update/delete: %+v %+v", res[4], res[5])
	}
	reqs := e.requests()
	e.golden("bulk", reqs[:1])
	// One /Bulk, then the adoption's lookup and PATCH.
	if len(reqs) != 3 || !strings.HasSuffix(reqs[0].Path, "/Bulk") {
		t.Errorf("requests: %+v", reqs)
	}
}

func TestBulkChunksOf100(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	var batch []connectors.Change
	for i := range 250 {
		batch = append(batch, createUser(fmt.Sprint(i), fmt.Sprintf("c%03d@example.com", i)))
	}
	for i, r := range e.apply(batch...) {
		if r.Err != nil || r.TargetID == "" {
			t.Fatalf("change %d: %+v", i, r)
		}
	}
	if n, u := e.sim.Calls(), len(e.sim.Users()); n != 3 || u != 250 {
		t.Errorf("%d calls for %d users, want 3 /Bulk requests", n, u)
	}
}

// The connector accepts the other documented answer shapes: the SDK's
// lower-case "operations" and numeric statuses without bulkIds.
func TestBulkAnswerVariants(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	e.intercept = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if !strings.HasSuffix(r.URL.Path, "/Bulk") {
			return false
		}
		rec := httptest.NewRecorder()
		e.sim.ServeHTTP(rec, r)
		var resp struct {
			Operations []map[string]any
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		for _, o := range resp.Operations {
			var n int
			fmt.Sscan(o["status"].(string), &n)
			o["status"] = n
			delete(o, "bulkId")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkResponse"}, "operations": resp.Operations})
		return true
	}
	res := e.apply(createUser("1", "v1@example.com"), createUser("2", "v2@example.com"))
	u := e.sim.Users()
	if len(u) != 2 || res[0].TargetID != u[0].TargetID || res[1].TargetID != u[1].TargetID {
		t.Errorf("results %+v, users %+v", res, u)
	}
}

func TestBulkRefusedFallsBack(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	e.intercept = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if strings.HasSuffix(r.URL.Path, "/Bulk") {
			w.WriteHeader(http.StatusNotImplemented - 100 + 4) // 405
			return true
		}
		return false
	}
	res := e.apply(createUser("1", "f1@example.com"), createUser("2", "f2@example.com"))
	if res[0].Err != nil || res[1].Err != nil || len(e.sim.Users()) != 2 {
		t.Errorf("fallback: %+v", res)
	}
}

func TestBulkTransientFailsAll(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	e.sim.FailNext(connectortest.Fault429RetryAfter, 1)
	res := e.apply(createUser("1", "t1@example.com"), createUser("2", "t2@example.com"))
	for _, r := range res {
		if classOf(t, r.Err) != connectors.Transient || connectors.RetryAfterOf(r.Err) != time.Second {
			t.Errorf("%+v", r)
		}
	}
}

func TestBulkDisabled(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, func(s *connectors.Settings) { s.Options = map[string]string{"bulk": "false"} })
	e.apply(createUser("1", "d1@example.com"), createUser("2", "d2@example.com"))
	for _, r := range e.requests() {
		if strings.HasSuffix(r.Path, "/Bulk") {
			t.Fatal("bulk: false still used /Bulk")
		}
	}
	if len(e.sim.Users()) != 2 {
		t.Error("users not created")
	}
}

func TestRegistration(t *testing.T) {
	sim := Registration.NewSimulator()
	ts := httptest.NewServer(sim)
	defer ts.Close()
	c, err := Registration.New(connectors.Settings{Name: "wx", BaseURL: ts.URL + sim.BasePath(), Credentials: sim.Credentials()}, connectors.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "wx" || c.Limits().BatchSize != 100 || Registration.DefaultOnDelete != OnDeleteDelete {
		t.Errorf("name %q limits %+v", c.Name(), c.Limits())
	}
	if res := c.Apply(context.Background(), []connectors.Change{createUser("1", "reg@example.com")}); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	for f := range DefaultMapping.User {
		if _, ok := userFields[f]; !ok {
			t.Errorf("default mapping field %s unknown to the connector", f)
		}
	}
}

func FuzzErrorMessage(f *testing.F) {
	f.Add([]byte(`{"detail":"x","urn:scim:schemas:extension:cisco:webexidentity:api:messages:2.0:Error":{"trackingId":"t"}}`))
	f.Add([]byte(`{"message":"m","trackingId":"t"}`))
	f.Add([]byte("<html>oops</html>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(errorMessage(b)) > 600 {
			t.Fatal("message not bounded")
		}
	})
}

func FuzzBulkStatus(f *testing.F) {
	for _, s := range []string{`"201"`, `201`, `{"code":"409"}`, `"200 OK"`, `null`, `""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = bulkOpResult{Status: json.RawMessage(s)}.status()
	})
}

func mappingSpec(userField string) mapping.Spec {
	return mapping.Spec{User: map[string]string{userField: "title"}}
}

func TestConformance(t *testing.T) {
	for _, onDelete := range []string{OnDeleteDelete, OnDeleteDeactivate} {
		t.Run(onDelete, func(t *testing.T) {
			connectortest.Run(t, func(t *testing.T) connectortest.Instance {
				e := newEnv(t, webexsim.Options{}, func(s *connectors.Settings) { s.OnDelete = onDelete })
				return connectortest.Instance{
					Connector: e.c,
					Sim:       e.sim,
					Mapping:   DefaultMapping,
					Support:   connectortest.Support{Groups: true, GroupDelete: true, MemberRemove: true, UserDelete: onDelete == OnDeleteDelete},
				}
			})
		})
	}
}

func TestDefaultMapping(t *testing.T) {
	m, err := mapping.New(DefaultMapping, mapping.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		res  map[string]any
		want map[string]any
	}{
		{"work email wins", map[string]any{
			"id": "s1", "userName": "jdoe", "active": true, "displayName": "J Doe", "title": "Eng",
			"name":         map[string]any{"givenName": "J", "familyName": "Doe"},
			"emails":       []any{map[string]any{"value": "home@example.com", "type": "home", "primary": true}, map[string]any{"value": "J.Doe@Example.com", "type": "work"}},
			"phoneNumbers": []any{map[string]any{"value": "+1 555", "type": "work"}},
			enterprise:     map[string]any{"department": "R&D"},
		}, map[string]any{"userName": "j.doe@example.com", "active": true, "displayName": "J Doe", "title": "Eng", "firstName": "J", "lastName": "Doe",
			"phoneNumber": "+1 555", "department": "R&D", "externalId": "s1"}},
		{"primary email next", map[string]any{"id": "s2", "externalId": "x2", "userName": "jdoe",
			"emails": []any{map[string]any{"value": "p@example.com", "type": "home", "primary": true}}},
			map[string]any{"userName": "p@example.com", "externalId": "x2"}},
		{"userName last", map[string]any{"id": "s3", "userName": "Q@Example.com"}, map[string]any{"userName": "q@example.com", "externalId": "s3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Map(connectors.User, tt.res)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if fmt.Sprint(got[k]) != fmt.Sprint(v) {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestTokenURL(t *testing.T) {
	creds := map[string]string{"refresh_token": "r", "client_id": "c", "client_secret": "s"}
	tests := []struct{ base, tokenURL, want string }{
		{"", "", "https://webexapis.com/v1/access_token"},
		{"http://127.0.0.1:8080/identity/scim/o/v2", "", "http://127.0.0.1:8080/v1/access_token"},
		{"http://127.0.0.1:8080/identity/scim/o/v2", "/oauth/token", "http://127.0.0.1:8080/oauth/token"},
		{"http://127.0.0.1:8080/identity/scim/o/v2", "http://127.0.0.2/t", "http://127.0.0.2/t"},
	}
	for _, tt := range tests {
		c := map[string]string{"org_id": "o", "token_url": tt.tokenURL}
		for k, v := range creds {
			c[k] = v
		}
		conn, err := newConnector(connectors.Settings{BaseURL: tt.base, Credentials: c}, connectors.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		if conn.tokens.url != tt.want {
			t.Errorf("base %q token_url %q: %q, want %q", tt.base, tt.tokenURL, conn.tokens.url, tt.want)
		}
	}
}

// A user deleted on the Webex side is created again on its next update.
func TestUpdateRecreatesVanishedUser(t *testing.T) {
	for _, n := range []int{1, 2} { // alone, and through /Bulk
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newEnv(t, webexsim.Options{}, nil)
			var batch []connectors.Change
			for i := range n {
				email := fmt.Sprintf("gone%d@example.com", i)
				prev := userFieldsOf(email)
				batch = append(batch, connectors.Change{Type: connectors.User, ID: fmt.Sprint(i), Op: connectors.OpUpsert, TargetID: "deleted-in-webex",
					Prev: prev, Fields: userFieldsOf(email, "title", "Back")})
			}
			res := e.apply(batch...)
			u := e.sim.Users()
			if len(u) != n {
				t.Fatalf("users = %+v", u)
			}
			for i, r := range res {
				if r.Err != nil || r.TargetID != u[i].TargetID {
					t.Errorf("change %d: %+v, want new target id %s", i, r, u[i].TargetID)
				}
			}
		})
	}
}

// A group deleted in Webex behind the bridge's back is created again on
// its next change (with its fields, bare: the dispatcher then sends all
// its current members because the target id changed). A change that only
// removes members from it is done without re-creating it.
func TestUpdateRecreatesVanishedGroup(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	u1 := e.sim.AddUser("v1@example.com")
	gid := e.sim.AddGroup("Eng", u1)
	if !e.sim.RemoveGroup(gid) {
		t.Fatal("RemoveGroup found nothing")
	}
	fields := map[string]any{"displayName": "Eng", "externalId": "scim-g1"}
	renamed := map[string]any{"displayName": "Engineering", "externalId": "scim-g1"}
	res := e.apply(connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, TargetID: gid, Prev: fields, Fields: renamed,
		MembersAdded: []connectors.Member{{ID: "1", TargetID: u1}}})
	g := e.sim.Groups()
	if res[0].Err != nil || len(res[0].MemberErrors) != 0 || len(g) != 1 || res[0].TargetID != g[0].TargetID || res[0].TargetID == gid {
		t.Fatalf("result %+v, groups %+v: want the group created again under a new id", res[0], g)
	}
	if g[0].Name != "Engineering" {
		t.Errorf("re-created group = %+v, want displayName Engineering", g[0])
	}
	e.sim.RemoveGroup(g[0].TargetID)
	res = e.apply(connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, TargetID: g[0].TargetID, Prev: renamed, Fields: renamed,
		MembersRemoved: []connectors.Member{{ID: "1", TargetID: u1}}})
	if res[0].Err != nil || len(e.sim.Groups()) != 0 {
		t.Errorf("removal from a vanished group: %+v, groups %+v", res[0], e.sim.Groups())
	}
}

// Error answers that echo a credential (some gateways do) reach the error
// (logged, kept as a dead letter's reason, shown by the admin API) with
// the credential blanked; the token endpoint's redirect is not followed
// with the client secret and refresh token in the form.
func TestSecretsEchoedOrRedirected(t *testing.T) {
	secrets := []string{"sim-secret", "sim-refresh-token", "sim-access-token"}
	leaks := func(err error) bool {
		for _, s := range secrets {
			if err != nil && strings.Contains(err.Error(), s) {
				return true
			}
		}
		return false
	}
	e := newEnv(t, webexsim.Options{}, nil)
	e.intercept = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"detail":"bad request with %s"}`, r.Header.Get("Authorization"))
		return true
	}
	if r := e.apply(createUser("1", "a@example.com"))[0]; r.Err == nil || leaks(r.Err) || !strings.Contains(r.Err.Error(), "Bearer [redacted]") {
		t.Errorf("call error %v, want the message with the token redacted", r.Err)
	}

	e = newEnv(t, webexsim.Options{}, nil)
	e.sim.ExpireTokens()
	e.intercept = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if !strings.Contains(r.URL.Path, "access_token") {
			return false
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"message":"invalid grant: %s"}`, body)
		return true
	}
	if r := e.apply(createUser("2", "b@example.com"))[0]; r.Err == nil || leaks(r.Err) {
		t.Errorf("refresh error %v, want it without the form's secrets", r.Err)
	}

	var stolen atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); strings.Contains(string(b), "sim-secret") {
			stolen.Add(1)
		}
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer elsewhere.Close()
	e = newEnv(t, webexsim.Options{}, nil)
	e.sim.ExpireTokens()
	e.intercept = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if !strings.Contains(r.URL.Path, "access_token") {
			return false
		}
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
		return true
	}
	if r := e.apply(createUser("3", "c@example.com"))[0]; r.Err == nil || stolen.Load() != 0 {
		t.Errorf("token endpoint redirect: %v, %d requests with the secret elsewhere", r.Err, stolen.Load())
	}
}
