package scc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
	"github.com/scimbridge/scimbridge/internal/testkit"
)

// listAll lists typ and returns the ids in the order fn saw them.
func listAll(t testing.TB, c *Connector, typ string) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	err := c.List(ctx, typ, func(id string) error {
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// listCalls are the recorded list requests for path ("/users" or
// "/adminGroups").
func listCalls(e *env, path string) []call {
	var out []call
	for _, cl := range e.rec.take() {
		if cl.Method == http.MethodGet && strings.HasPrefix(cl.Path, path+"?") {
			out = append(out, cl)
		}
	}
	return out
}

// TestListReturnsApplyIDs: over several pages, List answers exactly the
// ids Apply answered, pending invites and disabled users included, each
// once.
func TestListReturnsApplyIDs(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	c.pageSize = 2

	var batch []connectors.Change
	for i := range 5 {
		batch = append(batch, createUser(fmt.Sprintf("u%d", i), fmt.Sprintf("user%d@example.com", i), "U", fmt.Sprint(i)))
	}
	off := connectors.Change{Type: connectors.User, ID: "u5", Op: connectors.OpUpsert, Fields: userFieldsOf("off@example.com", "Off", "User", false)}
	batch = append(batch, off)
	var wantUsers []string
	for i, r := range apply(t, c, batch...) {
		if r.Err != nil || r.TargetID == "" {
			t.Fatalf("change %d: %+v", i, r)
		}
		wantUsers = append(wantUsers, r.TargetID)
	}
	var wantGroups []string
	for i := range 5 {
		r := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: fmt.Sprintf("g%d", i), Op: connectors.OpUpsert,
			Fields: map[string]any{fieldName: fmt.Sprintf("Group %d", i)}})
		wantGroups = append(wantGroups, r.TargetID)
	}
	var held []string
	for _, u := range e.sim.Users() {
		held = append(held, u.TargetID)
	}
	if !slices.Equal(sorted(held), sorted(wantUsers)) {
		t.Fatalf("sim holds %v, Apply answered %v", held, wantUsers)
	}
	e.rec.take()

	got, err := listAll(t, c, connectors.User)
	if err != nil || !slices.Equal(sorted(got), sorted(wantUsers)) {
		t.Errorf("users: %v, %v; want %v", got, err, wantUsers)
	}
	if n := len(listCalls(e, "/users")); n != 3 {
		t.Errorf("%d user pages, want 3 (6 users, 2 a page)", n)
	}
	got, err = listAll(t, c, connectors.Group)
	if err != nil || !slices.Equal(sorted(got), sorted(wantGroups)) {
		t.Errorf("groups: %v, %v; want %v", got, err, wantGroups)
	}
	if n := len(listCalls(e, "/adminGroups")); n != 3 {
		t.Errorf("%d group pages, want 3 (5 groups, 2 a page)", n)
	}
}

// TestListAllStatusesFullPages: at the real page size (500), every status
// counts as held, in as few pages as the contract allows.
func TestListAllStatusesFullPages(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	statuses := []string{"ACTIVE", "DISABLE", "PENDING", "SHARED"}
	var want []string
	for i := range 1001 {
		mail := fmt.Sprintf("x%04d@example.com", i)
		e.sim.AddUser(mail, "X", "Y", statuses[i%len(statuses)])
		want = append(want, mail)
	}
	c := e.connector(t)
	got, err := listAll(t, c, connectors.User)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("listed %d users (err %v), want %d in creation order", len(got), err, len(want))
	}
	calls := listCalls(e, "/users")
	if len(calls) != 3 || calls[0].Path != "/users?max=500" || !strings.Contains(calls[2].Path, "cursor=") {
		t.Errorf("list calls %v, want 3 pages of max=500", calls)
	}
	// What List learned spares a name change its walk.
	if c.cached("x0500@example.com") != e.sim.UserID("x0500@example.com") {
		t.Errorf("List did not learn the listed emails")
	}
}

func TestListEmpty(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	for _, typ := range []string{connectors.User, connectors.Group} {
		got, err := listAll(t, c, typ)
		if err != nil || len(got) != 0 {
			t.Errorf("%s: %v, %v; want nothing", typ, got, err)
		}
	}
	if calls := e.rec.take(); len(calls) != 2 {
		t.Errorf("calls %v, want one page each", calls)
	}
}

func TestListUnknownType(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	err := e.connector(t).List(context.Background(), "Device", func(string) error { return nil })
	if connectors.ClassOf(err) != connectors.Permanent || err.Error() != `permanent: scc lists User and Group, not "Device"` {
		t.Errorf("got %v, want the permanent error every connector answers", err)
	}
	if n := e.sim.Calls(); n != 0 {
		t.Errorf("%d calls for an unknown type", n)
	}
}

// TestListErrorMidway: a failure on a later page surfaces classified, as
// Apply's would; the ids already passed stay passed.
func TestListErrorMidway(t *testing.T) {
	for _, tc := range []struct {
		fault  connectortest.Fault
		class  connectors.Class
		status int
	}{
		{connectortest.Fault5xx, connectors.Transient, http.StatusServiceUnavailable},
		{connectortest.Fault429RetryAfter, connectors.Transient, http.StatusTooManyRequests},
		{connectortest.FaultPermanent, connectors.Permanent, http.StatusBadRequest},
	} {
		t.Run(tc.class.String()+fmt.Sprint(tc.status), func(t *testing.T) {
			e := newEnv(t, sccsim.Options{}, nil)
			for i := range 5 {
				e.sim.AddGroup(fmt.Sprintf("G%d", i))
			}
			c := e.connector(t)
			c.pageSize = 2
			var got []string
			err := c.List(context.Background(), connectors.Group, func(id string) error {
				if got = append(got, id); len(got) == 2 {
					e.sim.FailNext(tc.fault, 1) // the next page fails
				}
				return nil
			})
			if connectors.ClassOf(err) != tc.class || statusOf(err) != tc.status || !strings.Contains(err.Error(), "list groups") {
				t.Errorf("got %v, want %s with status %d", err, tc.class, tc.status)
			}
			if len(got) != 2 {
				t.Errorf("fn saw %v, want the first page only", got)
			}
			if tc.fault == connectortest.Fault429RetryAfter && connectors.RetryAfterOf(err) != time.Second {
				t.Errorf("Retry-After lost: %v", err)
			}
		})
	}
}

// TestListRefreshesToken: an access token that expires between pages is
// refreshed and the listing goes on.
func TestListRefreshesToken(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	for i := range 5 {
		e.sim.AddUser(fmt.Sprintf("x%d@example.com", i), "X", "Y", "")
	}
	c := e.connector(t)
	c.pageSize = 2
	n := 0
	err := c.List(context.Background(), connectors.User, func(string) error {
		if n++; n == 1 {
			e.sim.ExpireAccessToken()
		}
		return nil
	})
	if err != nil || n != 5 || e.sim.Refreshes() != 1 {
		t.Errorf("err %v, %d ids, %d refreshes; want 5 ids after 1 refresh", err, n, e.sim.Refreshes())
	}
}

func TestListErrorEchoingTokenIsRedacted(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"trackingId":"t-1","message":"%s may not list users","statusCode":403}`, r.Header.Get("Authorization"))
		})
	})
	err := e.connector(t).List(context.Background(), connectors.User, func(string) error { return nil })
	if connectors.ClassOf(err) != connectors.Permanent || statusOf(err) != http.StatusForbidden {
		t.Errorf("got %v, want permanent 403", err)
	}
	if err != nil && strings.Contains(err.Error(), testAT) {
		t.Errorf("error leaks the access token: %v", err)
	}
}

func TestListStopsOnCallbackError(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	for i := range 5 {
		e.sim.AddUser(fmt.Sprintf("x%d@example.com", i), "X", "Y", "")
	}
	c := e.connector(t)
	c.pageSize = 2
	stop := errors.New("enough")
	n := 0
	err := c.List(context.Background(), connectors.User, func(string) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("err %v after %d ids, want the callback's error at the 3rd", err, n)
	}
	if calls := listCalls(e, "/users"); len(calls) != 2 {
		t.Errorf("calls %v, want 2 pages (none after the callback stopped)", calls)
	}
}

// TestListMisbehavingTarget: a target whose paging does not end, or whose
// page is not a list of ids, fails the listing (transient; an object
// without an id is permanent, as in every connector) instead of passing a
// short list for a complete one.
func TestListMisbehavingTarget(t *testing.T) {
	tests := []struct {
		name    string
		pages   func(n int, cursor string) string // n counts requests from 0
		wantIDs []string
		wantErr string // "" = no error
	}{
		{"same page, same cursor", func(int, string) string {
			return `{"groups":[{"id":"a"},{"id":"b"}],"cursor":"c1"}`
		}, []string{"a", "b"}, "same page"},
		{"same page, new cursor", func(n int, _ string) string {
			return fmt.Sprintf(`{"groups":[{"id":"a"},{"id":"b"}],"cursor":"c%d"}`, n)
		}, []string{"a", "b"}, "same page"},
		{"cursor given again", func(n int, _ string) string {
			return fmt.Sprintf(`{"groups":[{"id":"a%d"}],"cursor":"c1"}`, n)
		}, []string{"a0", "a1"}, "cursor it had already given"},
		{"item without id", func(int, string) string {
			return `{"groups":[{"id":"a"},{"name":"x"}]}`
		}, []string{"a"}, "without an id"},
		{"no list", func(int, string) string { return `{"message":"ok"}` }, nil, `no "groups" list`},
		{"not json", func(int, string) string { return `<html>` }, nil, "list answer"},
		{"null list is empty", func(int, string) string { return `{"groups":null}` }, nil, ""},
		{"repeated id passed once", func(_ int, cursor string) string {
			if cursor == "" {
				return `{"groups":[{"id":"a"},{"id":"b"}],"cursor":"c1"}`
			}
			return `{"groups":[{"id":"b"},{"id":"c"}]}`
		}, []string{"a", "b", "c"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int32
			e := newEnv(t, sccsim.Options{}, func(http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n := int(requests.Add(1)) - 1
					if n > 20 {
						w.WriteHeader(http.StatusTeapot) // the guard did not stop it
						return
					}
					body := tc.pages(n, r.URL.Query().Get("cursor"))
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(body))
				})
			})
			got, err := listAll(t, e.connector(t), connectors.Group)
			if !slices.Equal(got, tc.wantIDs) {
				t.Errorf("ids %v, want %v", got, tc.wantIDs)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (connectors.ClassOf(err) != wantClass(tc.wantErr) || !strings.Contains(fmt.Sprint(err), tc.wantErr)):
				t.Errorf("error %v, want a %s one saying %q", err, wantClass(tc.wantErr), tc.wantErr)
			}
		})
	}
}

// TestListRequestsGolden pins the list requests: paths, page size and
// cursors, for users and admin groups.
func TestListRequestsGolden(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	e.sim.AddUser("ann@example.com", "Ann", "Lee", "ACTIVE")
	e.sim.AddUser("bob@example.com", "Bob", "Ray", "PENDING")
	e.sim.AddUser("cy@example.com", "Cy", "Oh", "DISABLE")
	e.sim.AddGroup("Engineering")
	e.sim.AddGroup("Sales")
	e.sim.AddGroup("Support")
	c := e.connector(t)
	c.pageSize = 2
	var buf bytes.Buffer
	for _, typ := range []string{connectors.User, connectors.Group} {
		ids, err := listAll(t, c, typ)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		fmt.Fprintf(&buf, "# %s: %s\n", typ, strings.Join(ids, " "))
	}
	for _, cl := range e.rec.take() {
		fmt.Fprintln(&buf, cl)
	}
	testkit.Golden(t, "list_requests.golden", buf.Bytes())
}

// wantClass is the class TestListMisbehavingTarget expects for an error
// saying msg: a listed object without an id is Permanent in every
// connector (connectors.ErrListItemWithoutID); broken paging is Transient.
func wantClass(msg string) connectors.Class {
	if msg == "without an id" {
		return connectors.Permanent
	}
	return connectors.Transient
}

// FuzzJSONString: the escape-free fast path of jsonString reads any valid
// JSON string exactly as the decoder does.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"ann@example.com"`, `"Zoë"`, `"a\"b"`, `"\u00e9"`, `""`, `"\xff"`, `12`, `"tab	"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want string
		if !json.Valid(raw) || json.Unmarshal(raw, &want) != nil {
			return
		}
		if got := jsonString(raw); got != want {
			t.Errorf("jsonString(%q) = %q, the decoder reads %q", raw, got, want)
		}
	})
}

// TestBackgroundListingWaitsForLiveWork: a periodic check's listing (a
// context with a Pacer) sends nothing while live work is waiting or in
// flight, and resumes once the connector is idle; a live listing is not
// held.
func TestBackgroundListingWaitsForLiveWork(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	e.sim.AddUser("ann@example.com", "Ann", "Lee", "")
	var busy atomic.Bool
	busy.Store(true)
	p := connectors.NewPacer(0, connectors.BackgroundShare, busy.Load)
	done := make(chan error, 1)
	go func() {
		done <- c.List(connectors.WithPacer(context.Background(), p), connectors.User, func(string) error { return nil })
	}()
	if err := c.List(context.Background(), connectors.User, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	live := e.rec.count("GET /users")
	for deadline := time.Now().Add(10 * time.Second); p.Yielded() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the background listing never waited (%d requests)", e.rec.count("GET /users"))
		}
	}
	if n := e.rec.count("GET /users"); n != live || live != 1 {
		t.Fatalf("%d listing requests while live work was busy (live listing: %d)", n-live, live)
	}
	busy.Store(false)
	if err := <-done; err != nil || e.rec.count("GET /users") != 2 || p.Granted() == 0 {
		t.Errorf("background listing: %v, %d requests, %d granted", err, e.rec.count("GET /users"), p.Granted())
	}
}
