package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzTokenForm: no body or Authorization header panics the token
// endpoint, a form the strict parser accepts has no repeated or
// control-character parameter, and a token is issued only to the right
// client secret.
func FuzzTokenForm(f *testing.F) {
	for _, s := range []string{
		"grant_type=client_credentials&client_id=gallery&client_secret=" + url.QueryEscape(gallerySecret),
		"grant_type=client_credentials&client_id=gallery&client_secret=" + url.QueryEscape(gallerySecret) + "&client_secret=x",
		"grant_type=refresh_token&refresh_token=abc", "grant_type=authorization_code&code=x&code_verifier=y",
		"%zz=1", "a=%00", "grant_type=client_credentials;client_id=gallery", "", "&&&==", "client_id=gallery%0a",
	} {
		f.Add(s, "")
	}
	f.Add("grant_type=client_credentials", "Basic Z2FsbGVyeTpnYWxsZXJ5LXNlY3JldC1vbmUtMDEyMzQ1Njc4OQ==")
	f.Add("grant_type=client_credentials", "Basic Og==")
	e := newEnv(f)
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, body, authz string) {
		if form, oe := parseFormBody(body); oe == nil {
			for k, v := range form {
				if len(v) != 1 || !printable(k) || !printable(v[0]) {
					t.Fatalf("accepted %q", body)
				}
			}
		}
		req := httptest.NewRequest("POST", TokenPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			req.Header["Authorization"] = []string{authz}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			form, _ := url.ParseQuery(body)
			basicOK := authz == "Basic Z2FsbGVyeTpnYWxsZXJ5LXNlY3JldC1vbmUtMDEyMzQ1Njc4OQ=="
			postOK := form.Get("client_secret") == gallerySecret || form.Get("client_secret") == gallerySecret2
			if !basicOK && !postOK {
				t.Fatalf("token issued for %q with %q", body, authz)
			}
		}
	})
}
