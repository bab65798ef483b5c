package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name, incoming string
		kept           bool
	}{
		{"honoured", "abc-123_X.y:z", true},
		{"generated when absent", "", false},
		{"replaced when it could inject into logs", "a\nb", false},
		{"replaced when too long", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged bytes.Buffer
			h := withLogger(zerolog.New(&logged))(requestID(accessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusTeapot)
			}))))
			req := httptest.NewRequest("GET", "/scim/v2/Users?filter=secret", nil)
			if tt.incoming != "" {
				req.Header.Set(requestIDHeader, tt.incoming)
			}
			req.Header.Set("Authorization", "Bearer sekrit-token")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(requestIDHeader)
			if tt.kept != (got == tt.incoming) || got == "" {
				t.Fatalf("request id %q (incoming %q)", got, tt.incoming)
			}
			var line map[string]any
			if err := json.Unmarshal(logged.Bytes(), &line); err != nil {
				t.Fatalf("access log line: %v (%q)", err, logged.String())
			}
			if line["request_id"] != got || line["status"] != float64(http.StatusTeapot) || line["path"] != "/scim/v2/Users" {
				t.Errorf("access line %v", line)
			}
			if strings.Contains(logged.String(), "sekrit") || strings.Contains(logged.String(), "filter=") {
				t.Errorf("access line leaks a header or the query: %s", logged.String())
			}
		})
	}
}

func TestRecovererAnswersSCIMError(t *testing.T) {
	var logged bytes.Buffer
	h := withLogger(zerolog.New(&logged))(recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/x", strings.NewReader(`{"userName":"u","password":"pw-sekrit"}`))
	req.Header.Set("Authorization", "Bearer tok-sekrit")
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/scim+json" {
		t.Fatalf("status %d type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["status"] != "500" || body["detail"] == "" {
		t.Fatalf("body %s (%v)", rec.Body, err)
	}
	if !strings.Contains(logged.String(), "boom") {
		t.Errorf("panic not logged")
	}
	if strings.Contains(logged.String(), "sekrit") || strings.Contains(rec.Body.String(), "sekrit") {
		t.Errorf("panic log or answer carries the request's token or body: %s %s", logged.String(), rec.Body)
	}
}

func TestEnsureToken(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	got, err := ensureToken([]string{"configured"}, dir, "scim-token", "token", &out)
	if err != nil || len(got) != 1 || got[0] != "configured" || out.Len() != 0 {
		t.Fatalf("configured token: %v %v %q", got, err, out.String())
	}
	first, err := ensureToken(nil, dir, "scim-token", "token", &out)
	if err != nil || len(first[0]) < 40 || !strings.Contains(out.String(), first[0]) {
		t.Fatalf("generated: %v %v %q", first, err, out.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "scim-token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	out.Reset()
	again, err := ensureToken(nil, dir, "scim-token", "token", &out)
	if err != nil || again[0] != first[0] || out.Len() != 0 {
		t.Fatalf("second start must reuse and not print: %v %q", again, out.String())
	}

	// An empty token file left readable by others gets a new token, and the
	// token is not left readable by others.
	if err := os.WriteFile(filepath.Join(dir, "admin-token"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := ensureToken(nil, dir, "admin-token", "token", &out)
	if err != nil || tok[0] == "" {
		t.Fatalf("empty file: %v %v", tok, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "admin-token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token written into an existing file: %v %v, want mode 0600", fi.Mode(), err)
	}
}

func TestRedactedURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@api.example.com/v1": "https://user:xxxxx@api.example.com/v1",
		"https://api.example.com/v1":             "https://api.example.com/v1",
		"http://[::1:bad":                        "(unparsable URL)",
	} {
		if got := redactedURL(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("redactedURL(%q) = %q, want %q", in, got, want)
		}
	}
}
