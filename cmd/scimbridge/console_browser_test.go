package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/connectors/simkit"
	"github.com/scimbridge/scimbridge/store"
)

// The console's browser tests drive headless Chromium (Debian's chromium
// package) against the whole bridge with all four connectors on their
// simulators. They assert on what the page shows, never on pixels. They
// skip without Chromium, except under CI=true, where they must run.

const consoleAdminToken = "console-admin-token-4f9c2b7e1d"

type consoleBridge struct {
	base string // http://127.0.0.1:port
	app  *app
}

func newConsoleBridge(t *testing.T) *consoleBridge {
	t.Helper()
	var yaml strings.Builder
	yaml.WriteString("tokens: [" + e2eToken + "]\nconnectors:\n")
	for _, r := range registrations() {
		fmt.Fprintf(&yaml, "  %s: {type: %s, enabled: true, simulate: true}\n", r.Type, r.Type)
	}
	cfg, err := config.Parse([]byte(yaml.String()), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "scimbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildApp(cfg, db, cfg.Tokens, consoleAdminToken, prometheus.NewRegistry(), zerolog.Nop())
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	a.console.refresh = 200 * time.Millisecond // the page's own refresh shows changes: no reloads in the tests
	ctx, cancel := context.WithCancel(context.Background())
	a.start(ctx)
	r := chi.NewRouter()
	a.mount(r)
	ts := httptest.NewServer(r)
	t.Cleanup(func() {
		ts.Close()
		cancel()
		_ = a.shutdown(context.Background())
		a.close()
		db.Close()
	})
	return &consoleBridge{base: ts.URL, app: a}
}

// failNext makes a connector's simulator answer its next n requests with
// a permanent error (the target's own 400 body); after them it serves
// again. It is the one place the tests touch the simulators' fault knobs.
func (b *consoleBridge) failNext(t *testing.T, connector string, n int) {
	t.Helper()
	sim, ok := b.app.simulators[connector].(simkit.Sim)
	if !ok {
		t.Fatalf("connector %s has no simulator with fault knobs", connector)
	}
	sim.FailNext(simkit.FaultPermanent, n)
}

// createFailing creates a user while the connector's target refuses its
// first request, and waits for the change to be dead-lettered there: the
// target serves again afterwards.
func (b *consoleBridge) createFailing(t *testing.T, connector, userName, email string) string {
	t.Helper()
	before := len(b.deadLetters(t, connector))
	b.failNext(t, connector, 1)
	id := b.createUser(t, userName, email)
	deadline := time.Now().Add(30 * time.Second)
	for len(b.deadLetters(t, connector)) == before {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no dead letter for %s", connector, userName)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return id
}

// createUser provisions a user through SCIM, as an IdP would.
func (b *consoleBridge) createUser(t *testing.T, userName, email string) string {
	t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `",
		"name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"` + email + `","type":"work","primary":true}],"active":true}`
	return b.postUser(t, userName, body)
}

// postUser POSTs a SCIM user body and returns the new id.
func (b *consoleBridge) postUser(t *testing.T, userName, body string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", b.base+"/scim/v2/Users", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out struct{ ID string }
	if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("create %s: %d %s", userName, res.StatusCode, raw)
	}
	return out.ID
}

func (b *consoleBridge) deadLetters(t *testing.T, connector string) []store.DeadLetter {
	t.Helper()
	dl, err := b.app.dispatcher.DeadLetters(connector)
	if err != nil {
		t.Fatal(err)
	}
	return dl
}

// secrets are what no page may show: every token and every simulator credential.
func (b *consoleBridge) secrets() []string {
	out := []string{consoleAdminToken, e2eToken, b.app.console.importToken}
	for _, sim := range b.app.simulators {
		for _, v := range sim.Credentials() {
			if len(v) >= 6 {
				out = append(out, v)
			}
		}
	}
	return out
}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium for one test. Without Chromium the
// test skips, except under CI=true (.ci/run installs it), where it fails.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true and no Chromium on PATH: .ci/run installs Debian's chromium package")
		}
		t.Skip("no Chromium on PATH (apt-get install chromium): browser test skipped")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1366, 900))
	if os.Geteuid() == 0 || os.Getenv("CI") == "true" {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	return ctx
}

// newTab opens a tab in a browser context of its own (its own cookies)
// for one subtest.
func newTab(t *testing.T, browserCtx context.Context) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return &browser{t: t, ctx: ctx}
}

// browser wraps one tab with the checks the tests make.
type browser struct {
	t     *testing.T
	ctx   context.Context
	pages []string // every page's HTML seen, for the secrets check
}

func (br *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	br.t.Helper()
	if err := chromedp.Do(br.ctx, steps...); err != nil {
		br.t.Fatal(err)
	}
	br.snapshot()
}

func (br *browser) snapshot() {
	br.t.Helper()
	html, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		br.t.Fatal(err)
	}
	br.pages = append(br.pages, html)
}

// text, count and click run as one script each: the page replaces its
// live part while the test looks, so a query and a later use of the node
// it found could meet two different pages.
func (br *browser) text(sel string) string {
	br.t.Helper()
	s, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel)))
	if err != nil {
		br.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (br *browser) click(sel string) {
	br.t.Helper()
	found, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(function (e) { if (e) e.click(); return !!e })(document.querySelector(%q))`, sel)))
	if err != nil || !found {
		br.t.Fatalf("click %s: found %v, %v", sel, found, err)
	}
}

// until waits for a JavaScript predicate over the page the console keeps
// refreshing itself (no reload: the page's own refresh must show it).
func (br *browser) until(what, expr string) {
	br.t.Helper()
	if _, err := chromedp.Run(br.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		br.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
	br.snapshot()
}

func (br *browser) count(sel string) int {
	br.t.Helper()
	n, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		br.t.Fatal(err)
	}
	return n
}

// screenshot saves the page as name.png under $SCIMBRIDGE_CONSOLE_SCREENSHOTS
// (for people to look at; no test compares pixels).
func (br *browser) screenshot(name string) {
	br.t.Helper()
	dir := os.Getenv("SCIMBRIDGE_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		br.t.Error(err)
	}
}

func (br *browser) signIn(base string) {
	br.t.Helper()
	br.do(chromedp.Navigate(base+"/admin/ui/"),
		chromedp.WaitVisible(chromedp.CSS(`#signin input[type=password]`)),
		chromedp.SendKeys(chromedp.CSS("#token"), consoleAdminToken),
		chromedp.Submit(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("table.connectors")))
}

func (br *browser) noSecrets(secrets []string) {
	br.t.Helper()
	for _, page := range br.pages {
		for _, s := range secrets {
			if strings.Contains(page, s) {
				br.t.Errorf("a page shows the secret %q…", s[:4])
			}
		}
	}
}

// TestConsoleInBrowser starts Chromium once for its subtests; each has a
// bridge of its own and a browser context of its own.
func TestConsoleInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	t.Run("FailingTargetRetryAndLookup", func(t *testing.T) { consoleFailingTargetRetryAndLookup(t, newTab(t, ctx)) })
	t.Run("RefusesFormsWithoutSessionOrCSRF", func(t *testing.T) { consoleRefusesFormsWithoutSessionOrCSRF(t, newTab(t, ctx)) })
	t.Run("ImportPreviewAndApply", func(t *testing.T) { consoleImportPreviewAndApply(t, newTab(t, ctx)) })
	t.Run("FieldDriftAndRepair", func(t *testing.T) { consoleFieldDriftAndRepair(t, newTab(t, ctx)) })
}

// The operator's path through a failing target: sign in, see the four
// connectors, watch webex turn failing with the target's message, find
// its dead letters, retry one once the target recovers and see it
// delivered, look the user up by email, sign out.
func consoleFailingTargetRetryAndLookup(t *testing.T, br *browser) {
	b := newConsoleBridge(t)

	br.signIn(b.base)
	for _, name := range []string{"webex", "scc", "secureauth", "secureaccess"} {
		if got := br.text("#connector-" + name + " .name"); got != name {
			t.Errorf("connector row %s shows %q", name, got)
		}
	}
	if n := br.count("tr.connector"); n != 4 {
		t.Errorf("%d connector rows, want 4", n)
	}

	// The target refuses ann's and bob's creation, then serves again.
	ann := b.createFailing(t, "webex", "ann@example.com", "ann.work@example.com")
	bob := b.createFailing(t, "webex", "bob@example.com", "bob.work@example.com")
	br.until("webex failing", `document.querySelector("#connector-webex")?.dataset.health === "failing"`)
	if got := br.text("#connector-webex .last-error"); !strings.Contains(got, "injected permanent failure") {
		t.Errorf("webex's last error shows %q, want the target's message", got)
	}
	br.until("two dead letters on the overview", `document.querySelector("#connector-webex .dead")?.textContent.trim() === "2"`)
	br.until("two failures in the last hour", `document.querySelector("#connector-webex .failed-hour")?.textContent.trim() === "2"`)
	if got := br.text("#connector-scc"); !strings.Contains(got, "delivering") {
		t.Errorf("scc, untouched, shows %q", got)
	}
	br.screenshot("overview")

	br.do(chromedp.Click(chromedp.CSS(`nav a[href="/admin/ui/deadletters"]`)), chromedp.WaitVisible(chromedp.CSS("table.deadletters")))
	if n := br.count(`tr.deadletter[data-connector="webex"]`); n != 2 {
		t.Fatalf("%d webex dead letters listed, want 2", n)
	}
	br.screenshot("deadletters")
	annRow := `tr.deadletter:has(a[href="/admin/ui/lookup?q=` + ann + `"])`
	if got := br.text(annRow + " .reason"); !strings.Contains(got, "injected permanent failure") {
		t.Errorf("ann's dead letter gives the reason %q", got)
	}

	br.click(annRow + " button.retry")
	br.do(chromedp.WaitVisible(chromedp.CSS("#done")))
	if got := br.text("#done"); got != "Queued again: 1." {
		t.Errorf("after retry the page says %q", got)
	}
	br.until("ann's dead letter gone, bob's left", `document.querySelectorAll("tr.deadletter").length === 1`)
	if n := br.count(`tr.deadletter:has(a[href="/admin/ui/lookup?q=` + bob + `"])`); n != 1 {
		t.Errorf("bob's dead letter is not the one left")
	}

	br.do(chromedp.Click(chromedp.CSS(`nav a[href="/admin/ui/"]`)), chromedp.WaitVisible(chromedp.CSS("table.connectors")))
	br.until("webex delivering again, one dead letter waiting",
		`document.querySelector("#connector-webex")?.dataset.health === "dead letters waiting"`)

	br.do(chromedp.Click(chromedp.CSS(`nav a[href="/admin/ui/lookup"]`)),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "ann.work@example.com"),
		chromedp.Submit(chromedp.CSS("#lookup")),
		chromedp.WaitVisible(chromedp.CSS("section.resource")))
	br.until("ann delivered in all four targets", `document.querySelectorAll('tr.target[data-state="delivered"]').length === 4`)
	br.screenshot("lookup")
	if got := br.text("section.resource .scim-id"); got != ann {
		t.Errorf("lookup by email found %q, want ann %q", got, ann)
	}
	if got := br.text("section.resource .facts"); !strings.Contains(got, "email") {
		t.Errorf("lookup says it matched by: %q", got)
	}
	if got := br.text(`tr.target[data-connector="webex"] .target-id`); got == "" {
		t.Error("no webex target id for ann")
	}
	// Her timeline, from the activity log: one delivery per connector
	// (webex's after the operator's retry).
	for _, c := range []string{"webex", "scc", "secureauth", "secureaccess"} {
		sel := `tr.event[data-kind="delivered"][data-connector="` + c + `"]`
		br.until("ann's timeline shows "+c+" delivered", `document.querySelectorAll('`+sel+`').length >= 1`)
		if n := br.count(sel); n != 1 {
			t.Errorf("ann's timeline has %d delivered events for %s, want 1", n, c)
		}
	}

	br.do(chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin")))
	br.do(chromedp.Navigate(b.base+"/admin/ui/deadletters"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	if n := br.count("table.deadletters"); n != 0 {
		t.Error("signed out, the dead letters page still shows them")
	}
	br.noSecrets(b.secrets())
}

// A form post with a forged CSRF token, or after the session has ended
// (signed out in another tab), changes nothing; the same form with the
// session's token works.
func consoleRefusesFormsWithoutSessionOrCSRF(t *testing.T, br *browser) {
	b := newConsoleBridge(t)
	b.createFailing(t, "webex", "ann@example.com", "ann.work@example.com")
	br.signIn(b.base)
	br.until("a webex dead letter", `document.querySelector("#connector-webex .dead")?.textContent.trim() === "1"`)

	discard := func() {
		br.do(chromedp.Navigate(b.base+"/admin/ui/deadletters"), chromedp.WaitVisible(chromedp.CSS("tr.deadletter")))
		br.click(`tr.deadletter input[type=checkbox]`) // a ticked box also holds the page's refresh
	}
	// A forged CSRF token.
	discard()
	br.do(chromedp.SetAttributeValue(chromedp.CSS(`#deadletters input[name=csrf]`), "value", "forged"))
	br.click(`button[name=action][value=discard]`)
	br.do(chromedp.WaitVisible(chromedp.CSS(".msg.error")))
	if got := br.text(".msg.error"); !strings.Contains(got, "Nothing was changed") {
		t.Errorf("forged CSRF: the page says %q", got)
	}
	if n := len(b.deadLetters(t, "webex")); n != 1 {
		t.Fatalf("forged CSRF: %d dead letters left, want 1", n)
	}

	// Signed out in another tab: the form this tab shows is refused.
	discard()
	tab2, cancel := chromedp.NewContext(br.ctx)
	defer cancel()
	other := &browser{t: t, ctx: tab2}
	other.do(chromedp.Navigate(b.base+"/admin/ui/"), chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin")))
	br.click(`button[name=action][value=discard]`)
	br.do(chromedp.WaitVisible(chromedp.CSS("#signin")))
	if got := br.text(".msg.error"); !strings.Contains(got, "Nothing was changed") {
		t.Errorf("no session: the page says %q", got)
	}
	if n := len(b.deadLetters(t, "webex")); n != 1 {
		t.Fatalf("no session: %d dead letters left, want 1", n)
	}

	// Signed in, the same form discards it (ticked with "select all").
	br.signIn(b.base)
	br.do(chromedp.Navigate(b.base+"/admin/ui/deadletters"), chromedp.WaitVisible(chromedp.CSS("tr.deadletter")))
	br.click("#select-all")
	if n := br.count(`input[name=dl]:checked`); n != 1 {
		t.Fatalf("select all ticked %d boxes", n)
	}
	br.click(`button[name=action][value=discard]`)
	br.do(chromedp.WaitVisible(chromedp.CSS("#done")))
	if got := br.text("#done"); got != "Discarded: 1." {
		t.Errorf("discard: the page says %q", got)
	}
	if n := len(b.deadLetters(t, "webex")); n != 0 {
		t.Errorf("discard: %d dead letters left", n)
	}
	br.noSecrets(b.secrets())
	other.noSecrets(b.secrets())
}
