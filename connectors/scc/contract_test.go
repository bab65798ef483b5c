package scc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
)

// Targets built from the contract alone: ../shared/contracts/scc.md
// decides that PATCH /users takes one object ("the connector sends one
// object [decided]"); the SDK's bulk form is documented, but what a
// target answers to it is not. These tests hold the connector to
// targets that refuse the bulk form, answer it as a whole, or answer it
// without per-item results: every change must still land exactly once.

// userOutcome is a batch that exercises every per-item meaning: new
// users, an invite of an address SCC already has (adopt), a delete of an
// address SCC no longer has (done) and an inactive new user.
func userOutcomeBatch() []connectors.Change {
	inactive := createUser("u4", "dan@example.com", "Dan", "Ray")
	inactive.Fields[fieldActive] = false
	return []connectors.Change{
		createUser("u1", "ann@example.com", "Ann", "Lee"),
		createUser("u2", "bob@example.com", "Bob", "Kim"),
		createUser("u3", "old@example.com", "New", "Name"),
		inactive,
		{Type: connectors.User, ID: "u5", Op: connectors.OpDelete, TargetID: "gone@example.com"},
	}
}

func checkUserOutcome(t *testing.T, e *env, res []connectors.Result) {
	t.Helper()
	for i, want := range []string{"ann@example.com", "bob@example.com", "old@example.com", "dan@example.com", ""} {
		if res[i].Err != nil || res[i].TargetID != want {
			t.Errorf("change %d: %+v, want target id %q and no error", i, res[i], want)
		}
	}
	got := map[string]bool{}
	for _, u := range e.sim.Users() {
		if got[u.TargetID] {
			t.Errorf("%s twice in SCC", u.TargetID)
		}
		got[u.TargetID] = u.Active
	}
	want := map[string]bool{"ann@example.com": true, "bob@example.com": true, "old@example.com": true, "dan@example.com": false}
	if len(got) != len(want) {
		t.Errorf("SCC holds %v, want %v", got, want)
	}
	for mail, active := range want {
		if a, ok := got[mail]; !ok || a != active {
			t.Errorf("SCC: %s present %v active %v, want active %v", mail, ok, a, active)
		}
	}
}

// TestSingleObjectTarget: a target that takes only one object per PATCH
// /users (400 to the bulk form) gets each operation alone, and its 409
// (invite of an existing address) and 404 (remove of an unknown one)
// mean what the contract says: adopt, already gone.
func TestSingleObjectTarget(t *testing.T) {
	e := newEnv(t, sccsim.Options{SingleUserOps: true}, nil)
	e.sim.AddUser("old@example.com", "Old", "Name", "ACTIVE")
	c := e.connector(t)
	checkUserOutcome(t, e, apply(t, c, userOutcomeBatch()...))

	// One change alone goes in the contract's form straight away.
	e.rec.take()
	mustApply(t, c, connectors.Change{Type: connectors.User, ID: "u1", Op: connectors.OpDelete, TargetID: "ann@example.com"})
	calls := e.rec.take()
	if len(calls) != 1 || calls[0].String() != `PATCH /users {"operation":"remove","email":"ann@example.com"} -> 200` {
		t.Errorf("one delete made %v, want one PATCH of one object", calls)
	}
}

// TestBulkAnsweredWhole: a target that applies the bulk form but answers
// it with one status (the first failure's: 409 for an existing address)
// instead of per-item results. The connector cannot tell the items apart
// and sends each alone; those that had landed answer 409 and are adopted.
func TestBulkAnsweredWhole(t *testing.T) {
	whole := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rr := httptest.NewRecorder()
			next.ServeHTTP(rr, r)
			var m struct {
				Results []struct{ Status, Message string }
			}
			if r.Method == "PATCH" && strings.HasSuffix(r.URL.Path, "/users") && rr.Code == 200 && json.Unmarshal(rr.Body.Bytes(), &m) == nil && m.Results != nil {
				for _, it := range m.Results {
					if it.Status == "FAILED" {
						status := http.StatusBadRequest
						switch {
						case strings.Contains(it.Message, "exists"):
							status = http.StatusConflict
						case strings.Contains(it.Message, "not found"):
							status = http.StatusNotFound
						}
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(status)
						json.NewEncoder(w).Encode(map[string]any{"trackingId": "t-1", "message": it.Message, "timestamp": "2026-02-05T22:53:38Z", "statusCode": status, "path": r.URL.Path})
						return
					}
				}
				rr.Body.Reset()
				rr.Body.WriteString(`{"operation":"bulk","status":"SUCCESS"}`)
			}
			for k, v := range rr.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rr.Code)
			w.Write(rr.Body.Bytes())
		})
	}
	e := newEnv(t, sccsim.Options{}, whole)
	e.sim.AddUser("old@example.com", "Old", "Name", "ACTIVE")
	c := e.connector(t)
	checkUserOutcome(t, e, apply(t, c, userOutcomeBatch()...))

	// A bulk answered 200 without per-item results: the items are sent
	// alone too (repeating them is safe: an invite that landed answers
	// 409 and is adopted).
	res := apply(t, c, createUser("u6", "eve@example.com", "Eve", "Ng"), createUser("u7", "fay@example.com", "Fay", "Ok"))
	for i, r := range res {
		if r.Err != nil {
			t.Errorf("change %d: %v", i, r.Err)
		}
	}
	var mails []string
	for _, u := range e.sim.Users() {
		mails = append(mails, u.TargetID)
	}
	if !slices.Contains(mails, "eve@example.com") || !slices.Contains(mails, "fay@example.com") {
		t.Errorf("SCC holds %v", mails)
	}
}

// TestBulkItemCodes: per-item results that say what failed by a code,
// not by a message (statusCode 409, status NOT_FOUND), mean the same as
// the messages: adopt, already gone.
func TestBulkItemCodes(t *testing.T) {
	codes := rewriteBulkResults(func(it map[string]any) {
		switch msg, _ := it["message"].(string); {
		case strings.Contains(msg, "exists"):
			it["statusCode"] = 409
		case strings.Contains(msg, "not found"):
			it["status"] = "NOT_FOUND"
		}
		delete(it, "message")
	})
	e := newEnv(t, sccsim.Options{}, codes)
	e.sim.AddUser("old@example.com", "Old", "Name", "ACTIVE")
	checkUserOutcome(t, e, apply(t, e.connector(t), userOutcomeBatch()...))
}

// TestRetryAfterHTTPDate: a 429 whose Retry-After is an HTTP date (RFC
// 9110 §10.2.3) carries the wait it names, like one in seconds.
func TestRetryAfterHTTPDate(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusTooManyRequests)
		})
	})
	r := apply(t, e.connector(t), createUser("u1", "ann@example.com", "Ann", "Lee"))[0]
	if got := connectors.RetryAfterOf(r.Err); connectors.ClassOf(r.Err) != connectors.Transient || got < 20*time.Second || got > 31*time.Second {
		t.Errorf("%v, Retry-After %v, want transient with about 30 s", r.Err, got)
	}
}
