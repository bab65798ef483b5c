package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/hrimport"
)

// BenchmarkImportPreview compares the Import page's upload (multipart
// form, dry run, redirect, the preview page with its outcome table) with
// the same dry run through hrimport.Run alone (the baseline); the page is
// polled until the background dry run is in, 1,000 new
// rows against the same SCIM endpoint, in one run:
//
//	go test -run '^$' -bench ImportPreview ./admin/console/
func BenchmarkImportPreview(b *testing.B) {
	br := newSCIMBridge(b)
	f := newFixtureWith(b, nil, br.options())
	var file strings.Builder
	file.WriteString("userName,name.givenName,name.familyName,Job Title\n")
	for i := range 1000 {
		fmt.Fprintf(&file, "user%04d@example.com,Given%d,Family%d,Engineer\n", i, i, i)
	}
	data := file.String()

	c := f.client()
	res, err := c.c.PostForm(f.srv.URL+"/admin/ui/signin", url.Values{"token": {adminToken}})
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)[1]
	cookie := c.c.Jar.Cookies(res.Request.URL)[0]
	ui := f.srv.Config.Handler

	b.Run("baseline=hrimport-dry-run", func(b *testing.B) {
		for b.Loop() {
			sum, err := hrimport.Run(context.Background(), br.options().Client(), func() (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader(data)), nil
			}, hrimport.Options{Config: br.options().Config(), DryRun: true, Report: io.Discard})
			if err != nil || sum.Created != 1000 {
				b.Fatal(sum, err)
			}
		}
	})
	b.Run("console-upload-and-preview", func(b *testing.B) {
		for b.Loop() {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			_ = mw.WriteField("csrf", string(csrf))
			fw, _ := mw.CreateFormFile("file", "hr.csv")
			_, _ = io.WriteString(fw, data)
			_ = mw.Close()
			req := httptest.NewRequest("POST", "/admin/ui/import", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			ui.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther {
				b.Fatalf("upload: %d", rec.Code)
			}
			for rec.Code == http.StatusSeeOther || strings.Contains(rec.Body.String(), `data-state="checking"`) {
				time.Sleep(time.Millisecond) // leave the cores to the dry run
				req = httptest.NewRequest("GET", "/admin/ui/import", nil)
				req.AddCookie(cookie)
				rec = httptest.NewRecorder()
				ui.ServeHTTP(rec, req)
			}
			if rec.Code != 200 || strings.Count(rec.Body.String(), `<tr class="outcome create">`) != 1000 {
				b.Fatalf("preview: %d", rec.Code)
			}
			b.ReportMetric(float64(rec.Body.Len()), "page-bytes")
		}
	})
}
