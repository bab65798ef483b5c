package hrimport

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// A row the server refuses (here a userName another user holds, matched by
// externalId) is reported with its row; the rest of its batch lands.
func TestServerRejectionIsPerRow(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	b.createUser(map[string]any{"userName": "taken@example.com", "externalId": "E0"})
	file := []byte("externalId,userName,title\nE1,one@example.com,A\nE2,taken@example.com,B\nE3,three@example.com,C\n")
	sum, out, err := b.run(file, Options{Match: "externalId"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 2 || sum.Failed != 1 || sum.OK() {
		t.Errorf("summary %s", sum)
	}
	if !strings.Contains(out, "row 3: failed E2 [userName]: the server refused it (409): uniqueness") {
		t.Errorf("output:\n%s", out)
	}
	if b.user("one@example.com") == nil || b.user("three@example.com") == nil {
		t.Error("the good rows did not land")
	}
}

// Interrupted (the bridge fails the second /Bulk request), then run again:
// the second run finishes the job and the result is the same as one
// uninterrupted run.
func TestInterruptedImportFinishesOnRerun(t *testing.T) {
	b := newTestBridge(t, scim.Options{MaxBulkOperations: 10})
	var bulks atomic.Int64
	inner := b.srv.Config.Handler
	b.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Bulk") && bulks.Add(1) == 2 {
			http.Error(w, "connection lost", http.StatusBadGateway)
			return
		}
		inner.ServeHTTP(w, r)
	})
	var file strings.Builder
	file.WriteString("userName,name.familyName,groups,manager\n")
	for i := 0; i < 40; i++ { // four requests of 10
		mgr := ""
		if i > 0 {
			mgr = "u00@example.com"
		}
		fmt.Fprintf(&file, "u%02d@example.com,Name %d,Team %d,%s\n", i, i, i%3, mgr)
	}
	_, _, err := b.run([]byte(file.String()), Options{})
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("interrupted run: %v", err)
	}
	sum, out, err := b.run([]byte(file.String()), Options{})
	// The failed request's 10 rows are left, and those of any request the
	// batcher had not sent yet when the failure came back (how many were
	// in flight depends on timing: 30 rows landed when all were).
	if err != nil || !sum.OK() || sum.Created < 10 || sum.Created%10 != 0 || sum.Created+sum.Unchanged != 40 {
		t.Fatalf("re-run: %v %s\n%s", err, sum, out)
	}
	boss := b.user("u00@example.com")["id"]
	for i := 1; i < 40; i++ {
		u := b.user(fmt.Sprintf("u%02d@example.com", i))
		if str(u, enterprise, "manager", "value") != boss || !slices.Equal(groupNames(u), []string{fmt.Sprintf("Team %d", i%3)}) {
			t.Fatalf("u%02d: manager %v groups %v", i, str(u, enterprise, "manager", "value"), groupNames(u))
		}
	}
	sum, _, err = b.run([]byte(file.String()), Options{})
	if err != nil || sum.Writes != 0 {
		t.Errorf("third run: %v %s", err, sum)
	}
}

// The groups column moves people between groups the import owns (created
// by it, or listed in import.groups) and never touches a membership in a
// group an IdP manages.
func TestGroupsColumnTouchesOnlyOwnedGroups(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	ann := b.createUser(map[string]any{"userName": "ann@example.com"})
	b.do("POST", "/Groups", map[string]any{"displayName": "Okta Admins", "members": []any{map[string]any{"value": ann}}})
	b.do("POST", "/Groups", map[string]any{"displayName": "All Staff", "members": []any{map[string]any{"value": ann}}})
	cfg := Config{Groups: []string{"all staff"}}

	sum, out, err := b.run([]byte("userName,groups\nann@example.com,Berlin\n"), Options{Config: cfg})
	if err != nil || !sum.OK() {
		t.Fatalf("%v %s\n%s", err, sum, out)
	}
	// All Staff is listed in import.groups: ann left it. Okta Admins is not the import's: kept.
	if got := groupNames(b.user("ann@example.com")); !slices.Equal(got, []string{"Berlin", "Okta Admins"}) {
		t.Errorf("after the first file: %q", got)
	}
	sum, out, err = b.run([]byte("userName,groups\nann@example.com,Paris;All Staff\n"), Options{Config: cfg})
	if err != nil || !sum.OK() || sum.LinkRows != 1 || sum.GroupsCreated != 1 {
		t.Fatalf("%v %s\n%s", err, sum, out)
	}
	if got := groupNames(b.user("ann@example.com")); !slices.Equal(got, []string{"All Staff", "Okta Admins", "Paris"}) {
		t.Errorf("after the move: %q", got)
	}
	// Asking for an IdP's group is refused for that row, not done.
	b.createUser(map[string]any{"userName": "bob@example.com"})
	sum, out, _ = b.run([]byte("userName,groups\nbob@example.com,Okta Admins\n"), Options{Config: cfg})
	if sum.Rejected != 1 || !strings.Contains(out, "not a group the import manages") || slices.Contains(groupNames(b.user("bob@example.com")), "Okta Admins") {
		t.Errorf("%s\n%s", sum, out)
	}
}

// A small file against a large directory looks its keys up (one indexed
// GET each) instead of paging through every user; the outcome is the
// same. A roster always pages (it needs its whole scope).
func TestSmallFileLooksKeysUp(t *testing.T) {
	b := newTestBridge(t, scim.Options{MaxResults: 5})
	var seedFile strings.Builder
	seedFile.WriteString("userName,title\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&seedFile, "u%02d@example.com,Dev\n", i)
	}
	if _, _, err := b.run([]byte(seedFile.String()), Options{}); err != nil {
		t.Fatal(err)
	}
	from := b.getCount()
	file := []byte("userName,title,manager\nU01@example.com,Lead,u02@example.com\nnew@example.com,Dev,u01@example.com\nu03@example.com,Dev,\n")
	sum, out, err := b.run(file, Options{})
	if err != nil || sum.Created != 1 || sum.Updated != 1 || sum.Unchanged != 1 || sum.LinkRows != 2 {
		t.Fatalf("%v %s\n%s", err, sum, out)
	}
	if paged, filtered := b.userLists(from); paged != 0 || filtered != 4 {
		t.Errorf("%d paged and %d filtered GETs, want 0 and 4 (u01, u02, u03, new)", paged, filtered)
	}
	if str(b.user("new@example.com"), enterprise, "manager", "value") != b.user("u01@example.com")["id"] ||
		b.user("u01@example.com")["title"] != "Lead" {
		t.Error("per-key lookups gave a different outcome")
	}
	from = b.getCount()
	if _, _, err := b.run(file, Options{Roster: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	if paged, _ := b.userLists(from); paged < 6 {
		t.Errorf("a roster paged %d times, want every page of 31 users by 5", paged)
	}
}
