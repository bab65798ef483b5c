package webex

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

func groupChange(id, tid string, f map[string]any, prev map[string]any, add []connectors.Member, remove []connectors.Member) connectors.Change {
	return connectors.Change{Type: connectors.Group, ID: id, Op: connectors.OpUpsert, TargetID: tid, Prev: prev, Fields: f,
		MembersAdded: add, MembersRemoved: remove}
}

func gname(name string) map[string]any {
	return map[string]any{"displayName": name, "externalId": "scim-" + name}
}

func members(kv ...string) []connectors.Member {
	var ms []connectors.Member
	for i := 0; i+1 < len(kv); i += 2 {
		ms = append(ms, connectors.Member{ID: kv[i], TargetID: kv[i+1]})
	}
	return ms
}

// countBulk counts the /Bulk requests among reqs and the other writes.
func countBulk(reqs []request) (bulk, other int) {
	for _, r := range reqs {
		switch {
		case strings.HasSuffix(r.Path, "/Bulk"):
			bulk++
		case r.Method != http.MethodGet:
			other++
		}
	}
	return bulk, other
}

// groupScenarios are batches of group changes built against a simulator;
// each is applied with group_bulk on and off and must end the same.
var groupScenarios = []struct {
	name  string
	setup func(s *webexsim.Server) []connectors.Change
}{
	{"creates with member chunks", func(s *webexsim.Server) []connectors.Change {
		var us []string
		for i := range 5 {
			us = append(us, s.AddUser(fmt.Sprintf("c%d@example.com", i)))
		}
		return []connectors.Change{
			groupChange("g1", "", gname("Empty"), nil, nil, nil),
			groupChange("g2", "", gname("Three"), nil, members("1", us[0], "2", us[1], "3", us[2]), nil),
			groupChange("g3", "", gname("Five"), nil, members("1", us[0], "2", us[1], "3", us[2], "4", us[3], "5", us[4]), nil),
		}
	}},
	{"adoption on 409", func(s *webexsim.Server) []connectors.Change {
		u1, u2 := s.AddUser("a1@example.com"), s.AddUser("a2@example.com")
		s.AddGroup("Sales", u1)
		s.AddGroup("Ops")
		return []connectors.Change{
			groupChange("g1", "", gname("sales"), nil, members("2", u2), nil),
			groupChange("g2", "", gname("New"), nil, members("1", u1), nil),
			groupChange("g3", "", gname("OPS"), nil, nil, nil),
		}
	}},
	{"member errors", func(s *webexsim.Server) []connectors.Change {
		u1, u2, u3 := s.AddUser("m1@example.com"), s.AddUser("m2@example.com"), s.AddUser("m3@example.com")
		live := s.AddGroup("Live", u3)
		return []connectors.Change{
			groupChange("g1", "", gname("Mixed"), nil, members("1", u1, "bad", "not-a-webex-user", "none", "", "2", u2), nil),
			groupChange("g2", "", gname("Other"), nil, members("bad2", "nope", "3", u3), nil),
			groupChange("g3", live, gname("Live"), gname("Live"), members("bad3", "still-not", "1", u1), members("3", u3)),
		}
	}},
	{"vanished groups", func(s *webexsim.Server) []connectors.Change {
		u1, u2 := s.AddUser("v1@example.com"), s.AddUser("v2@example.com")
		gone1, gone2 := s.AddGroup("Gone1", u1), s.AddGroup("Gone2", u1)
		live := s.AddGroup("Live", u1)
		s.RemoveGroup(gone1)
		s.RemoveGroup(gone2)
		return []connectors.Change{
			groupChange("g1", gone1, gname("Back"), gname("Gone1"), members("2", u2), nil),  // re-created, bare
			groupChange("g2", gone2, gname("Gone2"), gname("Gone2"), nil, members("1", u1)), // removal only: done
			groupChange("g3", live, gname("Alive"), gname("Live"), members("2", u2), members("1", u1)),
			groupChange("g4", "never-was", gname("Gone4"), gname("Gone4"), nil, members("1", u1, "2", u2)),
		}
	}},
	{"deletes and creates", func(s *webexsim.Server) []connectors.Change {
		u1 := s.AddUser("d1@example.com")
		old := s.AddGroup("Old", u1)
		return []connectors.Change{
			{Type: connectors.Group, ID: "g1", Op: connectors.OpDelete, TargetID: old},
			{Type: connectors.Group, ID: "g2", Op: connectors.OpDelete, TargetID: "already-gone"},
			{Type: connectors.Group, ID: "g3", Op: connectors.OpDelete},
			groupChange("g4", "", gname("Old"), nil, members("1", u1), nil), // the name is free once g1 is deleted
			groupChange("g5", "", map[string]any{"externalId": "x"}, nil, nil, nil),
		}
	}},
	{"users and groups", func(s *webexsim.Server) []connectors.Change {
		u1 := s.AddUser("ug1@example.com")
		return []connectors.Change{
			createUser("1", "ug2@example.com"),
			groupChange("g1", "", gname("A"), nil, members("1", u1), nil),
			createUser("2", "ug3@example.com"),
			groupChange("g2", "", gname("B"), nil, members("1", u1), nil),
		}
	}},
}

// outcome is a result and the simulator's state, with target ids replaced
// by names (ids differ when calls come in another order).
func outcome(s *webexsim.Server, res []connectors.Result) string {
	names := map[string]string{}
	users := map[string]string{}
	for _, u := range s.Users() {
		users[u.TargetID] = u.UserName
		names[u.TargetID] = u.UserName
	}
	var state []string
	for _, g := range s.Groups() {
		names[g.TargetID] = g.Name
		var ms []string
		for _, m := range g.MemberTargetIDs {
			ms = append(ms, users[m])
		}
		slices.Sort(ms)
		state = append(state, g.Name+":"+strings.Join(ms, ","))
	}
	slices.Sort(state)
	var b strings.Builder
	for i, r := range res {
		fmt.Fprintf(&b, "%d: target=%q", i, names[r.TargetID])
		if r.Err != nil {
			fmt.Fprintf(&b, " err=%v", connectors.ClassOf(r.Err))
		}
		var me []string
		for id, err := range r.MemberErrors {
			me = append(me, fmt.Sprintf("%s=%v", id, connectors.ClassOf(err)))
		}
		slices.Sort(me)
		fmt.Fprintf(&b, " memberErrors=%v\n", me)
	}
	return b.String() + "groups: " + strings.Join(state, " | ")
}

// Group writes through /Bulk end exactly as one request per write does:
// same results (errors, member errors, adopted and re-created groups) and
// the same groups and members in Webex.
func TestGroupBulkMatchesSingle(t *testing.T) {
	for _, sc := range groupScenarios {
		t.Run(sc.name, func(t *testing.T) {
			run := func(groupBulk string) (string, []request) {
				e := newEnv(t, webexsim.Options{}, func(s *connectors.Settings) {
					s.Options = map[string]string{"group_bulk": groupBulk, "member_chunk": "2"}
				})
				batch := sc.setup(e.sim)
				res := e.apply(batch...)
				return outcome(e.sim, res), e.requests()
			}
			single, singleReqs := run("false")
			bulk, bulkReqs := run("true")
			if bulk != single {
				t.Errorf("with /Bulk:\n%s\nwithout:\n%s", bulk, single)
			}
			nb, _ := countBulk(singleReqs)
			if nb > 1 { // the users' /Bulk only
				t.Errorf("group_bulk false sent %d /Bulk requests", nb)
			}
			if len(bulkReqs) >= len(singleReqs) {
				t.Errorf("/Bulk took %d requests, one per write %d", len(bulkReqs), len(singleReqs))
			}
			t.Logf("%d requests with /Bulk, %d without", len(bulkReqs), len(singleReqs))
		})
	}
}

// A group's create lands before its member PATCHes: they go in a later
// /Bulk, one write per group per request, in batch order.
func TestGroupBulkShapes(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, func(s *connectors.Settings) { s.Options = map[string]string{"member_chunk": "2"} })
	var us []string
	for i := range 3 {
		us = append(us, e.sim.AddUser(fmt.Sprintf("s%d@example.com", i)))
	}
	old := e.sim.AddGroup("Old", us[0])
	res := e.apply(
		groupChange("g1", "", gname("Eng"), nil, members("1", us[0], "2", us[1], "3", us[2]), nil),
		groupChange("g2", "", gname("Ops"), nil, members("2", us[1], "3", us[2], "1", us[0]), nil),
		connectors.Change{Type: connectors.Group, ID: "g3", Op: connectors.OpDelete, TargetID: old},
		groupChange("g4", "", gname("Solo"), nil, members("1", us[0]), nil),
	)
	for i, r := range res {
		if r.Err != nil || (i != 2 && r.TargetID == "") {
			t.Fatalf("change %d: %+v", i, r)
		}
	}
	reqs := e.requests()
	e.golden("group_bulk", reqs)
	if b, o := countBulk(reqs); b != 2 || o != 0 {
		t.Errorf("%d /Bulk and %d other writes, want 2 /Bulk (creates and delete, then the PATCHes)", b, o)
	}
	g := e.sim.Groups()
	if len(g) != 3 || len(g[0].MemberTargetIDs) != 3 || len(g[1].MemberTargetIDs) != 3 || len(g[2].MemberTargetIDs) != 1 {
		t.Errorf("groups = %+v", g)
	}
}

// A round of one write goes as a plain request: a group with more chunks
// than the others finishes with plain PATCHes.
func TestGroupBulkLoneWriteIsPlain(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, func(s *connectors.Settings) { s.Options = map[string]string{"member_chunk": "1"} })
	u1, u2, u3 := e.sim.AddUser("l1@example.com"), e.sim.AddUser("l2@example.com"), e.sim.AddUser("l3@example.com")
	res := e.apply(
		groupChange("g1", "", gname("Long"), nil, members("1", u1, "2", u2, "3", u3), nil),
		groupChange("g2", "", gname("Short"), nil, nil, nil),
	)
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("%+v", res)
	}
	var got []string
	for _, r := range e.requests() {
		got = append(got, r.Method+" "+r.Path[strings.LastIndex(r.Path, "/v2")+3:])
	}
	want := []string{"POST /Bulk", "PATCH /Groups/" + res[0].TargetID, "PATCH /Groups/" + res[0].TargetID}
	if !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

// 250 group creates are 3 /Bulk requests (100 operations each at most).
func TestGroupBulkChunksOf100(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	u := e.sim.AddUser("many@example.com")
	var batch []connectors.Change
	for i := range 250 {
		batch = append(batch, groupChange(fmt.Sprint(i), "", gname(fmt.Sprintf("G%03d", i)), nil, members("1", u), nil))
	}
	for i, r := range e.apply(batch...) {
		if r.Err != nil || r.TargetID == "" {
			t.Fatalf("change %d: %+v", i, r)
		}
	}
	if n, g := e.sim.Calls(), e.sim.Groups(); n != 3 || len(g) != 250 || g[249].Name != "G249" {
		t.Errorf("%d calls for %d groups, want 3 /Bulk requests", n, len(g))
	}
}

func TestGroupBulkOptions(t *testing.T) {
	tests := []struct {
		options   map[string]string
		groupBulk bool
	}{
		{nil, true},
		{map[string]string{"bulk": "false"}, false},
		{map[string]string{"group_bulk": "false"}, false},
		{map[string]string{"bulk": "false", "group_bulk": "true"}, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.options), func(t *testing.T) {
			e := newEnv(t, webexsim.Options{}, func(s *connectors.Settings) { s.Options = tt.options })
			e.apply(groupChange("g1", "", gname("A"), nil, nil, nil), groupChange("g2", "", gname("B"), nil, nil, nil))
			if b, _ := countBulk(e.requests()); (b > 0) != tt.groupBulk || len(e.sim.Groups()) != 2 {
				t.Errorf("%d /Bulk requests, groups %+v; want /Bulk %v", b, e.sim.Groups(), tt.groupBulk)
			}
		})
	}
	_, err := New(connectors.Settings{BaseURL: "http://x/v2", Credentials: map[string]string{"access_token": "t"},
		Options: map[string]string{"group_bulk": "maybe"}}, connectors.Deps{})
	if err == nil || !strings.Contains(err.Error(), "options.group_bulk") {
		t.Errorf("bad group_bulk: %v", err)
	}
}

// A /Bulk refused as a whole (405) makes the batch's group writes go one
// request each, this round and the next.
func TestGroupBulkRefusedFallsBack(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, func(s *connectors.Settings) { s.Options = map[string]string{"member_chunk": "1"} })
	e.intercept = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if strings.HasSuffix(r.URL.Path, "/Bulk") {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return true
		}
		return false
	}
	u1, u2 := e.sim.AddUser("f1@example.com"), e.sim.AddUser("f2@example.com")
	res := e.apply(
		groupChange("g1", "", gname("F1"), nil, members("1", u1, "2", u2), nil),
		groupChange("g2", "", gname("F2"), nil, members("2", u2, "1", u1), nil),
	)
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("fallback: %+v", res)
	}
	if b, o := countBulk(e.requests()); b != 1 || o != 4 {
		t.Errorf("%d /Bulk and %d single writes, want 1 refused /Bulk then 4 single writes", b, o)
	}
	for _, g := range e.sim.Groups() {
		if len(g.MemberTargetIDs) != 2 {
			t.Errorf("group %+v", g)
		}
	}
}

// A transient failure of the whole /Bulk is every group's answer, with
// its Retry-After; the retry lands.
func TestGroupBulkTransientFailsAll(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	batch := []connectors.Change{groupChange("g1", "", gname("T1"), nil, nil, nil), groupChange("g2", "", gname("T2"), nil, nil, nil)}
	e.sim.FailNext(connectortest.Fault429RetryAfter, 1)
	for _, r := range e.apply(batch...) {
		if classOf(t, r.Err) != connectors.Transient || connectors.RetryAfterOf(r.Err) != time.Second {
			t.Errorf("%+v", r)
		}
	}
	for _, r := range e.apply(batch...) {
		if r.Err != nil || r.TargetID == "" {
			t.Errorf("retry: %+v", r)
		}
	}
}

// The group answers may come in the other documented shapes (lower-case
// "operations", numeric status, no bulkId), or lose an operation, which
// is then transient.
func TestGroupBulkAnswerVariants(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprint("drop=", drop), func(t *testing.T) {
			e := newEnv(t, webexsim.Options{}, nil)
			e.intercept = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
				if !strings.HasSuffix(r.URL.Path, "/Bulk") {
					return false
				}
				rec := httptest.NewRecorder()
				e.sim.ServeHTTP(rec, r)
				var resp struct{ Operations []map[string]any }
				_ = json.Unmarshal(rec.Body.Bytes(), &resp)
				for _, o := range resp.Operations {
					var n int
					fmt.Sscan(o["status"].(string), &n)
					o["status"] = n
					delete(o, "bulkId")
				}
				if drop {
					resp.Operations = resp.Operations[:1]
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkResponse"}, "operations": resp.Operations})
				return true
			}
			res := e.apply(groupChange("g1", "", gname("V1"), nil, nil, nil), groupChange("g2", "", gname("V2"), nil, nil, nil))
			g := e.sim.Groups()
			if len(g) != 2 || res[0].Err != nil || res[0].TargetID != g[0].TargetID {
				t.Fatalf("results %+v, groups %+v", res, g)
			}
			switch {
			case !drop && (res[1].Err != nil || res[1].TargetID != g[1].TargetID):
				t.Errorf("second: %+v", res[1])
			case drop && classOf(t, res[1].Err) != connectors.Transient:
				t.Errorf("unanswered operation: %+v", res[1])
			}
			if drop { // the retry adopts the group the lost answer created
				e.intercept = nil
				if r := e.apply(groupChange("g2", "", gname("V2"), nil, nil, nil)); r[0].Err != nil || r[0].TargetID != g[1].TargetID {
					t.Errorf("retry: %+v", r[0])
				}
			}
		})
	}
}
