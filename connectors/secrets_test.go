package connectors_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
)

func TestRedact(t *testing.T) {
	for _, tt := range []struct {
		msg     string
		secrets []string
		want    string
	}{
		{"token abc and abc again", []string{"abc"}, "token [redacted] and [redacted] again"},
		{"nothing here", []string{"", "zzz"}, "nothing here"}, // an unset secret blanks nothing
		{"a=s1&b=s2", []string{"s1", "s2"}, "a=[redacted]&b=[redacted]"},
	} {
		if got := connectors.Redact(tt.msg, tt.secrets...); got != tt.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tt.msg, tt.secrets, got, tt.want)
		}
	}
}

func TestNoRedirects(t *testing.T) {
	followed := false
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed = true }))
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusPermanentRedirect))
	defer redirect.Close()
	base := redirect.Client()
	res, err := connectors.NoRedirects(base).Post(redirect.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusPermanentRedirect || followed {
		t.Errorf("status %d, followed %v: want the 308 answered, not followed", res.StatusCode, followed)
	}
	if base.CheckRedirect != nil {
		t.Error("NoRedirects changed the client it was given")
	}
}
