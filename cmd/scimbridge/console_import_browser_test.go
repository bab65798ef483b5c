package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimbridge/scimbridge/store"
)

// The Import page in a browser: upload a small HR file, see the dry run's
// preview (two creates, one rejected row with its number), apply it and
// watch the page turn to the result by itself.
func consoleImportPreviewAndApply(t *testing.T, br *browser) {
	b := newConsoleBridge(t)
	file := filepath.Join(t.TempDir(), "hr.csv")
	csv := "userName,name.givenName,name.familyName,emails[type eq \"work\"].value\n" +
		"zoe@example.com,Zoë,D'Arcy,zoe@example.com\n" +
		"yan@example.com,Yan,Li,not-an-email\n" +
		"xia@example.com,Xia,Wu,xia@example.com\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	users := func() int {
		n := 0
		_ = b.app.db.View(func(tx *store.Tx) error { n = tx.CountResources(store.TypeUser); return nil })
		return n
	}

	br.signIn(b.base)
	br.do(chromedp.Click(chromedp.CSS(`nav a[href="/admin/ui/import"]`)), chromedp.WaitVisible(chromedp.CSS("#upload")))
	br.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.Click(chromedp.CSS("#check")),
		chromedp.WaitVisible(chromedp.CSS(`#job[data-state="preview"]`)))
	br.screenshot("import-preview")
	if n := br.count("tr.outcome.create"); n != 2 {
		t.Errorf("%d creates in the preview, want 2", n)
	}
	if got := br.text("tr.outcome.rejected"); !strings.Contains(got, "3") || !strings.Contains(got, "yan@example.com") {
		t.Errorf("the rejected row shows %q", got)
	}
	if !strings.Contains(br.text("tr.outcome.create"), "D'Arcy") {
		t.Errorf("the preview shows %q", br.text("tr.outcome.create"))
	}
	if n := users(); n != 0 {
		t.Fatalf("the preview stored %d users", n)
	}

	br.click("#apply")
	br.do(chromedp.WaitVisible(chromedp.CSS(".msg.notice")))
	if got := br.text(".msg.notice"); !strings.Contains(got, "Import started") {
		t.Errorf("after Apply the page says %q", got)
	}
	br.until("the import applied", `document.querySelector("#job")?.dataset.state === "applied"`)
	br.screenshot("import-applied")
	if got := br.text("#result-summary"); !strings.Contains(got, "2 created") || !strings.Contains(got, "1 rejected") {
		t.Errorf("the result says %q", got)
	}
	if br.count("#report") != 1 {
		t.Error("no report link")
	}
	if n := users(); n != 2 {
		t.Errorf("%d users stored, want 2", n)
	}
	br.noSecrets(b.secrets())
}
