package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/store"
)

// TestConsoleImportAsClientConsole: the console's import goes through the
// whole router as the built-in SCIM client "console" (access log and
// metrics name it), with a credential that is neither the admin token nor
// shown anywhere.
func TestConsoleImportAsClientConsole(t *testing.T) {
	const admin = "admin-token-console-import-77"
	const scimTok = "scim-token-console-import-88"
	dir := t.TempDir()
	// import.client makes the provenance mark writable by that client
	// only: the console writes it too.
	yaml := "data_dir: " + dir + "\ntokens: [\"" + scimTok + "\"]\nscim:\n  clients:\n    - name: hr\n      bearer: [\"${HR_TOKEN}\"]\nimport:\n  client: hr\n"
	cfg, err := config.Parse([]byte(yaml), func(k string) (string, bool) { return "hr-token-console-import-99", k == "HR_TOKEN" })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "scimbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.LogBuffer{}
	log := zerolog.New(logs)
	reg := prometheus.NewRegistry()
	a, err := buildApp(cfg, db, cfg.Tokens, admin, reg, log)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.start(ctx)
	ts := httptest.NewServer(newRouter(log, reg, a, ""))
	t.Cleanup(func() {
		ts.Close()
		cancel()
		_ = a.shutdown(context.Background())
		a.close()
		db.Close()
	})
	if a.console.importToken == "" || a.console.importToken == admin {
		t.Fatal("no separate credential for the console client")
	}

	// cy exists already (an IdP created her): the import updates her.
	req, _ := http.NewRequest("POST", ts.URL+"/scim/v2/Users", strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"cy@example.com","name":{"givenName":"Cy","familyName":"Old"}}`))
	req.Header.Set("Authorization", "Bearer "+scimTok)
	req.Header.Set("Content-Type", "application/scim+json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("create cy: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	var pages []string
	do := func(req *http.Request) string {
		t.Helper()
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		pages = append(pages, string(b))
		return string(b)
	}
	post := func(path string, form url.Values) string {
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return do(req)
	}
	page := post("/admin/ui/signin", url.Values{"token": {admin}})
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("sign-in:\n%s", page)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", csrf[1])
	fw, _ := mw.CreateFormFile("file", "hr.csv")
	_, _ = io.WriteString(fw, "userName,name.givenName,name.familyName\nann@example.com,Ann,Lee\nbob@example.com,Bob,Ng\ncy@example.com,Cy,New\n")
	_ = mw.Close()
	req, _ = http.NewRequest("POST", ts.URL+"/admin/ui/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	page = do(req)
	for deadline := time.Now().Add(20 * time.Second); strings.Contains(page, `data-state="checking"`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the dry run never ended")
		}
		req, _ := http.NewRequest("GET", ts.URL+"/admin/ui/import", nil)
		page = do(req)
	}
	id := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(page)
	if id == nil || !strings.Contains(page, "2 to create, 1 to update") {
		t.Fatalf("preview:\n%s", page)
	}
	post("/admin/ui/import/apply", url.Values{"csrf": {csrf[1]}, "id": {id[1]}})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("GET", ts.URL+"/admin/ui/import", nil)
		if page = do(req); strings.Contains(page, `data-state="applied"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never applied:\n%s", page)
		}
	}
	if !strings.Contains(page, "2 created, 1 updated, 0 unchanged, 0 rejected, 0 failed") {
		t.Fatalf("applied:\n%s", page)
	}
	n := 0
	_ = db.View(func(tx *store.Tx) error { n = tx.CountResources(store.TypeUser); return nil })
	if n != 3 {
		t.Fatalf("%d users stored, want 3", n)
	}
	if requestsOf(reg, "console") == 0 {
		t.Fatal("no request counted for client console")
	}
	bulk := false
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"path":"/scim/v2/Bulk"`) {
			bulk = true
			if !strings.Contains(line, `"client":"console"`) || !strings.Contains(line, `"status":200`) {
				t.Errorf("access log line of the import: %s", line)
			}
		}
	}
	if !bulk {
		t.Fatal("the import's /Bulk request is not in the access log")
	}
	for _, s := range []string{a.console.importToken, admin, scimTok} {
		if strings.Contains(logs.String(), s) {
			t.Error("a credential is in the log")
		}
		for _, p := range pages {
			if strings.Contains(p, s) {
				t.Error("a credential is on a page")
			}
		}
	}
}

func TestConsoleClientNameReserved(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("data_dir: "+dir+"\nscim:\n  clients:\n    - name: console\n      bearer: [\"${T}\"]\n"),
		func(k string) (string, bool) { return "some-token-value-1234", k == "T" })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "scimbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = buildApp(cfg, db, nil, "admin-token-x", prometheus.NewRegistry(), zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), `"console" is reserved`) {
		t.Fatalf("a configured client named console: %v", err)
	}
}
