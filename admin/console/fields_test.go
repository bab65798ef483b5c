package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
)

// CheckFields makes fakeDispatcher an admin.FieldChecker: webex finds
// displayName changed (to a value with markup), scc cannot read one
// object.
func (f *fakeDispatcher) CheckFields(_ context.Context, typ, id string, repair bool) ([]connectors.FieldCheck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	what := "check"
	if repair {
		what = "repair"
	}
	f.checks = append(f.checks, what+" "+typ+"/"+id)
	return []connectors.FieldCheck{
		{Connector: "scc", State: connectors.FieldsUnavailable, Message: "field check not available for scc: its target cannot read one object"},
		{Connector: "webex", State: connectors.FieldsDrifted, TargetID: "wx-1", Repaired: repair, Fields: []connectors.FieldDrift{
			{ID: id, Field: "displayName", Target: "<b>Renamed</b> by hand", SCIM: "Ann Example"}}},
	}, nil
}

func (f *fakeDispatcher) fieldChecks() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.checks, ",")
}

// The lookup page's "Check fields" and "Repair" are posts with the
// session's CSRF token; the lookup then shows each connector's result
// (drifted field with the target's value escaped and SCIM's, not
// available with its reason) and Repair only once a check found drift.
func TestLookupFieldCheck(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	csrf := c.signIn(t)
	_, page := c.get(t, "/admin/ui/lookup?q=ann@example.com")
	if !strings.Contains(page, `id="check-fields-u1"`) || strings.Contains(page, `id="repair-fields-u1"`) || strings.Contains(page, "field-result") {
		t.Fatalf("before a check:\n%s", page)
	}
	form := url.Values{"type": {"User"}, "id": {"u1"}, "q": {"ann@example.com"}, "action": {"check"}}

	if code, _ := f.client().post(t, "/admin/ui/lookup/fields", with(form, "csrf", csrf)); code != http.StatusForbidden {
		t.Errorf("without a session: %d", code)
	}
	if code, _ := c.post(t, "/admin/ui/lookup/fields", with(form, "csrf", "forged")); code != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", code)
	}
	if got := f.d.fieldChecks(); got != "" {
		t.Fatalf("refused posts checked: %s", got)
	}

	code, page := c.post(t, "/admin/ui/lookup/fields", with(form, "csrf", csrf))
	if code != http.StatusOK || !strings.Contains(page, `<input type="search" id="q" name="q" value="ann@example.com"`) {
		t.Fatalf("check: %d\n%s", code, page)
	}
	for _, want := range []string{
		`data-connector="webex" data-state="drifted"`,
		`data-field="displayName"><td>displayName</td><td class="target-value">&lt;b&gt;Renamed&lt;/b&gt; by hand</td><td class="scim-value">Ann Example</td>`,
		`data-connector="scc" data-state="not available"`, "field check not available for scc",
		`id="repair-fields-u1"`, "Checked just now.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("after the check, the page lacks %q", want)
		}
	}
	if strings.Contains(page, "queued for webex") {
		t.Error("a check says it repaired")
	}

	code, page = c.post(t, "/admin/ui/lookup/fields", with(with(form, "action", "repair"), "csrf", csrf))
	if code != http.StatusOK || !strings.Contains(page, "SCIM's values are queued for webex") || !strings.Contains(page, "Checked just now, with repair.") {
		t.Fatalf("repair: %d\n%s", code, page)
	}
	if got := f.d.fieldChecks(); got != "check User/u1,repair User/u1" {
		t.Errorf("dispatcher calls: %s", got)
	}

	for name, tt := range map[string]struct {
		form url.Values
		code int
	}{
		"unknown action": {with(form, "action", "delete"), http.StatusBadRequest},
		"unknown type":   {with(form, "type", "Printer"), http.StatusBadRequest},
		"no such user":   {with(form, "id", "nobody"), http.StatusNotFound},
	} {
		if code, _ := c.post(t, "/admin/ui/lookup/fields", with(tt.form, "csrf", csrf)); code != tt.code {
			t.Errorf("%s: %d, want %d", name, code, tt.code)
		}
	}
	if got := f.d.fieldChecks(); got != "check User/u1,repair User/u1" {
		t.Errorf("refused checks reached the dispatcher: %s", got)
	}
	for _, p := range f.pages {
		if strings.Contains(p, adminToken) || strings.Contains(p, "<b>Renamed") {
			t.Errorf("a page shows the admin token or unescaped markup:\n%s", p)
		}
	}
}
