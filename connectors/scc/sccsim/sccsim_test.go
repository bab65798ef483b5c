package sccsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/simkit"
	"github.com/scimbridge/scimbridge/internal/testkit"
)

const (
	org   = "org-1"
	keyID = "key-1"
	at    = "access-1"
	rt    = "refresh-1"
	users = "/v1/organizations/" + org + "/users"
	grps  = "/v1/organizations/" + org + "/adminGroups"
)

// clock is a settable time source for token lifetimes and rate windows.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSim(opts Options) (*Server, *clock) {
	clk := &clock{t: time.Date(2026, 2, 5, 22, 53, 38, 0, time.UTC)}
	opts.OrgID, opts.APIKeyID, opts.AccessToken, opts.RefreshToken = org, keyID, at, rt
	opts.Now = clk.Now
	return New(opts), clk
}

type req struct {
	method, path, body string
	token              string // "" = the current access token; "-" = none
	ct                 string // "" = application/json when there is a body
}

func do(t *testing.T, s *Server, r req) *httptest.ResponseRecorder {
	t.Helper()
	hr := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	switch r.token {
	case "":
		cur, _ := s.Tokens()
		hr.Header.Set("Authorization", "Bearer "+cur)
	case "-":
	default:
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	switch {
	case r.ct != "":
		hr.Header.Set("Content-Type", r.ct)
	case r.body != "":
		hr.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, hr)
	return w
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", w.Body.String(), err)
	}
	return v
}

// TestContract checks one request at a time against the contract: auth,
// paths, shapes, statuses and the error body.
func TestContract(t *testing.T) {
	tooMany := make([]string, 101)
	tooManyUserOps := make([]string, 101)
	for i := range tooMany {
		tooManyUserOps[i] = fmt.Sprintf(`{"operation":"disable","email":"u%d@example.com"}`, i)
		tooMany[i] = fmt.Sprintf(`{"operation":"add","id":"u%d@example.com"}`, i)
	}
	tests := []struct {
		name       string
		req        req
		wantStatus int
		wantBody   string // substring of the answer
	}{
		{"no token", req{method: "GET", path: users, token: "-"}, 401, "invalid or expired access token"},
		{"wrong token", req{method: "GET", path: users, token: "nope"}, 401, "invalid or expired"},
		{"refresh token is not an access token", req{method: "GET", path: users, token: rt}, 401, ""},
		{"other org", req{method: "GET", path: "/v1/organizations/org-2/users"}, 403, "denied"},
		{"unknown path", req{method: "GET", path: "/v1/organizations/" + org + "/widgets"}, 404, "not found"},
		{"no version", req{method: "GET", path: "/organizations/" + org + "/users"}, 404, ""},
		{"trailing slash", req{method: "GET", path: users + "/"}, 404, ""},
		{"method", req{method: "DELETE", path: users}, 405, ""},
		{"list users", req{method: "GET", path: users}, 200, `"users":[{"id":"5cc00000-0000-4000-8000-000000000001","email":"ann@example.com","firstName":"Ann","lastName":"Lee","status":"ACTIVE"}]`},
		{"list by status", req{method: "GET", path: users + "?status=PENDING"}, 200, `"users":[]`},
		{"list bad status", req{method: "GET", path: users + "?status=active"}, 400, "status must be"},
		{"list unknown query", req{method: "GET", path: users + "?email=ann@example.com"}, 400, "unknown query parameter"},
		{"max too big", req{method: "GET", path: users + "?max=501"}, 400, "max must be"},
		{"max zero", req{method: "GET", path: users + "?max=0"}, 400, "max must be"},
		{"max 500", req{method: "GET", path: users + "?max=500"}, 200, ""},
		{"bad cursor", req{method: "GET", path: users + "?cursor=xyz"}, 400, "invalid cursor"},
		{"get with body", req{method: "GET", path: users, body: `{}`}, 400, "unexpected request body"},
		{"get user", req{method: "GET", path: users + "/5cc00000-0000-4000-8000-000000000001"}, 200, `"email":"ann@example.com"`},
		{"get unknown user", req{method: "GET", path: users + "/nope"}, 404, "user not found"},
		{"invite", req{method: "PATCH", path: users, body: `{"operation":"invite","email":"bo@example.com","firstName":"Bo","lastName":"Li"}`}, 200, `{"email":"bo@example.com","operation":"invite","status":"SUCCESS"}`},
		{"invite existing", req{method: "PATCH", path: users, body: `{"operation":"invite","email":"ANN@example.com","firstName":"A","lastName":"L"}`}, 409, "already exists"},
		{"invite without names", req{method: "PATCH", path: users, body: `{"operation":"invite","email":"bo@example.com"}`}, 400, "needs firstName and lastName"},
		{"invite null name", req{method: "PATCH", path: users, body: `{"operation":"invite","email":"bo@example.com","firstName":null,"lastName":"Li"}`}, 400, "must not be null"},
		{"unknown field", req{method: "PATCH", path: users, body: `{"operation":"invite","email":"bo@example.com","firstName":"B","lastName":"L","displayName":"B L"}`}, 400, "unknown field"},
		{"bad email", req{method: "PATCH", path: users, body: `{"operation":"disable","email":"bo"}`}, 400, "valid email"},
		{"bad operation", req{method: "PATCH", path: users, body: `{"operation":"delete","email":"ann@example.com"}`}, 400, "operation must be"},
		{"number as string", req{method: "PATCH", path: users, body: `{"operation":"disable","email":1}`}, 400, "must be a string"},
		{"text/plain", req{method: "PATCH", path: users, body: `{"operation":"disable","email":"ann@example.com"}`, ct: "text/plain"}, 415, "application/json"},
		{"scim+json is not json", req{method: "PATCH", path: users, body: `{"operation":"disable","email":"ann@example.com"}`, ct: "application/scim+json"}, 415, ""},
		{"json with charset", req{method: "PATCH", path: users, body: `{"operation":"disable","email":"ann@example.com"}`, ct: "application/json; charset=utf-8"}, 200, `"status":"SUCCESS"`},
		{"disable unknown", req{method: "PATCH", path: users, body: `{"operation":"disable","email":"zed@example.com"}`}, 404, "user not found"},
		{"remove unknown", req{method: "PATCH", path: users, body: `{"operation":"remove","email":"zed@example.com"}`}, 404, "user not found"},
		{"bulk array", req{method: "PATCH", path: users, body: `[{"operation":"disable","email":"ann@example.com"},{"operation":"remove","email":"zed@example.com"}]`}, 200, `"results":[{"operation":"disable","email":"ann@example.com","status":"SUCCESS"},{"operation":"remove","email":"zed@example.com","status":"FAILED","message":"user not found"}]`},
		{"bulk users", req{method: "PATCH", path: users, body: `{"users":[{"operation":"enable","email":"ann@example.com"}]}`}, 200, `"results":[{"operation":"enable"`},
		{"bulk users plus junk", req{method: "PATCH", path: users, body: `{"users":[],"x":1}`}, 400, ""},
		{"bulk empty", req{method: "PATCH", path: users, body: `[]`}, 400, "no operations"},
		{"bulk one email twice", req{method: "PATCH", path: users, body: `{"users":[{"operation":"invite","email":"new@example.com","firstName":"N","lastName":"E"},{"operation":"disable","email":"NEW@example.com"}]}`}, 400, "more than once"},
		{"bulk too many", req{method: "PATCH", path: users, body: `{"users":[` + strings.Join(tooManyUserOps, ",") + `]}`}, 400, "at most 100"},
		{"bulk invite exists fails only its item", req{method: "PATCH", path: users, body: `{"users":[{"operation":"invite","email":"ann@example.com","firstName":"A","lastName":"L"},{"operation":"invite","email":"new2@example.com","firstName":"N","lastName":"E"}]}`}, 200, `"results":[{"operation":"invite","email":"ann@example.com","status":"FAILED","message":"user already exists in organization"},{"operation":"invite","email":"new2@example.com","status":"SUCCESS"}]`},
		{"put names", req{method: "PUT", path: users + "/5cc00000-0000-4000-8000-000000000001", body: `{"lastName":"Kim"}`}, 200, `"firstName":"Ann","lastName":"Kim"`},
		{"put nothing", req{method: "PUT", path: users + "/5cc00000-0000-4000-8000-000000000001", body: `{}`}, 400, "nothing to update"},
		{"put email", req{method: "PUT", path: users + "/5cc00000-0000-4000-8000-000000000001", body: `{"email":"x@example.com"}`}, 400, "unknown field"},
		{"put empty name", req{method: "PUT", path: users + "/5cc00000-0000-4000-8000-000000000001", body: `{"firstName":""}`}, 400, "must not be empty"},
		{"put unknown user", req{method: "PUT", path: users + "/nope", body: `{"firstName":"X"}`}, 404, ""},
		{"user groups", req{method: "GET", path: users + "/5cc00000-0000-4000-8000-000000000001/groups"}, 200, `"groups":[{"id":"5cc00000-0000-4000-8000-000000000002","name":"Admins"`},
		{"list groups", req{method: "GET", path: grps}, 200, `"groups":[{"id":"5cc00000-0000-4000-8000-000000000002","name":"Admins","description":"","orgId":"org-1","created":"2026-02-05T22:53:38Z","type":"STANDARD","appliesTo":"ALL"}]`},
		{"create group", req{method: "POST", path: grps, body: `{"name":"Ops","description":"on call"}`}, 201, `"name":"Ops","description":"on call","orgId":"org-1"`},
		{"create group dup", req{method: "POST", path: grps, body: `{"name":"admins"}`}, 409, "already exists"},
		{"create group no name", req{method: "POST", path: grps, body: `{"description":"x"}`}, 400, "name is required"},
		{"create group null", req{method: "POST", path: grps, body: `{"name":"Ops","description":null}`}, 400, "must not be null"},
		{"create group unknown", req{method: "POST", path: grps, body: `{"name":"Ops","members":[]}`}, 400, "unknown field"},
		{"get group", req{method: "GET", path: grps + "/5cc00000-0000-4000-8000-000000000002"}, 200, `"name":"Admins"`},
		{"put group", req{method: "PUT", path: grps + "/5cc00000-0000-4000-8000-000000000002", body: `{"name":"Admins 2"}`}, 200, `"name":"Admins 2"`},
		{"put group nothing", req{method: "PUT", path: grps + "/5cc00000-0000-4000-8000-000000000002", body: `{}`}, 400, ""},
		{"delete group", req{method: "DELETE", path: grps + "/5cc00000-0000-4000-8000-000000000002"}, 204, ""},
		{"delete unknown group", req{method: "DELETE", path: grps + "/nope"}, 404, "group not found"},
		{"patch members", req{method: "PATCH", path: grps + "/5cc00000-0000-4000-8000-000000000002", body: `{"users":[{"operation":"remove","id":"ann@example.com"},{"operation":"add","id":"zed@example.com"},{"operation":"remove","id":"zed@example.com"}]}`}, 200,
			`{"results":[{"id":"ann@example.com","operation":"remove","status":"SUCCESS"},{"id":"zed@example.com","operation":"add","status":"FAILED","message":"user not found"},{"id":"zed@example.com","operation":"remove","status":"NOT_FOUND","message":"user is not a member of the group"}]}`},
		{"patch members bad op", req{method: "PATCH", path: grps + "/5cc00000-0000-4000-8000-000000000002", body: `{"users":[{"operation":"replace","id":"ann@example.com"}]}`}, 400, "add or remove"},
		{"patch members extra key", req{method: "PATCH", path: grps + "/5cc00000-0000-4000-8000-000000000002", body: `{"users":[{"operation":"add","id":"ann@example.com","value":"x"}]}`}, 400, "unknown field"},
		{"patch members too many", req{method: "PATCH", path: grps + "/5cc00000-0000-4000-8000-000000000002", body: `{"users":[` + strings.Join(tooMany, ",") + `]}`}, 400, "at most 100"},
		{"patch members empty", req{method: "PATCH", path: grps + "/5cc00000-0000-4000-8000-000000000002", body: `{"users":[]}`}, 400, "nothing to patch"},
		{"group users", req{method: "GET", path: grps + "/5cc00000-0000-4000-8000-000000000002/users"}, 200, `"users":[{"id":"5cc00000-0000-4000-8000-000000000001"`},
		{"group roles", req{method: "GET", path: grps + "/5cc00000-0000-4000-8000-000000000002/roles"}, 200, `{"roles":[]}`},
		{"group managed orgs", req{method: "GET", path: grps + "/5cc00000-0000-4000-8000-000000000002/managedOrgs"}, 200, `{"managedOrgs":[]}`},
		{"users by group", req{method: "GET", path: users + "?groupId=5cc00000-0000-4000-8000-000000000002"}, 200, `"email":"ann@example.com"`},
		{"users by unknown group", req{method: "GET", path: users + "?groupId=nope"}, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSim(Options{})
			s.AddUser("ann@example.com", "Ann", "Lee", "")
			gid := s.AddGroup("Admins")
			s.groupID[gid].members = []string{s.byEmail["ann@example.com"].ID}

			w := do(t, s, tc.req)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.wantStatus, w.Body)
			}
			if !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("body %s\nwant it to contain %s", w.Body, tc.wantBody)
			}
			if w.Code >= 400 {
				e := decode[map[string]any](t, w)
				for _, k := range []string{"trackingId", "message", "timestamp", "statusCode", "path"} {
					if _, ok := e[k]; !ok || len(e) != 5 {
						t.Errorf("error body %v: want exactly trackingId, message, timestamp, statusCode, path", e)
					}
				}
				if e["statusCode"] != float64(w.Code) || e["path"] != strings.SplitN(tc.req.path, "?", 2)[0] {
					t.Errorf("error body %v does not match status %d / path", e, w.Code)
				}
			}
		})
	}
}

// TestErrorBodyGolden pins the exact shape of SCC's error body.
func TestErrorBodyGolden(t *testing.T) {
	s, _ := newSim(Options{})
	w := do(t, s, req{method: "GET", path: users + "/nope"})
	testkit.Golden(t, "error.golden.json", w.Body.Bytes())
}

func TestPaging(t *testing.T) {
	s, _ := newSim(Options{})
	for i := range 250 {
		s.AddUser(fmt.Sprintf("u%03d@example.com", i), "U", "Ser", "")
	}
	type pageT struct {
		Users []struct {
			Email string `json:"email"`
		} `json:"users"`
		Cursor *string `json:"cursor"`
	}
	var seen []string
	path := users + "?max=100"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		w := do(t, s, req{method: "GET", path: path})
		p := decode[pageT](t, w)
		for _, u := range p.Users {
			seen = append(seen, u.Email)
		}
		if pages == 0 {
			// A deletion between pages must not make the walk skip a user.
			do(t, s, req{method: "PATCH", path: users, body: `{"operation":"remove","email":"u050@example.com"}`})
		}
		if p.Cursor == nil {
			if pages != 2 {
				t.Errorf("pages = %d, want 3", pages+1)
			}
			break
		}
		if *p.Cursor == "" {
			t.Fatal(`"cursor":"" sent; omit it when nothing remains`)
		}
		path = users + "?max=100&cursor=" + *p.Cursor
	}
	if len(seen) != 250 || seen[100] != "u100@example.com" || seen[249] != "u249@example.com" {
		t.Errorf("walk saw %d users (first of page 2: %s)", len(seen), seen[100])
	}
	// Default page size is 100.
	if p := decode[pageT](t, do(t, s, req{method: "GET", path: users})); len(p.Users) != 100 {
		t.Errorf("default page = %d users, want 100", len(p.Users))
	}
}

// walkIDs pages through a collection (path with its query, without max
// and cursor) and returns every id and the number of pages; between runs
// after each page. It fails on a page that is not a list, a cursor that is
// "" or a walk that does not end.
func walkIDs(t *testing.T, s *Server, path, key string, size int, between func(page int)) ([]string, int) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := fmt.Sprintf("%s%smax=%d", path, sep, size)
	var ids []string
	for pages := 1; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		w := do(t, s, req{method: "GET", path: next})
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", next, w.Code, w.Body)
		}
		p := decode[map[string]json.RawMessage](t, w)
		var items []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(p[key], &items); err != nil || items == nil {
			t.Fatalf("GET %s: %q is not a list: %s", next, key, w.Body)
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if between != nil {
			between(pages)
		}
		raw, ok := p["cursor"]
		if !ok {
			return ids, pages
		}
		var cur string
		if json.Unmarshal(raw, &cur) != nil || cur == "" {
			t.Fatalf(`GET %s: cursor %s; omit it when nothing remains`, next, raw)
		}
		next = fmt.Sprintf("%s%smax=%d&cursor=%s", path, sep, size, cur)
	}
}

// TestListEveryStatus: an unfiltered user list holds every status (a
// PENDING invite is a user); status filters page with their own cursors.
func TestListEveryStatus(t *testing.T) {
	s, _ := newSim(Options{})
	var all, pending []string
	for i, st := range []string{"ACTIVE", "PENDING", "DISABLE", "SHARED", "PENDING", "ACTIVE", "PENDING"} {
		id := s.AddUser(fmt.Sprintf("u%d@example.com", i), "U", "Ser", st)
		all = append(all, id)
		if st == "PENDING" {
			pending = append(pending, id)
		}
	}
	w := do(t, s, req{method: "PATCH", path: users, body: `{"operation":"invite","email":"new@example.com","firstName":"N","lastName":"U"}`})
	if w.Code != 200 {
		t.Fatalf("invite: %d %s", w.Code, w.Body)
	}
	invited := s.UserID("new@example.com")
	all, pending = append(all, invited), append(pending, invited)

	if got, pages := walkIDs(t, s, users, "users", 3, nil); fmt.Sprint(got) != fmt.Sprint(all) || pages != 3 {
		t.Errorf("unfiltered: %v in %d pages, want %v in 3", got, pages, all)
	}
	if got, pages := walkIDs(t, s, users+"?status=PENDING", "users", 2, nil); fmt.Sprint(got) != fmt.Sprint(pending) || pages != 2 {
		t.Errorf("PENDING: %v in %d pages, want %v in 2", got, pages, pending)
	}
}

// TestPagingAdminGroups: admin groups page like users; a deletion between
// pages (even of the item the cursor names) skips nothing else; an empty
// org answers an empty list without a cursor.
func TestPagingAdminGroups(t *testing.T) {
	s, _ := newSim(Options{})
	w := do(t, s, req{method: "GET", path: grps})
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"groups":[]}` {
		t.Errorf("empty: %d %s, want {\"groups\":[]}", w.Code, w.Body)
	}
	var ids []string
	for i := range 7 {
		ids = append(ids, s.AddGroup(fmt.Sprintf("G%d", i)))
	}
	got, pages := walkIDs(t, s, grps, "groups", 3, func(page int) {
		if page == 1 {
			// The cursor names G3, the next page's first item: delete it.
			if w := do(t, s, req{method: "DELETE", path: grps + "/" + ids[3]}); w.Code != 204 {
				t.Fatalf("delete: %d %s", w.Code, w.Body)
			}
		}
	})
	want := append(append([]string{}, ids[:3]...), ids[4:]...)
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 2 {
		t.Errorf("walk: %v in %d pages, want %v in 2", got, pages, want)
	}
	if w := do(t, s, req{method: "GET", path: grps + "?max=501"}); w.Code != 400 {
		t.Errorf("max=501: %d, want 400", w.Code)
	}
	if w := do(t, s, req{method: "GET", path: grps + "?status=ACTIVE"}); w.Code != 400 {
		t.Errorf("unknown query parameter: %d, want 400", w.Code)
	}
}

func TestRefreshRotatesBothTokens(t *testing.T) {
	s, _ := newSim(Options{TokenLifetime: time.Hour})
	tokenPath := "/v1/organizations/" + org + "/apiKeys/" + keyID + "/token"
	form := "application/x-www-form-urlencoded"
	bad := []struct {
		name string
		r    req
		want int
	}{
		{"json body", req{method: "POST", path: tokenPath, body: `{"grant_type":"refresh_token"}`, token: rt}, 415},
		{"wrong grant", req{method: "POST", path: tokenPath, body: "grant_type=client_credentials", token: rt, ct: form}, 400},
		{"extra param", req{method: "POST", path: tokenPath, body: "grant_type=refresh_token&refresh_token=" + rt, token: rt, ct: form}, 400},
		{"access token", req{method: "POST", path: tokenPath, body: "grant_type=refresh_token", token: at, ct: form}, 401},
		{"wrong key", req{method: "POST", path: "/v1/organizations/" + org + "/apiKeys/other/token", body: "grant_type=refresh_token", token: rt, ct: form}, 404},
		{"GET", req{method: "GET", path: tokenPath, token: rt}, 405},
	}
	for _, tc := range bad {
		if w := do(t, s, tc.r); w.Code != tc.want {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, w.Code, tc.want, w.Body)
		}
	}
	w := do(t, s, req{method: "POST", path: tokenPath, body: "grant_type=refresh_token", token: rt, ct: form})
	if w.Code != 200 {
		t.Fatalf("refresh: %d %s", w.Code, w.Body)
	}
	a := decode[struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
		Expires int    `json:"expires_in"`
	}](t, w)
	if a.Access == at || a.Refresh == rt || a.Expires != 3600 {
		t.Fatalf("refresh answer %+v: both tokens must rotate, expires_in 3600", a)
	}
	if w := do(t, s, req{method: "GET", path: users, token: at}); w.Code != 401 {
		t.Errorf("old access token still works: %d", w.Code)
	}
	if w := do(t, s, req{method: "POST", path: tokenPath, body: "grant_type=refresh_token", token: rt, ct: form}); w.Code != 401 {
		t.Errorf("old refresh token still works: %d", w.Code)
	}
	if w := do(t, s, req{method: "GET", path: users, token: a.Access}); w.Code != 200 {
		t.Errorf("new access token rejected: %d", w.Code)
	}
	if s.Calls() != 2 || s.Refreshes() != 1 {
		t.Errorf("calls %d (token endpoint must not count), refreshes %d", s.Calls(), s.Refreshes())
	}
}

func TestTokenLifetime(t *testing.T) {
	s, clk := newSim(Options{TokenLifetime: time.Minute})
	if w := do(t, s, req{method: "GET", path: users}); w.Code != 200 {
		t.Fatalf("fresh token: %d", w.Code)
	}
	clk.Add(time.Minute)
	if w := do(t, s, req{method: "GET", path: users}); w.Code != 401 {
		t.Errorf("expired token: %d, want 401", w.Code)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		fail       connectortest.Fault
		wantStatus int
		wantRetry  string
	}{
		{"FailNext 429", Options{}, connectortest.Fault429, 429, ""},
		{"FailNext 429 Retry-After", Options{}, connectortest.Fault429RetryAfter, 429, "1"},
		{"FailNext 5xx", Options{}, connectortest.Fault5xx, 503, ""},
		{"FailNext permanent", Options{}, connectortest.FaultPermanent, 400, ""},
		{"throttle with Retry-After", Options{Faults: simkit.Faults{ThrottleRate: 1, RetryAfter: 7 * time.Second}}, 0, 429, "7"},
		{"throttle without Retry-After", Options{Faults: simkit.Faults{ThrottleRate: 1}}, 0, 429, ""},
		{"5xx rate", Options{Faults: simkit.Faults{ErrorRate: 1}}, 0, 500, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSim(tc.opts)
			if tc.fail != 0 {
				s.FailNext(tc.fail, 1)
			}
			w := do(t, s, req{method: "GET", path: users})
			if w.Code != tc.wantStatus || w.Header().Get("Retry-After") != tc.wantRetry {
				t.Fatalf("got %d Retry-After %q, want %d %q", w.Code, w.Header().Get("Retry-After"), tc.wantStatus, tc.wantRetry)
			}
			if tc.fail != 0 {
				if w := do(t, s, req{method: "GET", path: users}); w.Code != 200 {
					t.Errorf("FailNext(1) failed a second request: %d", w.Code)
				}
			}
		})
	}
}

func TestRateLimitWindow(t *testing.T) {
	s, clk := newSim(Options{Faults: simkit.Faults{RateLimit: 2, RateWindow: time.Second, RetryAfter: time.Second}})
	var got []int
	for range 3 {
		got = append(got, do(t, s, req{method: "GET", path: users}).Code)
	}
	clk.Add(time.Second)
	got = append(got, do(t, s, req{method: "GET", path: users}).Code)
	if fmt.Sprint(got) != "[200 200 429 200]" {
		t.Errorf("statuses %v, want [200 200 429 200]", got)
	}
}

func TestUserLifecycle(t *testing.T) {
	s, _ := newSim(Options{})
	steps := []struct {
		body       string
		wantStatus string // status of bo after the step, "" = gone
		wantActive bool
	}{
		{`{"operation":"invite","email":"bo@example.com","firstName":"Bo","lastName":"Li"}`, "PENDING", true},
		{`{"operation":"resend_email_invite","email":"bo@example.com"}`, "PENDING", true},
		{`{"operation":"disable","email":"bo@example.com"}`, "DISABLE", false},
		{`{"operation":"enable","email":"bo@example.com"}`, "PENDING", true},
		{`{"operation":"remove","email":"bo@example.com"}`, "", false},
	}
	for i, st := range steps {
		if w := do(t, s, req{method: "PATCH", path: users, body: st.body}); w.Code != 200 {
			t.Fatalf("step %d: %d %s", i, w.Code, w.Body)
		}
		u := s.byEmail["bo@example.com"]
		switch {
		case st.wantStatus == "" && u != nil:
			t.Errorf("step %d: user still there", i)
		case st.wantStatus != "" && (u == nil || u.Status != st.wantStatus):
			t.Errorf("step %d: user %+v, want status %s", i, u, st.wantStatus)
		case u != nil && s.Users()[0].Active != st.wantActive:
			t.Errorf("step %d: SimUser.Active = %v", i, !st.wantActive)
		}
	}
}

func TestLatency(t *testing.T) {
	s, _ := newSim(Options{Latency: time.Hour})
	// A request whose client gave up returns at once, not after an hour.
	hr := httptest.NewRequest("GET", users, nil)
	ctx, cancel := context.WithCancel(hr.Context())
	cancel()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, hr.WithContext(ctx))
	if s.Calls() != 0 {
		t.Errorf("a cancelled request was served")
	}
}

func FuzzPatchUsers(f *testing.F) {
	f.Add(`{"operation":"invite","email":"a@b.c","firstName":"A","lastName":"B"}`)
	f.Add(`[{"operation":"disable","email":"a@b.c"}]`)
	f.Add(`{"users":[{"operation":"remove","email":"a@b.c"}]}`)
	f.Add(`{"operation":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		s, _ := newSim(Options{})
		w := do(t, s, req{method: "PATCH", path: users, body: body})
		if w.Code != 200 && w.Code != 400 && w.Code != 404 && w.Code != 409 && w.Code != 415 {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %s", w.Body)
		}
	})
}

var _ http.Handler = (*Server)(nil)

// TestSingleUserOps: with SingleUserOps the simulator takes only the
// contract's decided PATCH /users form, one object, and refuses the bulk
// forms whole (nothing of them is applied).
func TestSingleUserOps(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"one object", `{"operation":"disable","email":"ann@example.com"}`, 200, `"status":"SUCCESS"`},
		{"one object, invite exists", `{"operation":"invite","email":"ann@example.com","firstName":"A","lastName":"L"}`, 409, "already exists"},
		{"one object, remove unknown", `{"operation":"remove","email":"zed@example.com"}`, 404, "not found"},
		{"bulk users", `{"users":[{"operation":"disable","email":"ann@example.com"}]}`, 400, "one operation object"},
		{"bulk array", `[{"operation":"disable","email":"ann@example.com"}]`, 400, "one operation object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSim(Options{SingleUserOps: true})
			s.AddUser("ann@example.com", "Ann", "Lee", "")
			w := do(t, s, req{method: "PATCH", path: users, body: tc.body})
			if w.Code != tc.wantStatus || !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Fatalf("%d %s, want %d containing %q", w.Code, w.Body, tc.wantStatus, tc.wantBody)
			}
			if got := s.byEmail["ann@example.com"].Status; tc.wantStatus == 400 && got != "ACTIVE" {
				t.Errorf("a refused bulk request changed the user: status %s", got)
			}
		})
	}
}
