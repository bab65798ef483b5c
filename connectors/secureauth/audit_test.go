package secureauth

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureauth/secureauthsim"
	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// TestAnswerDateLayouts: the guide asks for the answer's X-SA-Date only as
// "a second-precision timestamp". The signature covers the header's text
// whatever its layout; the freshness check must read every common RFC 1123
// variant (a Go server writing time.RFC1123 says "UTC", not "GMT"), or
// every success from such a target is refused as tampered.
func TestAnswerDateLayouts(t *testing.T) {
	for _, layout := range []string{
		http.TimeFormat,
		time.RFC1123,
		time.RFC1123Z,
		"Mon, 02 Jan 2006 15:04:05.000 GMT",
		"Mon, 2 Jan 2006 15:04:05 GMT",
		time.RFC850,
		time.ANSIC,
		time.RFC3339,
		time.RFC3339Nano,
	} {
		t.Run(layout, func(t *testing.T) {
			f := newFixture(t, secureauthsim.Options{AnswerDateLayout: layout}, nil)
			if r := f.one(createUser("jdoe", "firstName", "John")); r.Err != nil {
				t.Fatalf("create answered with X-SA-Date as %q: %v", layout, r.Err)
			}
		})
	}
}

// TestAssociationResent: an association whose answer was lost (a kill, a
// timeout) is sent again. A target backed by Active Directory may refuse
// to add a user who is already a member ("Failed to add user to group.",
// or the user in the list form's failures); that member is associated,
// so it is no failure.
func TestAssociationResent(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{StrictMembership: true}, nil)
	for _, id := range []string{"u1", "u2", "u3"} {
		f.must(createUser(id))
	}
	list := connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, Fields: map[string]any{"name": "Sales, EMEA"},
		MembersAdded: []connectors.Member{member("u1"), member("u2"), member("ghost")}}
	single := connectors.Change{Type: connectors.Group, ID: "g2", Op: connectors.OpUpsert, Fields: map[string]any{"name": "Admins"},
		MembersAdded: []connectors.Member{member("u3")}}
	for attempt := 1; attempt <= 2; attempt++ {
		for _, ch := range []connectors.Change{list, single} {
			r := f.one(ch)
			if r.Err != nil {
				t.Fatalf("attempt %d, %s: %v", attempt, ch.ID, r.Err)
			}
			var wrong []string
			for id, err := range r.MemberErrors {
				if id != "scim-ghost" {
					wrong = append(wrong, fmt.Sprintf("%s: %v", id, err))
				}
			}
			if len(wrong) > 0 {
				t.Errorf("attempt %d, %s: member errors for members that are associated: %v", attempt, ch.ID, wrong)
			}
			if ch.ID == "g1" && connectors.ClassOf(r.MemberErrors["scim-ghost"]) != connectors.Permanent {
				t.Errorf("attempt %d: unknown user not reported: %v", attempt, r.MemberErrors)
			}
		}
	}
}

// TestCreateResentDuplicateEmail: a create whose answer was lost is sent
// again; a target that checks emails before userIds answers "Duplicate
// email." for the account the first attempt made. The connector must
// adopt it, not dead-letter; another user's email stays a failure.
func TestCreateResentDuplicateEmail(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{UniqueEmails: true}, nil)
	ch := createUser("jdoe", "email1", "jdoe@example.com", "firstName", "John")
	f.must(ch)
	r := f.one(ch) // the same create again: its first answer was lost
	if r.Err != nil || r.TargetID != "jdoe" {
		t.Fatalf("resent create: %+v", r)
	}
	if n := len(f.sim.Users()); n != 1 {
		t.Errorf("%d users, want 1", n)
	}
	r = f.one(createUser("jsmith", "email1", "jdoe@example.com"))
	if connectors.ClassOf(r.Err) != connectors.Permanent || !strings.Contains(r.Err.Error(), "Duplicate email") {
		t.Errorf("another user's email: %+v, want permanent Duplicate email", r)
	}
}

// TestGoneUserVagueAnswers: the guide lists {"status":"error","message":
// "Not_Found"} among the update answers and {"status":"failed",
// "message":""} as the reset answer; a target may use them for a userId it
// does not hold. Deprovisioning a user already gone is done, and an
// update of one provisions it again, as with "User Id was not found".
func TestGoneUserVagueAnswers(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{VagueNotFound: true}, nil)
	del := connectors.Change{Type: connectors.User, ID: "scim-ghost", Op: connectors.OpDelete, TargetID: "ghost", Prev: userFieldsOf("ghost")}
	if r := f.one(del); r.Err != nil {
		t.Errorf("deprovision of a user already gone: %v", r.Err)
	}
	upd := connectors.Change{Type: connectors.User, ID: "scim-ghost", Op: connectors.OpUpsert, TargetID: "ghost",
		Prev: userFieldsOf("ghost", "firstName", "Old"), Fields: userFieldsOf("ghost", "firstName", "New")}
	if r := f.one(upd); r.Err != nil || r.TargetID != "ghost" {
		t.Fatalf("update of a user gone: %+v", r)
	}
	if p, ok := f.sim.User("ghost"); !ok || p["firstName"] != "New" {
		t.Errorf("user after update: %v %v, want provisioned again", p, ok)
	}
	// A reset that fails for an existing user stays a failure.
	f.sim.FailNext(simkit.FaultPermanent, 1)
	if r := f.one(connectors.Change{Type: connectors.User, ID: "scim-ghost", Op: connectors.OpDelete, TargetID: "ghost"}); connectors.ClassOf(r.Err) != connectors.Permanent {
		t.Errorf("failed reset of an existing user: %v, want permanent", r.Err)
	}
}

// TestUnsignedUnauthorized: a 401 may come unsigned (the server cannot
// sign for an app id it does not know). Nothing is applied from a 401,
// so it is treated as a signed one: re-signed and sent once more, and a
// second 401 is permanent with the server's message, rather than an
// immediate "tampered response" that hides the cause.
func TestUnsignedUnauthorized(t *testing.T) {
	t.Run("one 401 then success", func(t *testing.T) {
		var n atomic.Int32
		f := newFixture(t, secureauthsim.Options{UnsignedErrors: true, Now: func() time.Time {
			if n.Add(1) == 1 {
				return time.Now().Add(10 * time.Minute) // the first request meets a skewed clock
			}
			return time.Now()
		}}, nil)
		if r := f.one(createUser("jdoe")); r.Err != nil || r.TargetID != "jdoe" {
			t.Fatalf("result %+v", r)
		}
		if got := len(f.take()); got != 2 {
			t.Errorf("%d requests, want 2", got)
		}
	})
	t.Run("401 twice", func(t *testing.T) {
		f := newFixture(t, secureauthsim.Options{UnsignedErrors: true, Now: func() time.Time { return time.Now().Add(6 * time.Minute) }}, nil)
		r := f.one(createUser("jdoe"))
		if connectors.ClassOf(r.Err) != connectors.Permanent || !strings.Contains(r.Err.Error(), "Clock skew") {
			t.Errorf("skewed clock, unsigned 401: %v, want permanent with the server's message", r.Err)
		}
		if got := len(f.take()); got != 2 {
			t.Errorf("%d attempts, want 2", got)
		}
		if strings.Contains(f.logs.String(), "SECURITY") {
			t.Errorf("an unsigned 401 was logged as a security event: %s", f.logs.String())
		}
	})
}

// TestUnsignedThrottle: an unsigned 429 (a gateway's) is transient and
// its Retry-After is honoured: it only delays, nothing is applied.
func TestUnsignedThrottle(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{UnsignedErrors: true, Faults: simkit.Faults{ThrottleRate: 1, RetryAfter: 7 * time.Second, Seed: 1}}, nil)
	r := f.one(createUser("jdoe"))
	if connectors.ClassOf(r.Err) != connectors.Transient || connectors.RetryAfterOf(r.Err) != 7*time.Second {
		t.Errorf("unsigned 429 with Retry-After: 7: %v (RetryAfter %v), want transient, 7s", r.Err, connectors.RetryAfterOf(r.Err))
	}
}

// TestEveryRequestHasContentType: the guide asks for a Content-Type of
// application/json on the API's requests ("Authentication against an API
// requires a configured HTTP basic authorization header and Content-Type
// header"), though its own GET example shows none: the connector sends it
// on every request, bodyless GETs and association POSTs included, so a
// target that reads the rule strictly accepts them.
func TestEveryRequestHasContentType(t *testing.T) {
	sim := secureauthsim.New(secureauthsim.Options{})
	var mu sync.Mutex
	var missing []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			mu.Lock()
			missing = append(missing, r.Method+" "+r.URL.EscapedPath())
			mu.Unlock()
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := New(connectors.Settings{BaseURL: srv.URL + sim.BasePath(), Credentials: sim.Credentials()}, connectors.Deps{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ch := range []connectors.Change{
		createUser("jdoe"), createUser("jdoe"), // the second adopts: GET
		{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{"name": "Admins"}, MembersAdded: []connectors.Member{member("jdoe")}},
		{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpDelete, TargetID: "jdoe"},
	} {
		if r := c.Apply(ctx, []connectors.Change{ch})[0]; r.Err != nil {
			t.Fatalf("%s %s: %v", ch.Op, ch.ID, r.Err)
		}
	}
	if len(missing) > 0 {
		t.Errorf("requests without Content-Type application/json: %v", missing)
	}
}

// TestSpecialUserIDs: userIds with '+', '@', spaces, '%' and non-ASCII
// letters go into the URL percent-encoded as one segment, and the
// signature covers that encoded path: every call signs and lands.
func TestSpecialUserIDs(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	for _, id := range []string{"j+doe@example.com", "Jane Doe", "100%sure", "Zoë.Ångström", "用户"} {
		f.must(createUser(id, "firstName", "A"))
		f.must(connectors.Change{Type: connectors.User, ID: "scim-" + id, Op: connectors.OpUpsert, TargetID: id,
			Prev: userFieldsOf(id, "firstName", "A"), Fields: userFieldsOf(id, "firstName", "B")})
		f.must(createUser(id, "firstName", "C")) // adopts: GET, PUT
		r := f.one(connectors.Change{Type: connectors.Group, ID: "g-" + id, Op: connectors.OpUpsert, Fields: map[string]any{"name": "Team " + id},
			MembersAdded: []connectors.Member{member(id)}})
		if r.Err != nil || len(r.MemberErrors) > 0 {
			t.Errorf("%q: association %+v", id, r)
		}
		f.must(connectors.Change{Type: connectors.User, ID: "scim-" + id, Op: connectors.OpDelete, TargetID: id})
		if p, ok := f.sim.User(id); !ok || p["firstName"] != "C" || f.sim.PasswordWrites(id) != 2 {
			t.Errorf("%q: %v %v, %d password writes", id, p, ok, f.sim.PasswordWrites(id))
		}
	}
	for _, s := range f.take() {
		if strings.ContainsAny(s.Path, " ë") {
			t.Errorf("path sent unencoded: %s", s.Path)
		}
	}
}
