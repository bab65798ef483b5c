package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/admin"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/testconn"
	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/store"
)

const token = "admin-secret"

type fixture struct {
	srv    *httptest.Server
	d      *connectors.Dispatcher
	db     *store.DB
	target *testconn.Target
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	target := testconn.NewTarget(testconn.Options{})
	conn := testconn.New("test", target, connectors.Limits{BatchSize: 10, Rate: 50, Timeout: time.Second})
	d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: conn, Settings: connectors.Settings{Name: "test", Type: "testconn"}}},
		zerolog.Nop(), nil, connectors.WithBackoff(time.Millisecond, 5*time.Millisecond), connectors.WithPollInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.Handler(d, token))
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, d: d, db: db, target: target}
}

func (f *fixture) do(t *testing.T, method, path, tok string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// run delivers the queue until it is empty.
func (f *fixture) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := f.d.Status()
		if st[0].QueueDepth == 0 && st[0].InFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v", st[0])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (f *fixture) write(t *testing.T, id string) {
	t.Helper()
	err := f.db.Update(func(tx *store.Tx) error {
		return f.d.Enqueue(tx, store.Change{Type: store.TypeUser, ID: id, After: map[string]any{"id": id, "userName": id + "@example.com"}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	for _, tok := range []string{"", "wrong", token + "x"} {
		if code, _ := f.do(t, "GET", "/admin/status", tok); code != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", tok, code)
		}
	}
	if code, _ := f.do(t, "GET", "/admin/status", token); code != http.StatusOK {
		t.Errorf("right token: %d", code)
	}
	empty := httptest.NewServer(admin.Handler(f.d, ""))
	defer empty.Close()
	req, _ := http.NewRequest("GET", empty.URL+"/admin/status", nil)
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("empty configured token: %d, want 401", resp.StatusCode)
	}
}

// The scheme is case-insensitive (RFC 6750 §2.1), as on the SCIM endpoint;
// the token is not.
func TestAuthSchemeCaseInsensitive(t *testing.T) {
	f := newFixture(t)
	for header, want := range map[string]int{
		"bearer " + token:                  http.StatusOK,
		"BEARER " + token:                  http.StatusOK,
		"Bearer  " + token:                 http.StatusOK,
		"Bearer " + strings.ToUpper(token): http.StatusUnauthorized,
		"Basic " + token:                   http.StatusUnauthorized,
		"Bearer" + token:                   http.StatusUnauthorized,
		token:                              http.StatusUnauthorized,
	} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/admin/status", nil)
		req.Header.Set("Authorization", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: status %d, want %d", header, resp.StatusCode, want)
		}
		if want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: WWW-Authenticate %q", header, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

func TestStatusShape(t *testing.T) {
	f := newFixture(t)
	code, body := f.do(t, "GET", "/admin/status", token)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	testkit.Golden(t, "status.json", body)
}

func TestDeadLettersRetryDiscardAndTargets(t *testing.T) {
	f := newFixture(t)
	f.target.Poison("u1", "email domain not allowed")
	f.target.Poison("u2", "email domain not allowed")
	f.write(t, "u1")
	f.write(t, "u2")
	f.write(t, "u3")
	f.run(t)

	code, body := f.do(t, "GET", "/admin/deadletters?connector=test", token)
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	var list struct {
		DeadLetters map[string][]store.DeadLetter `json:"deadLetters"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	dl := list.DeadLetters["test"]
	if len(dl) != 2 || !strings.Contains(dl[0].Reason, "email domain not allowed") {
		t.Fatalf("dead letters = %+v", dl)
	}
	if code, _ := f.do(t, "GET", "/admin/deadletters/nope", token); code != http.StatusNotFound {
		t.Errorf("unknown connector: %d, want 404", code)
	}
	if code, _ := f.do(t, "POST", "/admin/deadletters/test/abc/retry", token); code != http.StatusBadRequest {
		t.Errorf("bad id: %d, want 400", code)
	}
	if code, _ := f.do(t, "DELETE", "/admin/deadletters/test/12345", token); code != http.StatusNotFound {
		t.Errorf("discard unknown: %d, want 404", code)
	}

	// Discard the first, fix the target, retry the second.
	if code, body := f.do(t, "DELETE", "/admin/deadletters/test/"+itoa(dl[0].ID), token); code != http.StatusNoContent {
		t.Fatalf("discard: %d %s", code, body)
	}
	f.target.Poison(dl[1].SCIMID, "")
	if code, body := f.do(t, "POST", "/admin/deadletters/test/"+itoa(dl[1].ID)+"/retry", token); code != http.StatusNoContent {
		t.Fatalf("retry: %d %s", code, body)
	}
	f.run(t)
	if n := len(f.target.Users()); n != 2 {
		t.Errorf("target has %d users, want 2 (u3 and the retried one)", n)
	}
	if st, _ := f.d.Status(); st[0].DeadLetters != 0 {
		t.Errorf("dead letters left: %d", st[0].DeadLetters)
	}

	code, body = f.do(t, "GET", "/admin/targets/Users/u3", token)
	var tg struct {
		Targets map[string]string `json:"targets"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &tg) != nil || !strings.HasPrefix(tg.Targets["test"], "tu-") {
		t.Errorf("targets: %d %s", code, body)
	}
	if code, _ := f.do(t, "GET", "/admin/targets/Things/u3", token); code != http.StatusBadRequest {
		t.Errorf("bad type: %d, want 400", code)
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestReconcile(t *testing.T) {
	f := newFixture(t)
	if code, _ := f.do(t, "POST", "/admin/reconcile", token); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("reconcile without WithReconcile: %d, want it absent", code)
	}
	calls := 0
	fail := false
	srv := httptest.NewServer(admin.Handler(f.d, token, admin.WithReconcile(func() error {
		calls++
		if fail {
			return connectors.ErrNotFound
		}
		return nil
	})))
	defer srv.Close()
	f.srv = srv
	if code, body := f.do(t, "POST", "/admin/reconcile", token); code != http.StatusOK || !strings.Contains(string(body), `"reconciled": true`) || calls != 1 {
		t.Errorf("reconcile: %d %s (calls %d)", code, body, calls)
	}
	if code, _ := f.do(t, "POST", "/admin/reconcile", ""); code != http.StatusUnauthorized || calls != 1 {
		t.Errorf("reconcile without a token: %d (calls %d)", code, calls)
	}
	fail = true
	if code, _ := f.do(t, "POST", "/admin/reconcile", token); code < 400 {
		t.Errorf("failing reconcile answered %d", code)
	}
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	if code, _ := f.do(t, "GET", "/admin/verify", token); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("verify without WithVerify: %d, want it absent", code)
	}
	var problems []string
	srv := httptest.NewServer(admin.Handler(f.d, token, admin.WithVerify(func(limit int) ([]string, int, error) {
		if limit <= 0 {
			t.Errorf("verify called without a limit")
		}
		return problems, len(problems) + 1, nil
	})))
	defer srv.Close()
	f.srv = srv
	if code, _ := f.do(t, "GET", "/admin/verify", ""); code != http.StatusUnauthorized {
		t.Errorf("verify without a token: %d", code)
	}
	problems = []string{"count of User is 5, but 2 are stored"}
	code, body := f.do(t, "GET", "/admin/verify", token)
	var got struct {
		OK       bool     `json:"ok"`
		Problems []string `json:"problems"`
		Total    int      `json:"total"`
	}
	if err := json.Unmarshal(body, &got); err != nil || code != http.StatusOK || got.OK || got.Total != 2 || len(got.Problems) != 1 {
		t.Errorf("verify: %d %s", code, body)
	}
}

// Unknown paths and wrong methods answer JSON like every admin error.
func TestNotFoundAndMethodAreJSON(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/admin/nope", http.StatusNotFound},
		{"DELETE", "/admin/status", http.StatusMethodNotAllowed},
	} {
		code, body := f.do(t, tt.method, tt.path, token)
		var e struct {
			Error string `json:"error"`
		}
		if code != tt.status || json.Unmarshal(body, &e) != nil || e.Error == "" {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, code, body)
		}
	}
}

// A second reconcile or verify while one runs is refused with 409, not
// stacked up behind it.
func TestOneReconcileAndVerifyAtATime(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	srv := httptest.NewServer(admin.Handler(f.d, token,
		admin.WithReconcile(func() error { started <- struct{}{}; <-release; return nil }),
		admin.WithVerify(func(int) ([]string, int, error) { started <- struct{}{}; <-release; return nil, 0, nil })))
	defer srv.Close()
	f.srv = srv
	for _, ep := range []struct{ method, path string }{{"POST", "/admin/reconcile"}, {"GET", "/admin/verify"}} {
		first := make(chan int)
		go func() { code, _ := f.do(t, ep.method, ep.path, token); first <- code }()
		<-started
		if code, body := f.do(t, ep.method, ep.path, token); code != http.StatusConflict {
			t.Errorf("second %s while one runs: %d %s", ep.path, code, body)
		}
		release <- struct{}{}
		if code := <-first; code != http.StatusOK {
			t.Errorf("first %s: %d", ep.path, code)
		}
	}
}

// The drift check starts in the background and reports through GET; a
// connector that cannot list is a 400, a bad repair flag too.
func TestCheckTargets(t *testing.T) {
	f := newFixture(t)
	if code, body := f.do(t, "POST", "/admin/check-targets?connector=test", token); code != http.StatusBadRequest {
		t.Errorf("testconn cannot list: %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/admin/check-targets?connector=nope", token); code != http.StatusNotFound {
		t.Errorf("unknown connector: %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/admin/check-targets?repair=maybe", token); code != http.StatusBadRequest {
		t.Errorf("bad repair flag: %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/admin/check-targets", token); code != http.StatusAccepted {
		t.Fatalf("start: %d %s", code, body)
	}
	for {
		code, body := f.do(t, "GET", "/admin/check-targets", token)
		var rep struct {
			Running bool  `json:"running"`
			Results []any `json:"results"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &rep) != nil {
			t.Fatalf("report: %d %s", code, body)
		}
		if !rep.Running {
			if len(rep.Results) != 0 {
				t.Errorf("no connector can list, yet results %s", body)
			}
			break
		}
		time.Sleep(time.Millisecond)
	}
}
