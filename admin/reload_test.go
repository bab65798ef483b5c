package admin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/admin"
)

func TestReload(t *testing.T) {
	f := newFixture(t)
	if code, _ := f.do(t, "POST", "/admin/reload", token); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("reload without WithReload: %d, want it absent", code)
	}
	calls := 0
	var fail error
	srv := httptest.NewServer(admin.Handler(f.d, token, admin.WithReload(func() error { calls++; return fail })))
	defer srv.Close()
	f.srv = srv
	if code, body := f.do(t, "POST", "/admin/reload", token); code != http.StatusOK || !strings.Contains(string(body), `"reloaded": true`) || calls != 1 {
		t.Errorf("reload: %d %s (calls %d)", code, body, calls)
	}
	if code, _ := f.do(t, "POST", "/admin/reload", ""); code != http.StatusUnauthorized || calls != 1 {
		t.Errorf("reload without a token: %d (calls %d)", code, calls)
	}
	fail = errors.New("scim.clients[a]: set bearer, basic or oauth")
	if code, body := f.do(t, "POST", "/admin/reload", token); code != http.StatusBadRequest || !strings.Contains(string(body), "scim.clients[a]") {
		t.Errorf("failing reload: %d %s", code, body)
	}
}
