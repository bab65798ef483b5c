package connectortest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/mapping"
)

// Run is the conformance suite. newInstance builds a fresh connector wired
// to a fresh simulator for every subtest.
//
// The suite calls Apply directly, as the dispatcher would, and checks the
// simulator's state and the classification of every answer: retries,
// backoff and dead letters are the dispatcher's job and are tested there.
func Run(t *testing.T, newInstance func(t *testing.T) Instance) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"CreateUser", testCreateUser},
		{"CreateUserIdempotent", testCreateUserIdempotent},
		{"UpdateUser", testUpdateUser},
		{"DeactivateUser", testDeactivateUser},
		{"DeleteUser", testDeleteUser},
		{"DeleteUnknownUser", testDeleteUnknownUser},
		{"Batch", testBatch},
		{"GroupCreateWithMembers", testGroupCreate},
		{"GroupCreateIdempotent", testGroupCreateIdempotent},
		{"GroupMemberAddRemove", testGroupMembers},
		{"GroupDelete", testGroupDelete},
		{"Transient429", faultTest(Fault429, connectors.Transient)},
		{"Transient429RetryAfter", faultTest(Fault429RetryAfter, connectors.Transient)},
		{"Transient5xx", faultTest(Fault5xx, connectors.Transient)},
		{"Permanent", faultTest(FaultPermanent, connectors.Permanent)},
		{"List", testList},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst := newInstance(t)
			s := &suite{Instance: inst}
			s.init(t)
			tc.fn(t, s)
		})
	}
}

type suite struct {
	Instance
	mapFn func(typ string, res map[string]any) (map[string]any, error)
}

func (s *suite) init(t *testing.T) {
	if s.Map != nil {
		s.mapFn = s.Map
		return
	}
	m, err := newMapper(s.Mapping)
	if err != nil {
		t.Fatalf("default mapping: %v", err)
	}
	s.mapFn = m
}

// newMapper builds the mapping function from a Spec with package mapping.
func newMapper(spec mapping.Spec) (func(typ string, res map[string]any) (map[string]any, error), error) {
	m, err := mapping.New(spec, mapping.Scope{})
	if err != nil {
		return nil, err
	}
	return m.Map, nil
}

func (s *suite) fields(t *testing.T, typ string, res map[string]any) map[string]any {
	t.Helper()
	f, err := s.mapFn(typ, res)
	if err != nil {
		t.Fatalf("map %s: %v", typ, err)
	}
	return f
}

// apply delivers one batch and fails the test on a wrong number of results.
func (s *suite) apply(t *testing.T, batch ...connectors.Change) []connectors.Result {
	t.Helper()
	timeout := s.Connector.Limits().Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := s.Connector.Apply(ctx, batch)
	if len(res) != len(batch) {
		t.Fatalf("Apply returned %d results for %d changes", len(res), len(batch))
	}
	return res
}

// mustApply delivers one change and fails the test on an error.
func (s *suite) mustApply(t *testing.T, c connectors.Change) connectors.Result {
	t.Helper()
	r := s.apply(t, c)[0]
	if r.Err != nil {
		t.Fatalf("%s %s %s: %v", c.Op, c.Type, c.ID, r.Err)
	}
	return r
}

// User returns a SCIM user as the SCIM layer stores it.
func User(id, userName, given, family string, active bool) map[string]any {
	return map[string]any{
		"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id":          id,
		"externalId":  "ext-" + id,
		"userName":    userName,
		"displayName": given + " " + family,
		"name":        map[string]any{"givenName": given, "familyName": family, "formatted": given + " " + family},
		"emails":      []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"active":      active,
		"title":       "Engineer",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"department":     "Sales",
			"employeeNumber": "E-" + id,
		},
	}
}

// Group returns a SCIM group (without members, as the outbox sees it).
func Group(id, name string) map[string]any {
	return map[string]any{
		"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"id":          id,
		"externalId":  "ext-" + id,
		"displayName": name,
	}
}

func (s *suite) userChange(t *testing.T, id string, prev, res map[string]any, targetID string) connectors.Change {
	c := connectors.Change{Type: connectors.User, ID: id, Op: connectors.OpUpsert, TargetID: targetID, Fields: s.fields(t, connectors.User, res)}
	if prev != nil {
		c.Prev = s.fields(t, connectors.User, prev)
	}
	return c
}

// createUser creates a user and returns its target id and mapped fields.
func (s *suite) createUser(t *testing.T, n int) (string, map[string]any) {
	t.Helper()
	id := fmt.Sprintf("u%d-0000-4000-8000-%012d", n, n)
	res := User(id, fmt.Sprintf("user%d@example.com", n), fmt.Sprintf("Given%d", n), "Family", true)
	r := s.mustApply(t, s.userChange(t, id, nil, res, ""))
	if r.TargetID == "" {
		t.Fatalf("create user %s: no target id", id)
	}
	return r.TargetID, res
}

func (s *suite) simUser(t *testing.T, targetID string) (SimUser, bool) {
	t.Helper()
	for _, u := range s.Sim.Users() {
		if u.TargetID == targetID {
			return u, true
		}
	}
	return SimUser{}, false
}

func (s *suite) simGroup(t *testing.T, targetID string) (SimGroup, bool) {
	t.Helper()
	for _, g := range s.Sim.Groups() {
		if g.TargetID == targetID {
			return g, true
		}
	}
	return SimGroup{}, false
}

func testCreateUser(t *testing.T, s *suite) {
	before := len(s.Sim.Users())
	tid, res := s.createUser(t, 1)
	u, ok := s.simUser(t, tid)
	if !ok {
		t.Fatalf("target has no user %s after create; users: %+v", tid, s.Sim.Users())
	}
	if !u.Active {
		t.Errorf("created user is not active")
	}
	if u.UserName == "" {
		t.Errorf("target user has no login key (want one derived from %q)", res["userName"])
	}
	if got := len(s.Sim.Users()); got != before+1 {
		t.Errorf("users = %d, want %d", got, before+1)
	}
}

// testCreateUserIdempotent is a crash between the target's answer and the
// dispatcher's acknowledgement: the create is re-delivered without a target
// id and must adopt the existing object, not duplicate it.
func testCreateUserIdempotent(t *testing.T, s *suite) {
	tid, res := s.createUser(t, 2)
	n := len(s.Sim.Users())
	r := s.mustApply(t, s.userChange(t, res["id"].(string), nil, res, ""))
	if r.TargetID != tid {
		t.Errorf("re-delivered create: target id %q, want adopted %q", r.TargetID, tid)
	}
	if got := len(s.Sim.Users()); got != n {
		t.Errorf("re-delivered create: %d users, want %d (a duplicate was created)", got, n)
	}
}

func testUpdateUser(t *testing.T, s *suite) {
	tid, res := s.createUser(t, 3)
	next := User(res["id"].(string), res["userName"].(string), "Renamed", "Person", true)
	next["title"] = "Manager"
	r := s.mustApply(t, s.userChange(t, res["id"].(string), res, next, tid))
	if r.TargetID != "" && r.TargetID != tid {
		t.Errorf("update changed the target id: %q -> %q", tid, r.TargetID)
	}
	if _, ok := s.simUser(t, tid); !ok {
		t.Errorf("user %s gone after update", tid)
	}
	// An unchanged re-delivery of the update must succeed too.
	s.mustApply(t, s.userChange(t, res["id"].(string), res, next, tid))
}

func testDeactivateUser(t *testing.T, s *suite) {
	tid, res := s.createUser(t, 4)
	next := User(res["id"].(string), res["userName"].(string), "Given4", "Family", false)
	s.mustApply(t, s.userChange(t, res["id"].(string), res, next, tid))
	u, ok := s.simUser(t, tid)
	if !ok {
		t.Fatalf("user %s gone after deactivation", tid)
	}
	if u.Active {
		t.Errorf("user still active after active=false")
	}
}

func testDeleteUser(t *testing.T, s *suite) {
	tid, res := s.createUser(t, 5)
	del := connectors.Change{Type: connectors.User, ID: res["id"].(string), Op: connectors.OpDelete, TargetID: tid, Prev: s.fields(t, connectors.User, res)}
	s.mustApply(t, del)
	u, ok := s.simUser(t, tid)
	if s.Support.UserDelete && ok {
		t.Errorf("user %s still in target after delete", tid)
	}
	if !s.Support.UserDelete && ok && u.Active {
		t.Errorf("user %s still active after delete (connector does not delete users)", tid)
	}
	// A re-delivered delete is done, not an error (404 on delete = done).
	s.mustApply(t, del)
}

// testDeleteUnknownUser: a delete for a resource the target never saw
// (created and deleted before delivery) needs no call and must not fail.
func testDeleteUnknownUser(t *testing.T, s *suite) {
	res := User("u6-0000-4000-8000-000000000006", "user6@example.com", "Given6", "Family", true)
	s.mustApply(t, connectors.Change{Type: connectors.User, ID: res["id"].(string), Op: connectors.OpDelete, Prev: s.fields(t, connectors.User, res)})
}

func testBatch(t *testing.T, s *suite) {
	size := s.Connector.Limits().BatchSize
	if size < 2 {
		t.Skip("connector does not batch")
	}
	n := min(size, 3)
	var batch []connectors.Change
	for i := range n {
		id := fmt.Sprintf("b%d-0000-4000-8000-%012d", i, i)
		batch = append(batch, s.userChange(t, id, nil, User(id, fmt.Sprintf("batch%d@example.com", i), "Batch", fmt.Sprint(i), true), ""))
	}
	for i, r := range s.apply(t, batch...) {
		if r.Err != nil {
			t.Fatalf("batch change %d: %v", i, r.Err)
		}
		if _, ok := s.simUser(t, r.TargetID); !ok {
			t.Errorf("batch change %d: target has no user %q", i, r.TargetID)
		}
	}
}

func (s *suite) groupChange(t *testing.T, id string, res map[string]any, targetID string, add, remove []connectors.Member) connectors.Change {
	return connectors.Change{Type: connectors.Group, ID: id, Op: connectors.OpUpsert, TargetID: targetID,
		Fields: s.fields(t, connectors.Group, res), MembersAdded: add, MembersRemoved: remove}
}

func (s *suite) member(t *testing.T, tid string, res map[string]any) connectors.Member {
	return connectors.Member{ID: res["id"].(string), TargetID: tid, Fields: s.fields(t, connectors.User, res)}
}

// createGroup returns the group's target id, or "" when groups are unsupported.
func (s *suite) createGroup(t *testing.T, id, name string, members ...connectors.Member) string {
	t.Helper()
	r := s.apply(t, s.groupChange(t, id, Group(id, name), "", members, nil))[0]
	if !s.Support.Groups {
		if connectors.ClassOf(r.Err) != connectors.Unsupported {
			t.Fatalf("group create on a target without groups: got %v, want an Unsupported error", r.Err)
		}
		return ""
	}
	if r.Err != nil {
		t.Fatalf("create group: %v", r.Err)
	}
	if r.TargetID == "" {
		t.Fatalf("create group: no target id")
	}
	return r.TargetID
}

func testGroupCreate(t *testing.T, s *suite) {
	t1, u1 := s.createUser(t, 11)
	t2, u2 := s.createUser(t, 12)
	gid := s.createGroup(t, "g1-0000-4000-8000-000000000001", "Engineering", s.member(t, t1, u1), s.member(t, t2, u2))
	if gid == "" {
		return
	}
	g, ok := s.simGroup(t, gid)
	if !ok {
		t.Fatalf("target has no group %s", gid)
	}
	if !sameSet(g.MemberTargetIDs, []string{t1, t2}) {
		t.Errorf("group members = %v, want %v", g.MemberTargetIDs, []string{t1, t2})
	}
}

func testGroupCreateIdempotent(t *testing.T, s *suite) {
	if !s.Support.Groups {
		t.Skip("target has no groups")
	}
	id := "g2-0000-4000-8000-000000000002"
	gid := s.createGroup(t, id, "Sales")
	n := len(s.Sim.Groups())
	r := s.mustApply(t, s.groupChange(t, id, Group(id, "Sales"), "", nil, nil))
	if r.TargetID != gid {
		t.Errorf("re-delivered group create: target id %q, want adopted %q", r.TargetID, gid)
	}
	if got := len(s.Sim.Groups()); got != n {
		t.Errorf("re-delivered group create: %d groups, want %d", got, n)
	}
}

func testGroupMembers(t *testing.T, s *suite) {
	if !s.Support.Groups {
		t.Skip("target has no groups")
	}
	t1, u1 := s.createUser(t, 21)
	t2, u2 := s.createUser(t, 22)
	id := "g3-0000-4000-8000-000000000003"
	gid := s.createGroup(t, id, "Support", s.member(t, t1, u1))
	g := Group(id, "Support")

	s.mustApply(t, s.groupChange(t, id, g, gid, []connectors.Member{s.member(t, t2, u2)}, nil))
	sg, _ := s.simGroup(t, gid)
	if !sameSet(sg.MemberTargetIDs, []string{t1, t2}) {
		t.Fatalf("after add: members %v, want %v", sg.MemberTargetIDs, []string{t1, t2})
	}

	r := s.apply(t, s.groupChange(t, id, g, gid, nil, []connectors.Member{s.member(t, t1, u1)}))[0]
	sg, _ = s.simGroup(t, gid)
	if !s.Support.MemberRemove {
		if connectors.ClassOf(r.Err) != connectors.Unsupported && connectors.ClassOf(r.MemberErrors[u1["id"].(string)]) != connectors.Unsupported {
			t.Errorf("member removal on a target that cannot: got %v / %v, want Unsupported", r.Err, r.MemberErrors)
		}
		return
	}
	if r.Err != nil {
		t.Fatalf("member remove: %v", r.Err)
	}
	if !sameSet(sg.MemberTargetIDs, []string{t2}) {
		t.Errorf("after remove: members %v, want %v", sg.MemberTargetIDs, []string{t2})
	}
	// Removing a member that is already gone is done (404 on removal).
	s.mustApply(t, s.groupChange(t, id, g, gid, nil, []connectors.Member{s.member(t, t1, u1)}))
}

func testGroupDelete(t *testing.T, s *suite) {
	if !s.Support.Groups {
		t.Skip("target has no groups")
	}
	id := "g4-0000-4000-8000-000000000004"
	gid := s.createGroup(t, id, "Temporary")
	del := connectors.Change{Type: connectors.Group, ID: id, Op: connectors.OpDelete, TargetID: gid, Prev: s.fields(t, connectors.Group, Group(id, "Temporary"))}
	r := s.apply(t, del)[0]
	if !s.Support.GroupDelete {
		if r.Err != nil && connectors.ClassOf(r.Err) != connectors.Unsupported {
			t.Errorf("group delete on a target that cannot: %v, want nil or Unsupported", r.Err)
		}
		return
	}
	if r.Err != nil {
		t.Fatalf("group delete: %v", r.Err)
	}
	if _, ok := s.simGroup(t, gid); ok {
		t.Errorf("group %s still in target after delete", gid)
	}
	s.mustApply(t, del) // re-delivered: done
}

// faultTest injects one fault on the next request and expects the change
// to fail with the given class, then to succeed when delivered again.
func faultTest(f Fault, want connectors.Class) func(t *testing.T, s *suite) {
	return func(t *testing.T, s *suite) {
		id := "f1-0000-4000-8000-000000000001"
		c := s.userChange(t, id, nil, User(id, "fault@example.com", "Fault", "Test", true), "")
		s.Sim.FailNext(f, 1)
		r := s.apply(t, c)[0]
		if r.Err == nil {
			t.Fatalf("fault %d injected: Apply succeeded", f)
		}
		if got := connectors.ClassOf(r.Err); got != want {
			t.Fatalf("fault %d: class %v (%v), want %v", f, got, r.Err, want)
		}
		if want == connectors.Permanent && r.Err.Error() == "" {
			t.Errorf("permanent error without the target's message")
		}
		if f == Fault429RetryAfter && connectors.RetryAfterOf(r.Err) <= 0 {
			t.Errorf("429 with Retry-After: RetryAfter not carried (%v)", r.Err)
		}
		// Redelivery (what the dispatcher's retry does) converges.
		r = s.mustApply(t, c)
		if _, ok := s.simUser(t, r.TargetID); !ok {
			t.Errorf("after retry: target has no user %q", r.TargetID)
		}
		n := 0
		for _, u := range s.Sim.Users() {
			if u.TargetID == r.TargetID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("after retry: %d users with target id %q", n, r.TargetID)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// testList: a connector that can list (connectors.Lister) lists exactly
// what its target holds, by the ids Apply answered.
func testList(t *testing.T, s *suite) {
	l, ok := s.Connector.(connectors.Lister)
	if !ok {
		t.Skip("connector cannot list its target")
	}
	var users []string
	for i := range 3 {
		tid, _ := s.createUser(t, 30+i)
		users = append(users, tid)
	}
	var groups []string
	if s.Support.Groups {
		if gid := s.createGroup(t, "g9-0000-4000-8000-000000000009", "Listed"); gid != "" {
			groups = append(groups, gid)
		}
	}
	list := func(typ string) []string {
		t.Helper()
		var got []string
		if err := l.List(context.Background(), typ, func(id string) error { got = append(got, id); return nil }); err != nil {
			t.Fatalf("List(%s): %v", typ, err)
		}
		return got
	}
	var simUsers, simGroups []string
	for _, u := range s.Sim.Users() {
		simUsers = append(simUsers, u.TargetID)
	}
	for _, g := range s.Sim.Groups() {
		simGroups = append(simGroups, g.TargetID)
	}
	if got := list(connectors.User); !sameSet(got, simUsers) || !containsAll(got, users) {
		t.Errorf("List(User) = %v; the target holds %v, Apply created %v", got, simUsers, users)
	}
	if got := list(connectors.Group); !sameSet(got, simGroups) || !containsAll(got, groups) {
		t.Errorf("List(Group) = %v; the target holds %v, Apply created %v", got, simGroups, groups)
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
