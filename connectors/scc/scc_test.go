package scc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/mapping"
)

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Instance {
		e := newEnv(t, sccsim.Options{}, nil)
		return connectortest.Instance{
			Connector: e.connector(t),
			Sim:       e.sim,
			Mapping:   DefaultMapping,
			Support:   connectortest.Support{Groups: true, GroupDelete: true, MemberRemove: true, UserDelete: true},
			Map:       mapFields,
		}
	})
}

func TestNewValidatesSettings(t *testing.T) {
	good := func() connectors.Settings {
		return connectors.Settings{Name: "x", Credentials: map[string]string{
			"org_id": "o", "access_token": "tok-SECRET", "refresh_token": "ref-SECRET", "api_key_id": "k"}}
	}
	tests := []struct {
		name    string
		edit    func(*connectors.Settings)
		wantErr string // "" = valid
	}{
		{"valid", func(*connectors.Settings) {}, ""},
		{"access token only", func(s *connectors.Settings) {
			delete(s.Credentials, "refresh_token")
			delete(s.Credentials, "api_key_id")
		}, ""},
		{"no org", func(s *connectors.Settings) { delete(s.Credentials, "org_id") }, "credentials.org_id"},
		{"no tokens", func(s *connectors.Settings) {
			delete(s.Credentials, "access_token")
			delete(s.Credentials, "refresh_token")
		}, "credentials.access_token"},
		{"refresh without key id", func(s *connectors.Settings) { delete(s.Credentials, "api_key_id") }, "credentials.api_key_id"},
		{"bad base url", func(s *connectors.Settings) { s.BaseURL = "ftp://x" }, "base_url"},
		{"bad on_delete", func(s *connectors.Settings) { s.OnDelete = "scramble_password" }, "on_delete"},
		{"unknown user field", func(s *connectors.Settings) {
			s.Mapping = mapping.Spec{User: map[string]string{"phone": "phoneNumbers.value"}}
		}, "mapping.user.phone"},
		{"unknown group field", func(s *connectors.Settings) { s.Mapping = mapping.Spec{Group: map[string]string{"members": "x"}} }, "mapping.group.members"},
		{"removing a field is fine", func(s *connectors.Settings) { s.Mapping = mapping.Spec{User: map[string]string{"phone": ""}} }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.edit(&s)
			_, err := New(s, connectors.Deps{})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "SECRET"):
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                     DefaultBaseURL,
		"https://api.eu.security.cisco.com":    "https://api.eu.security.cisco.com/v1",
		"https://api.eu.security.cisco.com/":   "https://api.eu.security.cisco.com/v1",
		"https://api.eu.security.cisco.com/v1": "https://api.eu.security.cisco.com/v1",
		"http://127.0.0.1:9/v1/":               "http://127.0.0.1:9/v1",
	} {
		if got, err := baseURL(in); err != nil || got != want {
			t.Errorf("baseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestRequestsGolden pins every request the connector sends for a user
// and group lifecycle: paths, methods and exact bodies.
func TestRequestsGolden(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	ann := userFieldsOf("ann@example.com", "Ann", "Lee", true)
	uid := mustApply(t, c, connectors.Change{Type: connectors.User, ID: "u1", Op: connectors.OpUpsert, Fields: ann}).TargetID

	renamed := userFieldsOf("ann@example.com", "Ann", "Kim", true)
	mustApply(t, c, connectors.Change{Type: connectors.User, ID: "u1", Op: connectors.OpUpsert, TargetID: uid, Prev: ann, Fields: renamed})
	off := userFieldsOf("ann@example.com", "Ann", "Kim", false)
	mustApply(t, c, connectors.Change{Type: connectors.User, ID: "u1", Op: connectors.OpUpsert, TargetID: uid, Prev: renamed, Fields: off})
	// Nothing changed: no call at all.
	mustApply(t, c, connectors.Change{Type: connectors.User, ID: "u1", Op: connectors.OpUpsert, TargetID: uid, Prev: off, Fields: off})

	member := connectors.Member{ID: "u1", TargetID: uid, Fields: off}
	eng := map[string]any{fieldName: "Engineering"}
	gid := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, Fields: eng, MembersAdded: []connectors.Member{member}}).TargetID
	eng2 := map[string]any{fieldName: "Engineering EMEA"}
	mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, TargetID: gid, Prev: eng, Fields: eng2})
	mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, TargetID: gid, Prev: eng2, Fields: eng2, MembersRemoved: []connectors.Member{member}})
	mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpDelete, TargetID: gid, Prev: eng2})
	mustApply(t, c, connectors.Change{Type: connectors.User, ID: "u1", Op: connectors.OpDelete, TargetID: uid, Prev: off})

	var buf bytes.Buffer
	for _, cl := range e.rec.take() {
		fmt.Fprintln(&buf, cl)
	}
	testkit.Golden(t, "requests.golden", buf.Bytes())
}

// TestBulkInviteNeedsNoListing: 150 new users in one Apply are two bulk
// PATCH /users calls (100 + 50) and nothing else: no id lookup, however
// many users SCC holds; each user's target id is its email.
func TestBulkInviteNeedsNoListing(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	for i := range 600 {
		e.sim.AddUser(fmt.Sprintf("old%03d@example.com", i), "Old", "User", "PENDING")
	}
	c := e.connector(t)
	var batch []connectors.Change
	for i := range 150 {
		batch = append(batch, createUser(fmt.Sprintf("u%d", i), fmt.Sprintf("New%d@Example.com", i), "New", "User"))
	}
	res := apply(t, c, batch...)
	held := map[string]bool{}
	for _, u := range e.sim.Users() {
		held[u.TargetID] = true
	}
	for i, r := range res {
		want := fmt.Sprintf("new%d@example.com", i)
		if r.Err != nil || r.TargetID != want || !held[want] {
			t.Errorf("change %d: %+v, want target id %q held by SCC", i, r, want)
		}
	}
	calls := e.rec.take()
	if len(calls) != 2 || e.sim.Calls() != 2 {
		t.Errorf("calls %v, want 2 bulk PATCHes", calls)
	}
	for _, cl := range calls {
		if cl.Method != "PATCH" || cl.Path != "/users" {
			t.Errorf("unexpected call %v", cl)
		}
	}
}

// TestBulkItemFailureFailsOnlyItsChange: a FAILED item of the results
// array fails its change alone (permanent, with SCC's message); an
// invite FAILED as "already exists" adopts; the others are done.
func TestBulkItemFailureFailsOnlyItsChange(t *testing.T) {
	fail := rewriteBulkResults(func(it map[string]any) {
		if it["email"] == "bad@example.com" {
			it["status"], it["message"] = "FAILED", "domain not allowed"
		}
	})
	e := newEnv(t, sccsim.Options{}, fail)
	e.sim.AddUser("old@example.com", "Old", "Name", "ACTIVE")
	c := e.connector(t)
	res := apply(t, c,
		createUser("u1", "ann@example.com", "Ann", "Lee"),
		createUser("u2", "bad@example.com", "Bad", "Domain"),
		createUser("u3", "old@example.com", "New", "Name"),
		connectors.Change{Type: connectors.User, ID: "u4", Op: connectors.OpDelete, TargetID: "gone@example.com"},
	)
	if res[0].Err != nil || res[0].TargetID != "ann@example.com" {
		t.Errorf("ann: %+v", res[0])
	}
	if connectors.ClassOf(res[1].Err) != connectors.Permanent || !strings.Contains(fmt.Sprint(res[1].Err), "domain not allowed") {
		t.Errorf("bad: %+v, want a permanent error with SCC's message", res[1])
	}
	if res[2].Err != nil || res[2].TargetID != "old@example.com" {
		t.Errorf("adopted: %+v", res[2])
	}
	if res[3].Err != nil {
		t.Errorf("delete of a user already gone: %+v", res[3])
	}
	want := []string{
		`PATCH /users {"users":[{"operation":"invite","email":"ann@example.com","firstName":"Ann","lastName":"Lee"},{"operation":"invite","email":"bad@example.com","firstName":"Bad","lastName":"Domain"},{"operation":"invite","email":"old@example.com","firstName":"New","lastName":"Name"},{"operation":"remove","email":"gone@example.com"}]} -> 200`,
		`GET /users?max=500 -> 200`,
		`PUT /users/5cc00000-0000-4000-8000-000000000001 {"firstName":"New"} -> 200`,
	}
	var got []string
	for _, cl := range e.rec.take() {
		got = append(got, cl.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestAnswerVariants points the connector at answers in the other shapes
// the contract allows: list envelopes named
// items with the next cursor under pagination, per-item results in lower
// case and without their operation.
func TestAnswerVariants(t *testing.T) {
	rewrite := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rr := httptest.NewRecorder()
			next.ServeHTTP(rr, r)
			body := rr.Body.Bytes()
			var m map[string]any
			if rr.Code == 200 && json.Unmarshal(body, &m) == nil {
				switch {
				case m["users"] != nil:
					m = map[string]any{"items": m["users"], "pagination": map[string]any{"nextCursor": m["cursor"]}}
				case m["results"] != nil:
					for _, it := range m["results"].([]any) {
						it := it.(map[string]any)
						it["status"] = strings.ToLower(it["status"].(string))
						delete(it, "operation")
					}
				}
				body, _ = json.Marshal(m)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rr.Code)
			w.Write(body)
		})
	}
	e := newEnv(t, sccsim.Options{}, rewrite)
	c := e.connector(t)
	r := mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee"))
	if r.TargetID != "ann@example.com" {
		t.Errorf("target id %q, want the email", r.TargetID)
	}
	// Adoption walks pages named "items" with the cursor under pagination.
	for i := range 700 {
		e.sim.AddUser(fmt.Sprintf("x%03d@example.com", i), "X", "Y", "")
	}
	e.sim.AddUser("bob@example.com", "Bob", "Ray", "")
	r = mustApply(t, c, createUser("u2", "bob@example.com", "Bob", "Ray"))
	if r.TargetID == "" || e.rec.count("GET /users?cursor=") != 1 {
		t.Errorf("adopt over variant pages: %+v, calls %v", r, e.rec.take())
	}
	g := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{fieldName: "G"},
		MembersAdded: []connectors.Member{
			{ID: "u2", Fields: map[string]any{fieldEmail: "bob@example.com"}},
			{ID: "ghost", Fields: map[string]any{fieldEmail: "ghost@example.com"}},
		}})
	if len(g.MemberErrors) != 1 || g.MemberErrors["ghost"] == nil {
		t.Errorf("per-item results in lower case without operation: member errors %v, want ghost only", g.MemberErrors)
	}
}

func TestTokenRotationAcrossRestart(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c1 := e.connector(t)
	e.sim.ExpireAccessToken()
	mustApply(t, c1, createUser("u1", "ann@example.com", "Ann", "Lee"))
	if e.sim.Refreshes() != 1 {
		t.Fatalf("refreshes = %d, want 1", e.sim.Refreshes())
	}
	_, rt := e.sim.Tokens()
	var st storedTokens
	if err := json.Unmarshal(e.state.m["scc/tokens/"+testOrg+"/"+testKey], &st); err != nil || st.Refresh != rt {
		t.Fatalf("stored refresh token is not the rotated one (err %v)", err)
	}

	// Restart: config still holds the first pair, now dead. The stored
	// pair wins, so no refresh is needed.
	c2 := e.connector(t)
	mustApply(t, c2, createUser("u2", "bob@example.com", "Bob", "Ray"))
	if e.sim.Refreshes() != 1 {
		t.Errorf("restart needed a refresh (refreshes = %d)", e.sim.Refreshes())
	}

	// Without the stored pair the dead config token cannot recover: a
	// permanent error asking for a new API key, without any secret.
	e.state = &memState{}
	c3 := e.connector(t)
	r := apply(t, c3, createUser("u3", "cy@example.com", "Cy", "Ng"))[0]
	if connectors.ClassOf(r.Err) != connectors.Permanent || !strings.Contains(r.Err.Error(), "new API key") {
		t.Fatalf("dead refresh token: %v, want a permanent error asking for a new API key", r.Err)
	}
	for _, secret := range []string{testAT, testRT, rt} {
		if strings.Contains(r.Err.Error(), secret) {
			t.Fatalf("error leaks a token: %v", r.Err)
		}
	}
	// It stops: no more refresh attempts with the dead token.
	calls := len(e.rec.take())
	apply(t, c3, createUser("u4", "di@example.com", "Di", "Lu"))
	if n := len(e.rec.take()); n != 0 {
		t.Errorf("%d calls after the refresh token died, want 0 (was %d before)", n, calls)
	}
}

// A refresh endpoint whose error answer echoes the token it was sent
// (some gateways do) must not put that token into the error, which is
// logged, stored as the dead letter's reason and shown by the admin API.
func TestRefreshErrorEchoingTokenIsRedacted(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusServiceUnavailable} {
		for _, body := range []string{
			`{"message":"refresh token %s is not valid"}`,
			`invalid bearer %s`,
		} {
			e := newEnv(t, sccsim.Options{}, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "/token") {
						w.WriteHeader(status)
						fmt.Fprintf(w, body, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
						return
					}
					h.ServeHTTP(w, r)
				})
			})
			e.sim.ExpireAccessToken()
			r := apply(t, e.connector(t), createUser("u1", "ann@example.com", "Ann", "Lee"))[0]
			if r.Err == nil {
				t.Fatalf("%d %s: no error", status, body)
			}
			for _, secret := range []string{testAT, testRT} {
				if strings.Contains(r.Err.Error(), secret) {
					t.Errorf("%d %s: error leaks a token: %v", status, body, r.Err)
				}
			}
		}
	}
}

// The same for an API call's error answer echoing the access token.
func TestCallErrorEchoingTokenIsRedacted(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"message":"bad request with %s"}`, r.Header.Get("Authorization"))
		})
	})
	r := apply(t, e.connector(t), createUser("u1", "ann@example.com", "Ann", "Lee"))[0]
	if r.Err == nil || !strings.Contains(r.Err.Error(), "bad request with Bearer [redacted]") || strings.Contains(r.Err.Error(), testAT) {
		t.Fatalf("error %v, want the target's message with the token redacted", r.Err)
	}
}

// TestChangedConfigWins: the stored pair wins over config unless the
// config value changed since it was stored (an operator pasted a new key).
func TestChangedConfigWins(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	e.sim.ExpireAccessToken()
	mustApply(t, e.connector(t), createUser("u1", "ann@example.com", "Ann", "Lee"))
	stored, _ := e.sim.Tokens()
	if got := e.connector(t).tokens.access; got != stored {
		t.Fatalf("unchanged config: the stored pair must win")
	}
	e.settings.Credentials = map[string]string{"org_id": testOrg, "api_key_id": testKey, "access_token": "new-key-at", "refresh_token": "new-key-rt"}
	if got := e.connector(t).tokens.access; got != "new-key-at" {
		t.Fatalf("changed config did not win over the stored pair")
	}
}

func TestRefreshSingleFlight(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	e.sim.ExpireAccessToken()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Apply(t.Context(), []connectors.Change{createUser(fmt.Sprint(i), fmt.Sprintf("u%d@example.com", i), "U", "Ser")})
			errs <- r[0].Err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := e.sim.Refreshes(); n != 1 {
		t.Errorf("refreshes = %d, want 1 (single-flight)", n)
	}
}

func TestSecondUnauthorizedIsPermanent(t *testing.T) {
	always401 := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/token") {
				next.ServeHTTP(w, r)
				return
			}
			http.Error(w, `{"message":"nope"}`, http.StatusUnauthorized)
		})
	}
	e := newEnv(t, sccsim.Options{}, always401)
	r := apply(t, e.connector(t), createUser("u1", "ann@example.com", "Ann", "Lee"))[0]
	if connectors.ClassOf(r.Err) != connectors.Permanent || e.sim.Refreshes() != 1 {
		t.Errorf("got %v after %d refreshes, want a permanent error after one refresh", r.Err, e.sim.Refreshes())
	}
}

func TestProactiveRefresh(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, sccsim.Options{TokenLifetime: time.Hour, Now: clock}, nil)
	c := e.connector(t)
	c.tokens.now = clock
	e.sim.ExpireAccessToken()
	mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee")) // 401, refresh
	mu.Lock()
	now = now.Add(59*time.Minute + 30*time.Second) // within a minute of expiry
	mu.Unlock()
	e.rec.take()
	mustApply(t, c, createUser("u2", "bob@example.com", "Bob", "Ray"))
	if e.sim.Refreshes() != 2 {
		t.Errorf("refreshes = %d, want 2", e.sim.Refreshes())
	}
	for _, cl := range e.rec.take() {
		if cl.Status == http.StatusUnauthorized {
			t.Errorf("a request was sent with an expiring token: %v", cl)
		}
	}
}

// TestStoreFailureKeepsNewPair: the refresh rotated the pair but bbolt
// failed; the change fails transiently and the pair is stored before use.
func TestStoreFailureKeepsNewPair(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	e.sim.ExpireAccessToken()
	e.state.setFail(errors.New("disk full"))
	r := apply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee"))[0]
	if connectors.ClassOf(r.Err) != connectors.Transient {
		t.Fatalf("got %v, want transient", r.Err)
	}
	if len(e.sim.Users()) != 0 {
		t.Fatalf("the new token was used before it was stored")
	}
	e.state.setFail(nil)
	mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee"))
	_, rt := e.sim.Tokens()
	var st storedTokens
	if json.Unmarshal(e.state.m["scc/tokens/"+testOrg+"/"+testKey], &st); st.Refresh != rt || e.sim.Refreshes() != 1 {
		t.Errorf("stored pair is not the rotated one (refreshes %d)", e.sim.Refreshes())
	}
}

func TestGroupPerItemFailures(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	ann := mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee")).TargetID
	r := apply(t, c, connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, Fields: map[string]any{fieldName: "Ops"},
		MembersAdded: []connectors.Member{
			{ID: "u1", TargetID: ann, Fields: map[string]any{fieldEmail: "ann@example.com"}},
			{ID: "ghost", TargetID: "x", Fields: map[string]any{fieldEmail: "ghost@example.com"}},
			{ID: "nomail", Fields: map[string]any{}},
		},
		MembersRemoved: []connectors.Member{{ID: "never", Fields: map[string]any{fieldEmail: "never@example.com"}}},
	})[0]
	if r.Err != nil || r.TargetID == "" {
		t.Fatalf("group change failed as a whole: %+v", r)
	}
	if len(r.MemberErrors) != 2 || r.MemberErrors["ghost"] == nil || r.MemberErrors["nomail"] == nil {
		t.Fatalf("member errors %v, want ghost and nomail only", r.MemberErrors)
	}
	if err := r.MemberErrors["ghost"]; connectors.ClassOf(err) != connectors.Permanent || !strings.Contains(err.Error(), "user not found") {
		t.Errorf("ghost: %v, want permanent with the target's message", err)
	}
	g := e.sim.Groups()[0]
	if len(g.MemberTargetIDs) != 1 || g.MemberTargetIDs[0] != ann {
		t.Errorf("members %v, want [%s]", g.MemberTargetIDs, ann)
	}
}

func TestMemberBatching(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	var members []connectors.Member
	for i := range 250 {
		mail := fmt.Sprintf("m%03d@example.com", i)
		id := e.sim.AddUser(mail, "M", "Ember", "")
		members = append(members, connectors.Member{ID: fmt.Sprint(i), TargetID: id, Fields: map[string]any{fieldEmail: mail}})
	}
	c := e.connector(t)
	r := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{fieldName: "Big"}, MembersAdded: members})
	if n := e.rec.count("PATCH /adminGroups/"); n != 3 {
		t.Errorf("%d member PATCHes for 250 members, want 3", n)
	}
	if g := e.sim.Groups()[0]; len(g.MemberTargetIDs) != 250 || r.MemberErrors != nil {
		t.Errorf("group has %d members, errors %v", len(g.MemberTargetIDs), r.MemberErrors)
	}
}

// TestAdoptExisting: the invite answers 409 for a user made outside the
// bridge, deep in the list; the connector pages to it, adopts its id and
// brings names and status in line.
func TestAdoptExisting(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	for i := range 1100 {
		e.sim.AddUser(fmt.Sprintf("x%04d@example.com", i), "X", "Y", "")
	}
	id := e.sim.AddUser("Ann@Example.com", "Annie", "Lee", "DISABLE")
	c := e.connector(t)
	r := mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee"))
	if r.TargetID != "ann@example.com" {
		t.Fatalf("target id %q, want the email", r.TargetID)
	}
	if n := e.rec.count("GET /users?"); n != 3 {
		t.Errorf("%d list pages, want 3 (1101 users, 500 a page)", n)
	}
	calls := e.rec.take()
	last := calls[len(calls)-2:]
	if last[0].String() != `PUT /users/`+id+` {"firstName":"Ann"} -> 200` || last[1].String() != `PATCH /users {"operation":"enable","email":"ann@example.com"} -> 200` {
		t.Errorf("adoption did not sync names and status: %v", last)
	}
	// A second re-delivery finds the id in the cache: one GET, no walk.
	mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee"))
	if n := e.rec.count("GET /users?"); n != 0 {
		t.Errorf("re-delivery walked the list again (%d pages)", n)
	}
}

func TestEmailChange(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	old := userFieldsOf("ann@example.com", "Ann", "Lee", true)
	tid := mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee")).TargetID
	r := mustApply(t, c, connectors.Change{Type: connectors.User, ID: "u1", Op: connectors.OpUpsert, TargetID: tid, Prev: old,
		Fields: userFieldsOf("ann.lee@example.com", "Ann", "Lee", true)})
	users := e.sim.Users()
	if len(users) != 1 || users[0].UserName != "ann.lee@example.com" || r.TargetID != users[0].TargetID || r.TargetID == tid {
		t.Errorf("after email change: result %+v, target users %+v", r, users)
	}
}

func TestUserChanges(t *testing.T) {
	base := userFieldsOf("ann@example.com", "Ann", "Lee", true)
	tests := []struct {
		name     string
		onDelete string
		change   func(tid string) connectors.Change
		before   func(e *env) // runs after the user exists
		want     []string     // calls after the user exists
		wantNew  bool         // the target id changes
	}{
		{"no change", "", func(tid string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpUpsert, TargetID: tid, Prev: base, Fields: base}
		}, nil, nil, false},
		{"first name only: one walk finds the SCC id", "", func(tid string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpUpsert, TargetID: tid, Prev: base, Fields: userFieldsOf("ann@example.com", "Anna", "Lee", true)}
		}, nil, []string{`GET /users?max=500 -> 200`, `PUT /users/{sccid} {"firstName":"Anna"} -> 200`}, false},
		{"rename and disable: bulk disable, then the PUT", "", func(tid string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpUpsert, TargetID: tid, Prev: base, Fields: userFieldsOf("ann@example.com", "Anna", "Lee", false)}
		}, nil, []string{`PATCH /users {"operation":"disable","email":"ann@example.com"} -> 200`, `GET /users?max=500 -> 200`, `PUT /users/{sccid} {"firstName":"Anna"} -> 200`}, false},
		{"rename of a user mapped to its SCC id (before ids were emails) needs no walk", "", func(string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpUpsert, TargetID: "{sccid}", Prev: base, Fields: userFieldsOf("ann@example.com", "Anna", "Lee", true)}
		}, nil, []string{`PUT /users/{sccid} {"firstName":"Anna"} -> 200`}, true},
		{"active as string", "", func(tid string) connectors.Change {
			f := userFieldsOf("ann@example.com", "Ann", "Lee", true)
			f[fieldActive] = "False"
			return connectors.Change{Type: connectors.User, Op: connectors.OpUpsert, TargetID: tid, Prev: base, Fields: f}
		}, nil, []string{`PATCH /users {"operation":"disable","email":"ann@example.com"} -> 200`}, false},
		{"delete removes", "", func(tid string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpDelete, TargetID: tid, Prev: base}
		}, nil, []string{`PATCH /users {"operation":"remove","email":"ann@example.com"} -> 200`}, false},
		{"delete deactivates", "deactivate", func(tid string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpDelete, TargetID: tid, Prev: base}
		}, nil, []string{`PATCH /users {"operation":"disable","email":"ann@example.com"} -> 200`}, false},
		{"delete without prev goes by the email id", "", func(tid string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpDelete, TargetID: tid}
		}, nil, []string{`PATCH /users {"operation":"remove","email":"ann@example.com"} -> 200`}, false},
		{"delete without prev of an SCC id looks the email up", "", func(string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpDelete, TargetID: "{sccid}"}
		}, nil, []string{`GET /users/{sccid} -> 200`, `PATCH /users {"operation":"remove","email":"ann@example.com"} -> 200`}, false},
		{"delete of a user already gone", "", func(tid string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpDelete, TargetID: tid, Prev: base}
		}, func(e *env) { removeInSim(e, "ann@example.com") },
			[]string{`PATCH /users {"operation":"remove","email":"ann@example.com"} -> 404`}, false},
		{"rename of a user removed behind our back re-invites", "", func(tid string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpUpsert, TargetID: tid, Prev: base, Fields: userFieldsOf("ann@example.com", "Ann", "Li", true)}
		}, func(e *env) { removeInSim(e, "ann@example.com") },
			[]string{`GET /users?max=500 -> 200`,
				`PATCH /users {"operation":"invite","email":"ann@example.com","firstName":"Ann","lastName":"Li"} -> 200`}, false},
		{"enable of a user removed behind our back re-invites", "", func(tid string) connectors.Change {
			return connectors.Change{Type: connectors.User, Op: connectors.OpUpsert, TargetID: tid, Prev: userFieldsOf("ann@example.com", "Ann", "Lee", false), Fields: base}
		}, func(e *env) { removeInSim(e, "ann@example.com") },
			[]string{`PATCH /users {"operation":"enable","email":"ann@example.com"} -> 404`,
				`PATCH /users {"operation":"invite","email":"ann@example.com","firstName":"Ann","lastName":"Lee"} -> 200`}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sccsim.Options{}, nil)
			e.settings.OnDelete = tc.onDelete
			c := e.connector(t)
			tid := mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee")).TargetID
			sccID := e.sim.UserID("ann@example.com")
			if tc.before != nil {
				tc.before(e)
			}
			e.rec.take()
			ch := tc.change(tid)
			ch.ID = "u1"
			if ch.TargetID == "{sccid}" {
				ch.TargetID, tid = sccID, sccID
			}
			r := mustApply(t, c, ch)
			var got []string
			for _, cl := range e.rec.take() {
				if cl.Method == "PATCH" && strings.HasPrefix(cl.Body, `[{"operation":"remove"`) && tc.before != nil {
					continue // the out-of-band removal
				}
				got = append(got, strings.ReplaceAll(cl.String(), sccID, "{sccid}"))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if (ch.Op == connectors.OpUpsert) && (r.TargetID != tid) != tc.wantNew {
				t.Errorf("target id %q (was %q), want changed=%v", r.TargetID, tid, tc.wantNew)
			}
		})
	}
}

func removeInSim(e *env, mail string) {
	req, _ := http.NewRequest("PATCH", e.settings.BaseURL+"/organizations/"+testOrg+"/users", strings.NewReader(`[{"operation":"remove","email":"`+mail+`"}]`)) // the array form: the connector never sends it
	at, _ := e.sim.Tokens()
	req.Header.Set("Authorization", "Bearer "+at)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := e.srv.Client().Do(req); err == nil {
		resp.Body.Close()
	}
}

// TestThrottleStopsBatch: after a 429 the rest of the batch is not sent.
func TestThrottleStopsBatch(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	e.sim.FailNext(connectortest.Fault429RetryAfter, 1)
	res := apply(t, c, createUser("a", "a@example.com", "A", "A"), createUser("b", "b@example.com", "B", "B"))
	for i, r := range res {
		if connectors.ClassOf(r.Err) != connectors.Transient || connectors.RetryAfterOf(r.Err) != time.Second {
			t.Errorf("change %d: %v, want transient with Retry-After 1s", i, r.Err)
		}
	}
	if n := e.sim.Calls(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestGroupVanishedIsRecreated(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	f := map[string]any{fieldName: "Ops"}
	gid := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: f}).TargetID
	mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpDelete, TargetID: gid})
	r := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, TargetID: gid, Prev: f, Fields: map[string]any{fieldName: "Ops 2"}})
	if g := e.sim.Groups(); len(g) != 1 || g[0].TargetID != r.TargetID || g[0].Name != "Ops 2" || r.TargetID == gid {
		t.Errorf("groups %+v, result %+v", g, r)
	}
}

func TestUnknownResourceType(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	r := apply(t, e.connector(t), connectors.Change{Type: "Device", ID: "d", Op: connectors.OpUpsert})[0]
	if connectors.ClassOf(r.Err) != connectors.Unsupported {
		t.Errorf("got %v, want unsupported", r.Err)
	}
}

func TestItemOK(t *testing.T) {
	tests := []struct {
		status, op string
		want       bool
	}{
		{"SUCCESS", "add", true}, {"success", "remove", true}, {"", "add", true}, {"200", "add", true},
		{"FAILED", "add", false}, {"NOT_FOUND", "add", false}, {"NOT_FOUND", "remove", true},
		{"404", "remove", true}, {"404", "add", false}, {"500", "remove", false}, {"weird", "add", false},
	}
	for _, tc := range tests {
		if got := itemOK(tc.status, tc.op); got != tc.want {
			t.Errorf("itemOK(%q, %q) = %v", tc.status, tc.op, got)
		}
	}
}

func TestDecodeList(t *testing.T) {
	tests := []struct {
		body       string
		wantN      int
		wantCursor string
	}{
		{`{"users":[{"id":"1"},{"id":"2"}],"cursor":"c2"}`, 2, "c2"},
		{`{"users":[]}`, 0, ""},
		{`[{"id":"1"}]`, 1, ""},
		{`{"items":[{"id":"1"}],"pagination":{"nextCursor":"n"}}`, 1, "n"},
		{`{"data":[{"id":"1"}],"nextCursor":"n","cursor":"current"}`, 1, "n"},
		{`{"users":null,"cursor":null}`, 0, ""},
		{``, 0, ""},
	}
	for _, tc := range tests {
		items, cur, err := decodeList([]byte(tc.body), "users")
		if err != nil || len(items) != tc.wantN || cur != tc.wantCursor {
			t.Errorf("decodeList(%s) = %d items, %q, %v; want %d, %q", tc.body, len(items), cur, err, tc.wantN, tc.wantCursor)
		}
	}
	if _, _, err := decodeList([]byte(`{"users":{}}`), "users"); err == nil {
		t.Errorf("an object where the list should be was accepted")
	}
	// walk tells an empty list from an answer without one.
	if items, _, _ := decodeList([]byte(`{"users":null}`), "users"); items == nil {
		t.Errorf("a null list decoded as no list")
	}
	if items, _, _ := decodeList([]byte(`{"message":"ok"}`), "users"); items != nil {
		t.Errorf("an answer without a list decoded as a list")
	}
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte(`{"users":[{"id":"1"}],"cursor":"c"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"pagination":{"next":3}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, _, err := decodeList(body, "users")
		if err != nil && items != nil {
			t.Fatalf("items with an error")
		}
		for _, it := range items {
			parseUser(it) // must not panic on any item
		}
	})
}

func FuzzAnswers(f *testing.F) {
	f.Add([]byte(`{"results":[{"id":"a@b","operation":"add","status":"FAILED","message":"x"}]}`))
	f.Add([]byte(`{"operation":"invite","email":"a@b","status":"SUCCESS","id":"1"}`))
	f.Add([]byte(`{"trackingId":"t","message":"m","statusCode":400}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		itemResults(body)
		sent := []userOpBody{{Operation: "invite", Email: "a@b"}, {Operation: "remove", Email: "c@d"}}
		if got, err := bulkResults(body, sent); err == nil && len(got) != len(sent) {
			t.Fatalf("%d results for %d items", len(got), len(sent))
		}
		errorMessage(body)
	})
}

// TestDefaultMapping runs the default mapping through package mapping and
// checks it yields what mapFields (used by the tests above) assumes.
func TestDefaultMapping(t *testing.T) {
	m, err := mapping.New(DefaultMapping, mapping.Scope{})
	if err != nil {
		t.Fatalf("default mapping: %v", err)
	}
	users := []map[string]any{
		connectortest.User("u1", "Ann.Lee@Example.com", "Ann", "Lee", false),
		{"userName": "Bob@Example.com", "name": map[string]any{"givenName": "Bob"}, "active": true},
		{"userName": "cy", "emails": []any{
			map[string]any{"value": "home@example.com", "type": "home"},
			map[string]any{"value": "Cy@Work.example.com", "type": "work"},
		}},
	}
	want := []map[string]any{
		{fieldEmail: "ann.lee@example.com", fieldFirstName: "Ann", fieldLastName: "Lee", fieldActive: false},
		{fieldEmail: "bob@example.com", fieldFirstName: "Bob", fieldActive: true},
		{fieldEmail: "cy@work.example.com"},
	}
	for i, u := range users {
		got, err := m.Map(connectors.User, u)
		if err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
		for k, v := range want[i] {
			if fmt.Sprint(got[k]) != fmt.Sprint(v) {
				t.Errorf("user %d: %s = %v, want %v (all: %v)", i, k, got[k], v, got)
			}
		}
	}
	g, err := m.Map(connectors.Group, connectortest.Group("g1", "Engineering"))
	if err != nil || g[fieldName] != "Engineering" {
		t.Errorf("group: %v, %v", g, err)
	}
}

// TestConformanceDefaultMapping runs the suite once more with package
// mapping evaluating the default mapping, as the program does.
func TestConformanceDefaultMapping(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Instance {
		e := newEnv(t, sccsim.Options{}, nil)
		return connectortest.Instance{
			Connector: e.connector(t),
			Sim:       e.sim,
			Mapping:   DefaultMapping,
			Support:   connectortest.Support{Groups: true, GroupDelete: true, MemberRemove: true, UserDelete: true},
		}
	})
}

// TestAlreadyExistsWithoutConflict: a target that answers "already exists"
// with 400 instead of 409 still gets the user and the group adopted.
func TestAlreadyExistsWithoutConflict(t *testing.T) {
	to400 := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rr := httptest.NewRecorder()
			next.ServeHTTP(rr, r)
			if rr.Code == http.StatusConflict {
				rr.Code = http.StatusBadRequest
			}
			w.WriteHeader(rr.Code)
			w.Write(rr.Body.Bytes())
		})
	}
	e := newEnv(t, sccsim.Options{}, to400)
	e.sim.AddUser("ann@example.com", "Ann", "Lee", "")
	gid := e.sim.AddGroup("Ops")
	c := e.connector(t)
	// A bulk invite answers "already exists" per item, in a 200.
	if r := mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee")); r.TargetID != "ann@example.com" {
		t.Errorf("user: target id %q, want adopted %q", r.TargetID, "ann@example.com")
	}
	if r := mustApply(t, c, connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{fieldName: "Ops"}}); r.TargetID != gid {
		t.Errorf("group: target id %q, want adopted %q", r.TargetID, gid)
	}
}

func TestParseTokenAnswer(t *testing.T) {
	tests := []struct {
		body string
		want tokenAnswer
	}{
		{`{"access_token":"a","refresh_token":"r","expires_in":3600}`, tokenAnswer{"a", "r", 3600}},
		{`{"accessToken":"a","refreshToken":"r","expiresIn":"60"}`, tokenAnswer{"a", "r", 60}},
		{`{"access_token":"a"}`, tokenAnswer{"a", "", 0}},
		{`not json`, tokenAnswer{}},
	}
	for _, tc := range tests {
		if got := parseTokenAnswer([]byte(tc.body)); got != tc.want {
			t.Errorf("parseTokenAnswer(%s) = %+v, want %+v", tc.body, got, tc.want)
		}
	}
}

func TestEmailChangeWithDeactivate(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	e.settings.OnDelete = "deactivate"
	c := e.connector(t)
	old := userFieldsOf("ann@example.com", "Ann", "Lee", true)
	tid := mustApply(t, c, createUser("u1", "ann@example.com", "Ann", "Lee")).TargetID
	r := mustApply(t, c, connectors.Change{Type: connectors.User, ID: "u1", Op: connectors.OpUpsert, TargetID: tid, Prev: old,
		Fields: userFieldsOf("ann.lee@example.com", "Ann", "Lee", true)})
	got := map[string]bool{}
	for _, u := range e.sim.Users() {
		got[u.UserName] = u.Active
	}
	if len(got) != 2 || got["ann@example.com"] || !got["ann.lee@example.com"] || r.TargetID == tid {
		t.Errorf("users (email -> active) %v, result %+v: want the old address disabled and the new one invited", got, r)
	}
}

// rewriteBulkResults is a target in front of the simulator that passes
// each item of a bulk PATCH /users results array to edit before the
// connector reads it.
func rewriteBulkResults(edit func(item map[string]any)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rr := httptest.NewRecorder()
			next.ServeHTTP(rr, r)
			body := rr.Body.Bytes()
			var m map[string]any
			if r.Method == "PATCH" && strings.HasSuffix(r.URL.Path, "/users") && rr.Code == 200 &&
				json.Unmarshal(body, &m) == nil && m["results"] != nil {
				for _, it := range m["results"].([]any) {
					edit(it.(map[string]any))
				}
				body, _ = json.Marshal(m)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rr.Code)
			w.Write(body)
		})
	}
}
