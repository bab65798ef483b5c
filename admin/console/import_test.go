package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/admin/console"
	"github.com/scimbridge/scimbridge/hrimport"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/store"
)

const scimToken = "console-import-scim-token-5e6f7a8b"

// scimBridge is a real SCIM endpoint over a bbolt store that counts the
// writes it receives; hold makes writes wait until released.
type scimBridge struct {
	srv    *httptest.Server
	writes atomic.Int64
	mu     sync.Mutex
	gate   chan struct{} // non-nil: writes wait for it to close
}

func newSCIMBridge(t testing.TB) *scimBridge {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "scim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := scim.New(scim.Options{}, db, store.NopSink{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	b := &scimBridge{}
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				b.writes.Add(1)
				b.mu.Lock()
				gate := b.gate
				b.mu.Unlock()
				if gate != nil {
					<-gate
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	r.Use(scim.BearerAuth([]string{scimToken}))
	r.Mount("/scim/v2", s.Handler())
	b.srv = httptest.NewServer(r)
	t.Cleanup(b.srv.Close)
	return b
}

func (b *scimBridge) options() *console.ImportOptions {
	return &console.ImportOptions{
		Client: func() *hrimport.Client { return hrimport.NewClient(b.srv.URL, scimToken, b.srv.Client()) },
		Config: func() hrimport.Config {
			return hrimport.Config{Columns: map[string]hrimport.Targets{"Job Title": {"title"}}}
		},
	}
}

// users returns userName -> user as the SCIM endpoint has them.
func (b *scimBridge) users(t *testing.T) map[string]map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", b.srv.URL+"/scim/v2/Users?count=100", nil)
	req.Header.Set("Authorization", "Bearer "+scimToken)
	res, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct{ Resources []map[string]any }
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, u := range list.Resources {
		out[u["userName"].(string)] = u
	}
	return out
}

func (b *scimBridge) create(t *testing.T, user string) {
	t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+"/scim/v2/Users", strings.NewReader(user))
	req.Header.Set("Authorization", "Bearer "+scimToken)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", res.StatusCode)
	}
}

// upload posts the Import page's multipart form.
func (c *client) upload(t *testing.T, csrf, name, content string, fields url.Values) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		_ = mw.WriteField("csrf", csrf)
	}
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.f.srv.URL+"/admin/ui/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	code, page := c.do(t, req)
	if code == http.StatusOK && strings.Contains(page, `data-state="checking"`) {
		page = c.waitState(t, "preview") // the dry run runs in the background
	}
	return code, page
}

var jobIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

func jobID(t *testing.T, page string) string {
	t.Helper()
	m := jobIDRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no import id on the page:\n%s", page)
	}
	return m[1]
}

// waitState polls the Import page until the job is in state.
func (c *client) waitState(t *testing.T, state string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, page := c.get(t, "/admin/ui/import")
		if strings.Contains(page, `data-state="`+state+`"`) {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatalf("import never reached %q:\n%s", state, page)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const hrFile = "userName,name.givenName,name.familyName,Job Title\r\n" +
	"ann@example.com,Ann,O'Lee,Engineer\r\n" +
	"bob@example.com,Bob,Ng,Manager\r\n" +
	",Nobody,Keyless,Clerk\r\n" +
	"cy@example.com,Cy,O'Neil,Engineer\r\n"

func TestImportUploadPreviewApplyReport(t *testing.T) {
	b := newSCIMBridge(t)
	b.create(t, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@example.com","name":{"givenName":"Bob","familyName":"Ng"},"title":"Engineer"}`)
	b.create(t, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"cy@example.com","name":{"givenName":"Cy","familyName":"O'Neil"},"title":"Engineer"}`)
	f := newFixtureWith(t, nil, b.options())
	c := f.client()
	csrf := c.signIn(t)
	if _, page := c.get(t, "/admin/ui/import"); !strings.Contains(page, `href="/admin/ui/import"`) || !strings.Contains(page, `id="none"`) {
		t.Fatalf("import page before any upload:\n%s", page)
	}
	before := b.writes.Load()

	code, page := c.upload(t, csrf, "hr.csv", hrFile, nil)
	if code != http.StatusOK || !strings.Contains(page, `data-state="preview"`) {
		t.Fatalf("upload: %d\n%s", code, page)
	}
	if n := b.writes.Load() - before; n != 0 {
		t.Fatalf("the dry run sent %d writes", n)
	}
	for _, want := range []string{
		`<tr class="outcome create">`, `ann@example.com`,
		`<tr class="outcome update">`, `title: &#34;Engineer&#34; -&gt; &#34;Manager&#34;`,
		`&#34;O&#39;Lee&#34;`, `managedBy: (none) -&gt; &#34;hr&#34;`,
		`<tr class="outcome rejected">`, `<td class="num">4</td>`, `missing matching key`,
		`id="apply"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	// Problems come first.
	if strings.Index(page, `outcome rejected`) > strings.Index(page, `outcome create`) {
		t.Error("the rejected row is not listed first")
	}
	id := jobID(t, page)
	code, pre := c.get(t, "/admin/ui/import/report?kind=preview&id="+url.QueryEscape(id))
	if code != http.StatusOK || !strings.HasPrefix(pre, "row,key,outcome,column,reason,changes\n") || !strings.Contains(pre, "4,,rejected") {
		t.Fatalf("preview report: %d\n%s", code, pre)
	}

	code, page = c.post(t, "/admin/ui/import/apply", url.Values{"csrf": {csrf}, "id": {id}})
	if code != http.StatusOK || !strings.Contains(page, "Import started") {
		t.Fatalf("apply: %d\n%s", code, page)
	}
	page = c.waitState(t, "applied")
	if !strings.Contains(page, `id="result-summary"`) || !strings.Contains(page, "1 created, 2 updated, 0 unchanged, 1 rejected") {
		t.Fatalf("applied page:\n%s", page)
	}
	users := b.users(t)
	if users["ann@example.com"] == nil || users["ann@example.com"]["title"] != "Engineer" || users["bob@example.com"]["title"] != "Manager" {
		t.Fatalf("users after the import: %v", users)
	}
	if len(users) != 3 {
		t.Fatalf("%d users, want 3", len(users))
	}

	code, rep := c.get(t, "/admin/ui/import/report?id="+url.QueryEscape(id))
	if code != http.StatusOK || !strings.Contains(rep, "4,,rejected,userName,missing matching key") {
		t.Fatalf("report: %d\n%s", code, rep)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/admin/ui/import/report?id="+url.QueryEscape(id), nil)
	res, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ct, cd := res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(cd, "attachment") {
		t.Fatalf("report headers: %q %q", ct, cd)
	}

	// Applying the same upload twice is refused.
	written := b.writes.Load()
	if code, page := c.post(t, "/admin/ui/import/apply", url.Values{"csrf": {csrf}, "id": {id}}); code != http.StatusConflict || !strings.Contains(page, "already applied") {
		t.Fatalf("second apply: %d\n%s", code, page)
	}
	if b.writes.Load() != written {
		t.Fatal("a refused apply wrote")
	}
	for _, p := range f.pages {
		if strings.Contains(p, scimToken) || strings.Contains(p, adminToken) {
			t.Fatal("a page shows a token")
		}
	}
}

func TestImportNeedsSessionAndCSRF(t *testing.T) {
	b := newSCIMBridge(t)
	f := newFixtureWith(t, nil, b.options())
	c := f.client()

	// No session: refused before the file is read.
	if code, page := c.upload(t, "", "hr.csv", hrFile, nil); code != http.StatusForbidden || signedIn(page) {
		t.Fatalf("upload without a session: %d", code)
	}
	csrf := c.signIn(t)
	if code, _ := c.upload(t, "forged", "hr.csv", hrFile, nil); code != http.StatusForbidden {
		t.Fatalf("upload with a forged CSRF token: %d", code)
	}
	if _, page := c.get(t, "/admin/ui/import"); !strings.Contains(page, `id="none"`) {
		t.Fatalf("a refused upload left a job:\n%s", page)
	}

	_, page := c.upload(t, csrf, "hr.csv", hrFile, nil)
	id := jobID(t, page)
	before := b.writes.Load()
	if code, _ := c.post(t, "/admin/ui/import/apply", url.Values{"csrf": {"forged"}, "id": {id}}); code != http.StatusForbidden {
		t.Fatalf("apply with a forged CSRF token: %d", code)
	}
	other := f.client() // another browser, not signed in
	if code, _ := other.post(t, "/admin/ui/import/apply", url.Values{"csrf": {csrf}, "id": {id}}); code != http.StatusForbidden {
		t.Fatalf("apply without a session: %d", code)
	}
	if code, _ := other.get(t, "/admin/ui/import/report?kind=preview&id="+url.QueryEscape(id)); code != http.StatusOK {
		t.Fatalf("report without a session: %d", code)
	} else if p := f.pages[len(f.pages)-1]; strings.Contains(p, "row,key") || strings.Contains(p, "ann@example.com") {
		t.Fatal("the report was served without a session")
	}
	if code, _ := c.post(t, "/admin/ui/import/apply", url.Values{"csrf": {csrf}, "id": {"not-this-one"}}); code != http.StatusConflict {
		t.Fatalf("apply of another id: %d", code)
	}
	if n := b.writes.Load() - before; n != 0 {
		t.Fatalf("refused applies sent %d writes", n)
	}
	if users := b.users(t); len(users) != 0 {
		t.Fatalf("users created by refused requests: %v", users)
	}
}

func TestImportOneAtATime(t *testing.T) {
	b := newSCIMBridge(t)
	f := newFixtureWith(t, nil, b.options())
	c := f.client()
	csrf := c.signIn(t)
	_, page := c.upload(t, csrf, "hr.csv", hrFile, nil)
	id := jobID(t, page)

	gate := make(chan struct{})
	b.mu.Lock()
	b.gate = gate
	b.mu.Unlock()
	if code, _ := c.post(t, "/admin/ui/import/apply", url.Values{"csrf": {csrf}, "id": {id}}); code != http.StatusOK {
		t.Fatalf("apply: %d", code)
	}
	page = c.waitState(t, "applying")
	if !strings.Contains(page, `id="progress"`) || strings.Contains(page, `id="discard"`) {
		t.Fatalf("progress view:\n%s", page)
	}
	if code, page := c.upload(t, csrf, "other.csv", hrFile, nil); code != http.StatusConflict || !strings.Contains(page, "already running") {
		t.Fatalf("upload while applying: %d\n%s", code, page)
	}
	if code, _ := c.post(t, "/admin/ui/import/apply", url.Values{"csrf": {csrf}, "id": {id}}); code != http.StatusConflict {
		t.Fatalf("second apply while applying: %d", code)
	}
	if code, _ := c.post(t, "/admin/ui/import/discard", url.Values{"csrf": {csrf}, "id": {id}}); code != http.StatusOK {
		t.Fatalf("discard while applying: %d", code)
	}
	b.mu.Lock()
	b.gate = nil
	b.mu.Unlock()
	close(gate)
	c.waitState(t, "applied")
	if users := b.users(t); len(users) != 3 {
		t.Fatalf("%d users after the import, want 3", len(users))
	}
	// Finished: a new upload replaces it.
	if code, page := c.upload(t, csrf, "again.csv", hrFile, nil); code != http.StatusOK || !strings.Contains(page, "0 to create, 0 to update, 3 unchanged") {
		t.Fatalf("second upload: %d\n%s", code, page)
	}
	if _, page := c.post(t, "/admin/ui/import/discard", url.Values{"csrf": {csrf}, "id": {jobID(t, f.pages[len(f.pages)-1])}}); !strings.Contains(page, `id="none"`) {
		t.Fatalf("after discard:\n%s", page)
	}
}

func TestImportBadFile(t *testing.T) {
	b := newSCIMBridge(t)
	f := newFixtureWith(t, nil, b.options())
	c := f.client()
	csrf := c.signIn(t)
	tests := []struct {
		name, file string
		fields     url.Values
		status     int
		want       []string
		canApply   bool
	}{
		{"bad rows", "userName,emails[type eq \"work\"].value,active\n" +
			"a@example.com,a@example.com,yes\n" +
			"b@example.com,not-an-email,yes\n" +
			"c@example.com,c@example.com,maybe\n" +
			"a@example.com,a2@example.com,no\n",
			nil, http.StatusOK,
			[]string{`<td class="num">3</td>`, `<td class="num">4</td>`, `<td class="num">5</td>`, "maybe", "1 to create", "3 rejected"}, true},
		{"unknown match attribute", "userName\nann@example.com\n", url.Values{"match": {"nosuch"}}, http.StatusOK,
			[]string{`id="preview-error"`, "nosuch"}, false},
		{"empty", "  \n", nil, http.StatusBadRequest, []string{"The file is empty"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, page := c.upload(t, csrf, "bad.csv", tc.file, tc.fields)
			if code != tc.status {
				t.Fatalf("status %d, want %d\n%s", code, tc.status, page)
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if got := strings.Contains(page, `id="apply"`); got != tc.canApply {
				t.Errorf("apply button shown: %v, want %v", got, tc.canApply)
			}
		})
	}
	if b.writes.Load() != 0 {
		t.Fatalf("bad files sent %d writes", b.writes.Load())
	}
}

func TestImportUploadLimit(t *testing.T) {
	b := newSCIMBridge(t)
	opts := b.options()
	opts.MaxUpload = 1 << 20
	f := newFixtureWith(t, nil, opts)
	c := f.client()
	csrf := c.signIn(t)
	big := "userName\n" + strings.Repeat("someone@example.com\n", 3<<20/20)
	if code, page := c.upload(t, csrf, "big.csv", big, nil); code != http.StatusRequestEntityTooLarge || !strings.Contains(page, "larger than 1 MiB") {
		t.Fatalf("too large: %d\n%s", code, page)
	}
	if _, page := c.get(t, "/admin/ui/import"); !strings.Contains(page, `id="none"`) {
		t.Fatal("a refused upload left a job")
	}
}

func TestImportPageDisabled(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	csrf := c.signIn(t)
	if _, page := c.get(t, "/admin/ui/"); strings.Contains(page, `href="/admin/ui/import"`) {
		t.Fatal("the nav links the disabled Import page")
	}
	if code, _ := c.upload(t, csrf, "hr.csv", hrFile, nil); code != http.StatusNotFound {
		t.Fatalf("upload with imports disabled: %d", code)
	}
}

func TestImportRoster(t *testing.T) {
	b := newSCIMBridge(t)
	f := newFixtureWith(t, nil, b.options())
	c := f.client()
	csrf := c.signIn(t)
	apply := func(file string, fields url.Values) string {
		t.Helper()
		code, page := c.upload(t, csrf, "hr.csv", file, fields)
		if code != http.StatusOK || !strings.Contains(page, `id="apply"`) {
			t.Fatalf("upload: %d\n%s", code, page)
		}
		c.post(t, "/admin/ui/import/apply", url.Values{"csrf": {csrf}, "id": {jobID(t, page)}})
		return c.waitState(t, "applied")
	}
	apply(hrFile, nil) // ann, bob, cy: managed by the import

	only := "userName,name.givenName,name.familyName\nann@example.com,Ann,O'Lee\n"
	roster := url.Values{"roster": {"1"}}
	code, page := c.upload(t, csrf, "roster.csv", only, roster)
	if code != http.StatusOK || !strings.Contains(page, `id="preview-error"`) || !strings.Contains(page, "too many") || strings.Contains(page, `id="apply"`) {
		t.Fatalf("roster over the default limit: %d\n%s", code, page)
	}
	before := b.writes.Load()
	if code, _ := c.post(t, "/admin/ui/import/apply", url.Values{"csrf": {csrf}, "id": {jobID(t, page)}}); code != http.StatusConflict {
		t.Fatalf("apply of a refused roster: %d", code)
	}
	if b.writes.Load() != before {
		t.Fatal("a refused roster wrote")
	}

	roster.Set("max_deactivate", "2")
	page = apply(only, roster)
	if !strings.Contains(page, "2 deactivated") {
		t.Fatalf("roster applied:\n%s", page)
	}
	users := b.users(t)
	if users["ann@example.com"]["active"] == false {
		t.Error("ann, in the roster, was deactivated")
	}
	for _, name := range []string{"bob@example.com", "cy@example.com"} {
		if users[name]["active"] != false {
			t.Errorf("%s, missing from the roster: active = %v", name, users[name]["active"])
		}
	}
}
