package webex

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// TestLandedCreatesFoundByOneWalk: a batch of creates that may have landed
// (queued before a restart) is matched with one walk of the user list, not
// a lookup each: the 10 that landed (one renamed since) are updated, the 15
// that did not are created, nothing is duplicated.
func TestLandedCreatesFoundByOneWalk(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	var landed []connectors.Change
	for i := range 10 {
		id := fmt.Sprintf("u%02d", i)
		landed = append(landed, createUser(id, id+"@example.com", "externalId", id, "displayName", "Old"))
	}
	before := e.apply(landed...)
	var batch []connectors.Change
	for i := range 25 {
		id := fmt.Sprintf("u%02d", i)
		mail := id + "@example.com"
		if i == 3 {
			mail = "renamed03@example.com"
		}
		ch := createUser(id, mail, "externalId", id, "displayName", "New")
		ch.MayExist = true
		batch = append(batch, ch)
	}
	e.requests()
	res := e.apply(batch...)
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("change %d: %v", i, r.Err)
		}
		if i < 10 && r.TargetID != before[i].TargetID {
			t.Errorf("change %d: target id %s, want the landed %s", i, r.TargetID, before[i].TargetID)
		}
	}
	var lookups, lists int
	for _, r := range e.requests() {
		switch {
		case r.Method == "GET" && strings.Contains(r.Path, "filter="):
			lookups++
		case r.Method == "GET" && strings.HasPrefix(r.Path, e.sim.BasePath()+"/Users?"):
			lists++
		}
	}
	if lookups != 0 || lists != 1 {
		t.Errorf("%d lookups and %d list pages, want 0 and 1", lookups, lists)
	}
	users := e.sim.Users()
	if len(users) != 25 {
		t.Errorf("Webex holds %d users, want 25", len(users))
	}
	for _, u := range users {
		if u.UserName == "u03@example.com" {
			t.Errorf("u03 kept its old userName")
		}
	}
}
