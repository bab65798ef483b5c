package hrimport

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// rosterFile builds a plain SCIM-header file of users n in [from, to),
// skipping those in skip; bad rows get an invalid email.
func rosterFile(from, to int, skip map[int]bool, bad map[int]bool) []byte {
	var b strings.Builder
	b.WriteString("userName,name.givenName,emails[type eq \"work\"].value,active\n")
	for i := from; i < to; i++ {
		if skip[i] {
			continue
		}
		email := fmt.Sprintf("user%03d@example.com", i)
		if bad[i] {
			email = "not-an-email"
		}
		fmt.Fprintf(&b, "user%03d@example.com,User %d,%s,true\n", i, i, email)
	}
	return []byte(b.String())
}

func TestRoster(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	okta := b.createUser(map[string]any{"userName": "okta-only@example.com", "active": true})
	if sum, out, err := b.run(rosterFile(0, 40, nil, nil), Options{}); err != nil || sum.Created != 40 {
		t.Fatalf("seed: %v %s\n%s", err, sum, out)
	}
	active := func(name string) bool { return b.user(name)["active"] == true }

	// Missing 2 of 40 (the 5% limit rounds up to 2), one row bad: exactly
	// the two missing are deactivated; the bad row's user is not.
	skip := map[int]bool{3: true, 17: true}
	sum, out, err := b.run(rosterFile(0, 40, skip, map[int]bool{5: true}), Options{Roster: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sum.Deactivated != 2 || sum.Rejected != 1 || sum.OK() {
		t.Errorf("summary: %s\n%s", sum, out)
	}
	for i := 0; i < 40; i++ {
		name := fmt.Sprintf("user%03d@example.com", i)
		if active(name) == skip[i] {
			t.Errorf("%s active = %v", name, active(name))
		}
	}
	if b.user("okta-only@example.com")["active"] != true {
		t.Error("a user outside the roster's scope was deactivated", okta)
	}

	// A truncated file (the first 10 rows): refused before any write.
	before := b.writes.Load()
	sum, _, err = b.run(rosterFile(0, 10, nil, nil), Options{Roster: true})
	if !errors.Is(err, ErrTooManyDeactivations) || !strings.Contains(err.Error(), "29 of 40") {
		t.Fatalf("truncated roster: err = %v", err)
	}
	if b.writes.Load() != before || sum.Writes != 0 {
		t.Fatal("a refused roster wrote")
	}
	// --max-deactivate raises the limit; --force lifts it.
	if _, _, err := b.run(rosterFile(0, 10, nil, nil), Options{Roster: true, MaxDeactivate: "28"}); !errors.Is(err, ErrTooManyDeactivations) {
		t.Fatalf("--max-deactivate 28: %v", err)
	}
	sum, _, err = b.run(rosterFile(0, 10, nil, nil), Options{Roster: true, Force: true})
	if err != nil || sum.Deactivated != 29 {
		t.Fatalf("--force: %v %s", err, sum)
	}
	if active("user039@example.com") || !active("user009@example.com") {
		t.Error("--force deactivated the wrong users")
	}
	// Deactivated users come back when they reappear; nobody is deleted.
	sum, _, err = b.run(rosterFile(0, 40, nil, nil), Options{Roster: true})
	if err != nil || sum.Updated != 30 || sum.Deactivated != 0 {
		t.Fatalf("rehire: %v %s", err, sum)
	}
	if n := b.do("GET", "/Users?count=1", nil)["totalResults"]; n != float64(41) {
		t.Errorf("users = %v, want 41 (never deleted)", n)
	}
}

// --scope limits the roster to a SCIM filter instead of the provenance mark.
func TestRosterScopeFilter(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	for _, n := range []string{"a", "b", "c"} {
		b.createUser(map[string]any{"userName": n + "@sales.example.com", "title": "Sales", "active": true})
	}
	b.createUser(map[string]any{"userName": "d@eng.example.com", "title": "Engineer", "active": true})
	file := []byte("userName,title\na@sales.example.com,Sales\n")
	sum, _, err := b.run(file, Options{Roster: true, Scope: `title eq "Sales"`, MaxDeactivate: "100%"})
	if err != nil || sum.Deactivated != 2 {
		t.Fatalf("%v %s", err, sum)
	}
	if b.user("d@eng.example.com")["active"] != true || b.user("b@sales.example.com")["active"] != false {
		t.Error("scope not respected")
	}
}

func TestDeactivateLimit(t *testing.T) {
	for _, c := range []struct {
		spec  string
		scope int
		want  int
		err   bool
	}{
		{"", 40, 2, false}, {"", 100, 5, false}, {"", 1, 1, false}, {"", 0, 0, false}, {"5%", 2000, 100, false},
		{"10", 5, 10, false}, {"0", 100, 0, false}, {"0%", 100, 0, false}, {"100%", 7, 7, false}, {" 50 % ", 3, 2, false},
		{"-1", 10, 0, true}, {"abc", 10, 0, true}, {"150%", 10, 0, true},
	} {
		got, err := deactivateLimit(c.spec, c.scope)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("deactivateLimit(%q, %d) = %d, %v; want %d, error %v", c.spec, c.scope, got, err, c.want, c.err)
		}
	}
}
