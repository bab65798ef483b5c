package scc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
)

// After a restart every queued change comes with Prev nil (an earlier
// attempt may have landed). Found by test/story: SCC then got a name PUT
// per user whether or not its names had changed (363 PUTs for 300
// renames). Now the batch is compared with one walk of the user list:
// only users whose names differ get a PUT, a status that differs a bulk
// step, and a user the list lacks is invited again.
func TestUnknownPrevIsComparedWithTheList(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	const n = 30
	var batch []connectors.Change
	for i := range n {
		mail := fmt.Sprintf("u%02d@example.com", i)
		if i != 0 { // u00 was removed behind the bridge's back
			e.sim.AddUser(mail, "First", "Last", "ACTIVE")
		}
		ch := connectors.Change{Type: connectors.User, ID: fmt.Sprint(i), Op: connectors.OpUpsert, TargetID: mail,
			Fields: userFieldsOf(mail, "First", "Last", true)}
		switch {
		case i%10 == 1: // renamed
			ch.Fields = userFieldsOf(mail, "First", "Renamed", true)
		case i%10 == 2: // deactivated
			ch.Fields = userFieldsOf(mail, "First", "Last", false)
		}
		batch = append(batch, ch)
	}
	c := e.connector(t)
	e.rec.take()
	for i, r := range apply(t, c, batch...) {
		if r.Err != nil {
			t.Errorf("change %d: %v", i, r.Err)
		}
	}
	var puts, lists, patches int
	for _, cl := range e.rec.take() {
		cl.Path, _, _ = strings.Cut(cl.Path, "?")
		switch {
		case cl.Method == "PUT" && strings.HasPrefix(cl.Path, "/users/"):
			puts++
		case cl.Method == "GET" && cl.Path == "/users":
			lists++
		case cl.Method == "PATCH" && cl.Path == "/users":
			patches++
		default:
			t.Errorf("unexpected call %v", cl)
		}
	}
	// 3 renames; one page of the list; the re-invite and the 3 disables.
	if puts != 3 || lists != 1 || patches != 1 {
		t.Errorf("%d PUTs, %d listings, %d bulk PATCHes; want 3, 1, 1", puts, lists, patches)
	}
	fields := e.sim.UserFields()
	for _, u := range e.sim.Users() {
		i := 0
		fmt.Sscanf(u.TargetID, "u%02d@", &i)
		wantLast, wantActive := "Last", i%10 != 2
		if i%10 == 1 {
			wantLast = "Renamed"
		}
		if fields[u.TargetID]["lastName"] != wantLast || u.Active != wantActive {
			t.Errorf("%s: lastName %q active %v, want %q %v", u.TargetID, fields[u.TargetID]["lastName"], u.Active, wantLast, wantActive)
		}
	}
	if len(e.sim.Users()) != n {
		t.Errorf("SCC holds %d users, want %d", len(e.sim.Users()), n)
	}
}
