package webex

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// Targets stricter than webexsim's defaults where the documents allow it
// (shared/contracts/webex.md, the vendor's PATCH text, RFC 7644): every
// change must still land once, and nothing already done may fail.

// TestRemovedMemberNoTarget: a member removal retried after its answer
// was lost (or of a user Webex already dropped) meets a target that
// answers 400 noTarget to a remove filter matching nothing (RFC 7644
// §3.12). Like a 404 on a member removal, that is done: no member error,
// and the adds of the same change land. Alone and through /Bulk.
func TestRemovedMemberNoTarget(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) {
			e := newEnv(t, webexsim.Options{NoTargetOnRemove: true}, nil)
			a, b, c := e.sim.AddUser("a@example.com"), e.sim.AddUser("b@example.com"), e.sim.AddUser("c@example.com")
			var batch []connectors.Change
			for i := range 2 {
				name := fmt.Sprintf("G%d", i)
				gid := e.sim.AddGroup(name, a)
				f := map[string]any{"displayName": name}
				ch := connectors.Change{Type: connectors.Group, ID: name, Op: connectors.OpUpsert, TargetID: gid, Prev: f, Fields: f,
					MembersRemoved: []connectors.Member{{ID: "b", TargetID: b}}} // not a member (any more)
				if i == 1 {
					ch.MembersAdded = []connectors.Member{{ID: "c", TargetID: c}}
				}
				batch = append(batch, ch)
			}
			var res []connectors.Result
			if bulk {
				res = e.apply(batch...)
			} else {
				for _, ch := range batch {
					res = append(res, e.apply(ch)...)
				}
			}
			for i, r := range res {
				if r.Err != nil || r.MemberErrors != nil {
					t.Errorf("change %d: %+v", i, r)
				}
			}
			want := [][]string{{a}, {a, c}}
			for i, g := range e.sim.Groups() {
				if !slices.Equal(g.MemberTargetIDs, want[i]) {
					t.Errorf("group %s members %v, want %v", g.Name, g.MemberTargetIDs, want[i])
				}
			}
		})
	}
}

// TestLostCreateWithoutExternalIDFilter: a create whose answer was lost
// is retried (MayExist) against a target that cannot filter on
// externalId (400 invalidFilter; the vendor's documents show filters on
// userName and displayName). The lookup's refusal must not fail the
// change: the create goes ahead and its 409 adopts by userName or
// displayName, so nothing is made twice.
func TestLostCreateWithoutExternalIDFilter(t *testing.T) {
	e := newEnv(t, webexsim.Options{NoExternalIDFilter: true}, nil)
	u1 := e.sim.AddUser("s1@example.com")
	m1 := connectors.Member{ID: "1", TargetID: u1}
	group := connectors.Change{Type: connectors.Group, ID: "g-sales", Op: connectors.OpUpsert,
		Fields:       map[string]any{"displayName": "Sales", "externalId": "g-sales"},
		MembersAdded: []connectors.Member{m1}, Members: []connectors.Member{m1}}
	user := createUser("u1", "ann@example.com", "externalId", "u1", "displayName", "Ann")
	first := e.apply(group, user)
	for i, r := range first {
		if r.Err != nil {
			t.Fatalf("first delivery %d: %v", i, r.Err)
		}
	}
	group.MayExist, user.MayExist = true, true
	for i, ch := range []connectors.Change{group, user} {
		if r := e.apply(ch)[0]; r.Err != nil || r.TargetID != first[i].TargetID {
			t.Errorf("retry %d: %+v, want %s", i, r, first[i].TargetID)
		}
	}
	if g := e.sim.Groups(); len(g) != 1 || !slices.Equal(g[0].MemberTargetIDs, []string{u1}) {
		t.Errorf("groups = %+v", g)
	}
	if u := e.sim.Users(); len(u) != 2 {
		t.Errorf("users = %+v", u)
	}
}

// TestFilterEncoding: a lookup's filter is RFC 7644's, with its value a
// JSON string (§3.4.2.2), so a name holding a character Go quotes in its
// own way (DEL, \v) still finds the group; and the query is percent-
// encoded (RFC 3986), spaces as %20: "+" for a space is HTML form
// encoding, which a service may read as a plus sign.
func TestFilterEncoding(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	name := "Ops \x7f\v team"
	gid := e.sim.AddGroup(name)
	r := e.apply(connectors.Change{Type: connectors.Group, ID: "g-ops", Op: connectors.OpUpsert,
		Fields: map[string]any{"displayName": name}})[0]
	if r.Err != nil || r.TargetID != gid {
		t.Fatalf("adopt %q: %+v, want %s", name, r, gid)
	}
	var lookups int
	for _, rq := range e.requests() {
		if rq.Method == "GET" && strings.Contains(rq.Path, "filter=") {
			lookups++
			if strings.Contains(rq.Path, "+") || !strings.Contains(rq.Path, "displayName%20eq%20%22Ops%20%7F%5Cu000b%20team%22") {
				t.Errorf("lookup %s: want the filter percent-encoded, spaces as %%20, the value a JSON string", rq.Path)
			}
		}
	}
	if lookups != 1 {
		t.Errorf("%d lookups, want 1", lookups)
	}
}

// TestRetryAfterHTTPDate: Retry-After may be an HTTP date (RFC 9110
// §10.2.3) as well as seconds; the wait is taken from it, within the
// contract's 60 s cap, and a date already past waits the contract's 5 s.
func TestRetryAfterHTTPDate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       time.Duration
		min, max time.Duration
	}{
		{"future", 30 * time.Second, 20 * time.Second, 31 * time.Second},
		{"beyond the cap", time.Hour, 60 * time.Second, 60 * time.Second},
		{"past", -time.Minute, 5 * time.Second, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, webexsim.Options{}, nil)
			e.intercept = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
				w.Header().Set("Retry-After", time.Now().Add(tc.in).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			r := e.apply(createUser("u1", "ann@example.com"))[0]
			got := connectors.RetryAfterOf(r.Err)
			if connectors.ClassOf(r.Err) != connectors.Transient || got < tc.min || got > tc.max {
				t.Errorf("%v, Retry-After %v, want transient with %v..%v", r.Err, got, tc.min, tc.max)
			}
		})
	}
}
