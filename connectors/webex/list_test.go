package webex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// seed creates n users or groups through Apply, in batches of 100 as the
// dispatcher sends them, and returns the target ids Apply answered.
func (e *env) seed(typ string, n int) []string {
	e.t.Helper()
	var ids []string
	for lo := 0; lo < n; lo += 100 {
		var batch []connectors.Change
		for i := lo; i < min(n, lo+100); i++ {
			if typ == connectors.User {
				batch = append(batch, createUser(fmt.Sprint("u", i), fmt.Sprintf("u%d@example.com", i)))
			} else {
				batch = append(batch, connectors.Change{Type: connectors.Group, ID: fmt.Sprint("g", i), Op: connectors.OpUpsert,
					Fields: map[string]any{"displayName": fmt.Sprint("Group ", i)}})
			}
		}
		for i, r := range e.apply(batch...) {
			if r.Err != nil || r.TargetID == "" {
				e.t.Fatalf("create %s: %+v", batch[i].ID, r)
			}
			ids = append(ids, r.TargetID)
		}
	}
	e.requests()
	return ids
}

// list runs List and returns the ids it reported.
func (e *env) list(ctx context.Context, typ string) ([]string, error) {
	var ids []string
	err := e.c.List(ctx, typ, func(id string) error {
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// TestList pages through users and groups: every id Apply returned comes
// back exactly once, one request per page, startIndex advancing by the
// resources a page held (also when the service caps count lower than
// asked), no extra request when the last page ends at totalResults.
func TestList(t *testing.T) {
	tests := []struct {
		name     string
		typ      string
		n        int
		page     int // 0: the default, 500
		maxCount int // the simulator's cap; 0: 500
		starts   []int
	}{
		{"users, pages of 100", connectors.User, 250, 100, 0, []int{1, 101, 201}},
		{"users, default page", connectors.User, 250, 0, 0, []int{1}},
		{"users, service caps pages at 60", connectors.User, 250, 0, 60, []int{1, 61, 121, 181, 241}},
		{"users, last page full", connectors.User, 200, 100, 0, []int{1, 101}},
		{"groups, pages of 100", connectors.Group, 250, 100, 0, []int{1, 101, 201}},
		{"groups, default page", connectors.Group, 250, 0, 0, []int{1}},
		{"groups, service caps pages at 99", connectors.Group, 250, 100, 99, []int{1, 100, 199}},
		{"no users", connectors.User, 0, 0, 0, []int{1}},
		{"no groups", connectors.Group, 0, 0, 0, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, webexsim.Options{MaxCount: tt.maxCount}, nil)
			if tt.page > 0 {
				e.c.listPage = tt.page
			}
			want := e.seed(tt.typ, tt.n)
			if tt.typ == connectors.Group { // users exist too, and are not listed as groups
				e.sim.AddUser("bystander@example.com")
			}
			got, err := e.list(context.Background(), tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("listed %d ids, want the %d Apply returned", len(got), len(want))
			}
			var starts []int
			for _, r := range e.requests() {
				u, _ := url.Parse(r.Path)
				q := u.Query()
				wantPath := "/Users"
				if tt.typ == connectors.Group {
					wantPath = "/Groups"
				}
				count := strconv.Itoa(e.c.listPage)
				if r.Method != "GET" || !strings.HasSuffix(u.Path, wantPath) || q.Get("attributes") != "id" || q.Get("count") != count || q.Has("includeMembers") {
					t.Errorf("request %s %s", r.Method, r.Path)
				}
				n, _ := strconv.Atoi(q.Get("startIndex"))
				starts = append(starts, n)
			}
			if !slices.Equal(starts, tt.starts) {
				t.Errorf("startIndex of each request %v, want %v", starts, tt.starts)
			}
		})
	}
}

// TestListGolden pins what List sends.
func TestListGolden(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	e.c.listPage = 2
	for i := range 3 {
		e.sim.AddUser(fmt.Sprintf("g%d@example.com", i))
	}
	e.sim.AddGroup("Eng", e.sim.Users()[0].TargetID)
	for _, typ := range []string{connectors.User, connectors.Group} {
		if _, err := e.list(context.Background(), typ); err != nil {
			t.Fatal(err)
		}
	}
	e.golden("list", e.requests())
}

// A 429 or 5xx (or a 400) answered mid-listing is not retried by
// List (c.do retries only a 401, once, after a refresh): List stops with
// the classified error, Retry-After included, after reporting the pages
// before it, and listing again succeeds. A 401 mid-listing refreshes the
// token and the listing goes on.
func TestListFaults(t *testing.T) {
	tests := []struct {
		name       string
		fail       func(s *webexsim.Server)
		ok         bool // the listing completes
		class      connectors.Class
		retryAfter time.Duration
	}{
		{"429 without Retry-After", func(s *webexsim.Server) { s.FailNext(connectortest.Fault429, 1) }, false, connectors.Transient, 5 * time.Second},
		{"429 with Retry-After", func(s *webexsim.Server) { s.FailNext(connectortest.Fault429RetryAfter, 1) }, false, connectors.Transient, time.Second},
		{"503", func(s *webexsim.Server) { s.FailNext(connectortest.Fault5xx, 1) }, false, connectors.Transient, 0},
		{"400", func(s *webexsim.Server) { s.FailNext(connectortest.FaultPermanent, 1) }, false, connectors.Permanent, 0},
		{"401: refresh and go on", func(s *webexsim.Server) { s.ExpireTokens() }, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, webexsim.Options{}, nil)
			e.c.listPage = 100
			want := e.seed(connectors.User, 250)
			var got []string
			err := e.c.List(context.Background(), connectors.User, func(id string) error {
				got = append(got, id)
				if len(got) == 100 { // end of the first page
					tt.fail(e.sim)
				}
				return nil
			})
			if tt.ok {
				if err != nil || len(got) != 250 || e.sim.TokenRequests() != 1 {
					t.Fatalf("err %v, %d ids, %d token requests", err, len(got), e.sim.TokenRequests())
				}
				return
			}
			if classOf(t, err) != tt.class || connectors.RetryAfterOf(err) != tt.retryAfter {
				t.Errorf("error %v: class %v retry-after %v, want %v %v", err, classOf(t, err), connectors.RetryAfterOf(err), tt.class, tt.retryAfter)
			}
			if len(got) != 100 || len(e.requests()) != 2 {
				t.Errorf("%d ids before the error, want the first page's 100", len(got))
			}
			got, err = e.list(context.Background(), connectors.User)
			if err != nil || len(got) != len(want) {
				t.Errorf("listing again: %d ids, %v", len(got), err)
			}
		})
	}
}

// A target that answers pages wrongly ends the listing with an error,
// never a loop; an error from fn stops it too.
func TestListBrokenTarget(t *testing.T) {
	page := func(total any, start any, ids ...string) func(q url.Values) any {
		return func(q url.Values) any {
			res := []map[string]any{}
			for _, id := range ids {
				if id == "" {
					res = append(res, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}})
				} else {
					res = append(res, map[string]any{"id": id})
				}
			}
			m := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}, "itemsPerPage": len(ids), "Resources": res}
			if total != nil {
				m["totalResults"] = total
			}
			switch start {
			case "echo":
				m["startIndex"], _ = strconv.Atoi(q.Get("startIndex"))
			case nil:
			default:
				m["startIndex"] = start
			}
			return m
		}
	}
	tests := []struct {
		name     string
		answer   func(q url.Values) any // nil: the simulator answers
		raw      string                 // else a raw body
		fnErr    bool
		class    connectors.Class
		want     string // in the error
		requests int
		ids      int
	}{
		{"same page forever, startIndex echoed", page(1_000_000, "echo", "a", "b"), "", false, connectors.Permanent, "same page", 2, 2},
		{"startIndex ignored", page(1_000_000, 1, "a", "b"), "", false, connectors.Permanent, "answered startIndex 1", 2, 2},
		{"no totalResults", page(nil, "echo", "a", "b"), "", false, connectors.Permanent, "without totalResults", 1, 0},
		{"resource without id", page(2, "echo", "a", ""), "", false, connectors.Permanent, "without an id", 1, 0},
		{"no startIndex in the answer", page(3, nil, "a", "b"), "", false, connectors.Permanent, "same page", 2, 2},
		{"unreadable answer", nil, "<html>gateway</html>", false, connectors.Transient, "unreadable answer to user.list", 1, 0},
		{"fn fails", nil, "", true, connectors.Permanent, "stop here", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, webexsim.Options{}, nil)
			e.c.listPage = 2
			for i := range 3 {
				e.sim.AddUser(fmt.Sprintf("b%d@example.com", i))
			}
			if tt.answer != nil || tt.raw != "" {
				e.intercept = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
					w.Header().Set("Content-Type", "application/json")
					if tt.raw != "" {
						_, _ = w.Write([]byte(tt.raw))
						return true
					}
					_ = json.NewEncoder(w).Encode(tt.answer(r.URL.Query()))
					return true
				}
			}
			stop := connectors.NewPermanent("stop here", nil)
			var ids int
			err := e.c.List(context.Background(), connectors.User, func(string) error {
				ids++
				if tt.fnErr {
					return stop
				}
				return nil
			})
			if classOf(t, err) != tt.class || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %v naming %q", err, tt.class, tt.want)
			}
			if tt.fnErr && !errors.Is(err, stop) {
				t.Errorf("fn's error not returned as is: %v", err)
			}
			if n := len(e.requests()); n != tt.requests || ids != tt.ids {
				t.Errorf("%d requests, %d ids; want %d, %d", n, ids, tt.requests, tt.ids)
			}
		})
	}
}

func TestListUnknownTypeAndCancel(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	for _, typ := range []string{"", "user", "Machine"} {
		err := e.c.List(context.Background(), typ, func(string) error { return nil })
		if classOf(t, err) != connectors.Permanent || err.Error() != fmt.Sprintf("permanent: webex lists User and Group, not %q", typ) {
			t.Errorf("List(%q): %v", typ, err)
		}
	}
	if n := len(e.requests()); n != 0 {
		t.Errorf("%d requests for unknown types", n)
	}

	e.c.listPage = 1
	e.seed(connectors.User, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ids := 0
	err := e.c.List(ctx, connectors.User, func(string) error { ids++; cancel(); return nil })
	if !errors.Is(err, context.Canceled) || ids != 1 {
		t.Errorf("after cancel: %d ids, %v", ids, err)
	}
}
