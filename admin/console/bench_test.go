package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/admin"
)

// BenchmarkPages compares the console's pages with the JSON status answer
// (the baseline) from the same Service, in one run:
//
//	go test -run '^$' -bench Pages ./admin/console/
func BenchmarkPages(b *testing.B) {
	f := newFixture(b, nil)
	c := f.client()
	res, err := c.c.PostForm(f.srv.URL+"/admin/ui/signin", url.Values{"token": {adminToken}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	cookie := c.c.Jar.Cookies(res.Request.URL)[0]
	ui := f.srv.Config.Handler
	api := admin.Handler(f.d, adminToken, admin.WithService(&admin.Service{Dispatcher: f.d}))
	run := func(b *testing.B, h http.Handler, path string, auth bool) {
		for b.Loop() {
			req := httptest.NewRequest("GET", path, nil)
			if auth {
				req.Header.Set("Authorization", "Bearer "+adminToken)
			} else {
				req.AddCookie(cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 || (!auth && !strings.Contains(rec.Body.String(), "signout")) {
				b.Fatalf("%s: %d", path, rec.Code)
			}
		}
	}
	b.Run("baseline=json-status", func(b *testing.B) { run(b, api, "/admin/status", true) })
	b.Run("overview", func(b *testing.B) { run(b, ui, "/admin/ui/", false) })
	b.Run("deadletters", func(b *testing.B) { run(b, ui, "/admin/ui/deadletters", false) })
	b.Run("lookup", func(b *testing.B) { run(b, ui, "/admin/ui/lookup?q=ann.work@example.com", false) })
}
