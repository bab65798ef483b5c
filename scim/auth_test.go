package scim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BearerAuth: the scheme in any case (RFC 6750 §2.1), any of several
// tokens, and never an empty bearer, even with an empty token configured.
func TestBearerAuth(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name   string
		tokens []string
		header string
		want   int
	}{
		{"lower-case scheme", []string{"t1"}, "bearer t1", 204},
		{"upper-case scheme", []string{"t1"}, "BEARER t1", 204},
		{"second of two tokens", []string{"t1", "t2"}, "Bearer t2", 204},
		{"token is case-sensitive", []string{"t1"}, "Bearer T1", 401},
		{"prefix of a token", []string{"t1"}, "Bearer t", 401},
		{"other scheme", []string{"t1"}, "Basic t1", 401},
		{"no scheme", []string{"t1"}, "t1", 401},
		{"empty bearer, empty token configured", []string{"", "t1"}, "Bearer ", 401},
		{"empty bearer, only an empty token", []string{""}, "Bearer ", 401},
		{"scheme alone, only an empty token", []string{""}, "Bearer", 401},
		{"no tokens at all", nil, "Bearer ", 401},
		{"no header", []string{"t1"}, "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/Users", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			BearerAuth(tt.tokens)(ok).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 401 {
				if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") || !strings.Contains(rec.Body.String(), errorSchema) {
					t.Errorf("401 without WWW-Authenticate or SCIM body: %q %s", rec.Header().Get("WWW-Authenticate"), rec.Body)
				}
			}
		})
	}
}
