package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// As a new user would: run the demo, open the console URL it prints, sign
// in with the admin token it prints, find a demo user delivered everywhere.
func TestDemoConsole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	var page string
	var code int
	done := func() {
		defer cancel()
		m := regexp.MustCompile(`Status console: (http://127\.0\.0\.1:\d+/admin/ui/)  \(sign in with the admin token (\S+)\)`).FindStringSubmatch(out.String())
		if m == nil {
			t.Errorf("the demo prints no console URL:\n%s", out.String())
			return
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		res, err := c.PostForm(m[1]+"signin", url.Values{"token": {m[2]}})
		if err != nil {
			t.Error(err)
			return
		}
		res.Body.Close()
		res, err = c.Get(m[1] + "lookup?q=" + url.QueryEscape("ada.lovelace@example.com"))
		if err != nil {
			t.Error(err)
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		code, page = res.StatusCode, string(b)
	}
	if err := runDemo(ctx, "127.0.0.1:0", false, &out, done); err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK || strings.Count(page, `data-state="delivered"`) != 4 {
		t.Errorf("lookup of a demo user: %d\n%s", code, page)
	}
}
