package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzDeadLetterForm posts arbitrary form bodies to the dead letters form
// of a signed-in session: no body crashes the handler or answers 5xx, and
// a body without the session's CSRF token changes nothing.
//
//	go test -run '^$' -fuzz FuzzDeadLetterForm -fuzztime 60s ./admin/console/
func FuzzDeadLetterForm(f *testing.F) {
	fx := newFixture(f, nil)
	c := fx.client()
	res, err := c.c.PostForm(fx.srv.URL+"/admin/ui/signin", url.Values{"token": {adminToken}})
	if err != nil {
		f.Fatal(err)
	}
	res.Body.Close()
	cookie := c.c.Jar.Cookies(res.Request.URL)[0]
	req := httptest.NewRequest("GET", "/admin/ui/", nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h := fx.srv.Config.Handler
	h.ServeHTTP(rec, req)
	csrf := csrfRE.FindStringSubmatch(rec.Body.String())[1]

	for _, seed := range []string{
		"action=retry&dl=webex/1", "row=discard/webex/2", "action=discard&dl=webex/x&dl=/&dl=webex/99999999999999999999",
		"row=retry", "action=&row=//", "dl=%zz", "action=retry&dl=scc/1&connector=<script>", "action=retry-all&connector=webex", "action=retry-all",
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, body string, withCSRF bool) {
		fx.d.fill(fx.clock.Now())
		before := fx.d.count()
		if withCSRF {
			body = "csrf=" + url.QueryEscape(csrf) + "&" + body
		}
		req := httptest.NewRequest("POST", "/admin/ui/deadletters", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q: %d", body, rec.Code)
		}
		form, err := url.ParseQuery(body)
		if (err != nil || form.Get("csrf") != csrf) && fx.d.count() != before {
			t.Fatalf("%q changed the dead letters without the CSRF token", body)
		}
		if rec.Code == http.StatusSeeOther && !strings.HasPrefix(rec.Header().Get("Location"), "/admin/ui/deadletters?") {
			t.Fatalf("%q redirects to %q", body, rec.Header().Get("Location"))
		}
	})
}
