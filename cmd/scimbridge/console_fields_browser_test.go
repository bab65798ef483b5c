package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
	"github.com/scimbridge/scimbridge/store"
)

// A Webex administrator renames and deactivates a user behind the
// bridge's back: the lookup page's "Check fields" shows webex drifted
// (displayName and active, the target's value and SCIM's), the other
// connectors' answers (not available: they cannot read one object), and
// Repair puts SCIM's values back in the simulator through the outbox; the
// timeline shows the repair, the next check is in sync.
func consoleFieldDriftAndRepair(t *testing.T, br *browser) {
	b := newConsoleBridge(t)
	sim, ok := b.app.simulators["webex"].(*webexsim.Server)
	if !ok {
		t.Fatalf("webex's simulator is a %T", b.app.simulators["webex"])
	}
	id := b.createUserNamed(t, "cleo@example.com", "Cleo Park")
	var wx string
	deadline := time.Now().Add(30 * time.Second)
	for wx == "" || b.pending(t, "webex", id) {
		if time.Now().After(deadline) {
			t.Fatal("cleo never delivered to webex")
		}
		time.Sleep(10 * time.Millisecond)
		ids, err := b.app.dispatcher.TargetIDs(store.TypeUser, id)
		if err != nil {
			t.Fatal(err)
		}
		wx = ids["webex"]
	}
	if name, active, _ := sim.User(wx); name != "Cleo Park" || !active {
		t.Fatalf("webex holds %q active=%v", name, active)
	}
	off := false
	sim.EditUser(wx, "Cleo (contractor)", &off)

	br.signIn(b.base)
	br.do(chromedp.Navigate(b.base+"/admin/ui/lookup?q=cleo@example.com"), chromedp.WaitVisible(chromedp.CSS("section.resource")))
	br.click("#check-fields-" + id)
	br.do(chromedp.WaitVisible(chromedp.CSS(`tr.field-result[data-connector="webex"]`)))
	br.screenshot("field-check")
	webex := `tr.field-result[data-connector="webex"]`
	if n := br.count(webex + `[data-state="drifted"]`); n != 1 {
		t.Fatalf("webex is not drifted: %q", br.text(webex))
	}
	for field, want := range map[string][2]string{"displayName": {"Cleo (contractor)", "Cleo Park"}, "active": {"false", "true"}} {
		row := webex + ` tr.drifted-field[data-field="` + field + `"]`
		if got := [2]string{br.text(row + " .target-value"), br.text(row + " .scim-value")}; got != want {
			t.Errorf("%s: target %q, SCIM %q; want %q", field, got[0], got[1], want)
		}
	}
	if n := br.count(webex + " tr.drifted-field"); n != 2 {
		t.Errorf("%d drifted fields, want 2: %q", n, br.text(webex))
	}
	for _, c := range []string{"scc", "secureauth", "secureaccess"} {
		row := `tr.field-result[data-connector="` + c + `"]`
		if st := br.text(row + " .badge"); st != "not available" && st != "in sync" {
			t.Errorf("%s: %q", c, br.text(row))
		}
	}
	if name, active, _ := sim.User(wx); name != "Cleo (contractor)" || active {
		t.Fatal("the check changed the target")
	}

	br.click("#repair-fields-" + id)
	br.do(chromedp.WaitVisible(chromedp.CSS(webex + " .repaired")))
	deadline = time.Now().Add(30 * time.Second)
	for {
		if name, active, _ := sim.User(wx); name == "Cleo Park" && active {
			break
		}
		if time.Now().After(deadline) {
			name, active, _ := sim.User(wx)
			t.Fatalf("after Repair webex holds %q active=%v", name, active)
		}
		time.Sleep(10 * time.Millisecond)
	}
	br.until("the timeline shows the repair delivered",
		`document.querySelectorAll('tr.event[data-kind="repaired"][data-connector="webex"]').length === 1 &&
		 document.querySelectorAll('tr.event[data-kind="delivered"][data-connector="webex"]').length === 2`)
	br.screenshot("field-repair")

	br.click("#check-fields-" + id)
	br.do(chromedp.WaitVisible(chromedp.CSS(webex + `[data-state="in sync"]`)))
	if br.count("#repair-fields-"+id) != 0 {
		t.Error("Repair offered for a resource in sync")
	}
	br.noSecrets(b.secrets())
}

// createUserNamed provisions a user with a displayName through SCIM.
func (b *consoleBridge) createUserNamed(t *testing.T, userName, displayName string) string {
	t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `","displayName":"` + displayName + `",
		"name":{"givenName":"Cleo","familyName":"Park"},"emails":[{"value":"` + userName + `","type":"work","primary":true}],"active":true}`
	return b.postUser(t, userName, body)
}

// pending reports whether a change of the user is queued for connector.
func (b *consoleBridge) pending(t *testing.T, connector, id string) bool {
	t.Helper()
	var p bool
	if err := b.app.db.View(func(tx *store.Tx) error { p = tx.HasPending(connector, store.TypeUser, id); return nil }); err != nil {
		t.Fatal(err)
	}
	return p
}
