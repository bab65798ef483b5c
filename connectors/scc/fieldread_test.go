package scc

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
)

// TestReadFields: one admin group is one GET; one user is one GET when
// its SCC id is known (a listing taught it), else a walk that stops at
// the user; a user removed and invited again behind the bridge's back is
// found anew; what SCC does not hold is ErrTargetGone.
func TestReadFields(t *testing.T) {
	e := newEnv(t, sccsim.Options{}, nil)
	c := e.connector(t)
	c.pageSize = 2
	for _, m := range []string{"a", "b", "c", "d", "e"} {
		e.sim.AddUser(m+"@example.com", strings.ToUpper(m), "Lee", "")
	}
	e.sim.EditUser("b@example.com", "", "", "DISABLE")
	g := e.sim.AddGroup("Ops")
	read := func(typ, tid string) (map[string]any, []string) {
		t.Helper()
		e.rec.take()
		f, err := c.ReadFields(context.Background(), typ, tid)
		var calls []string
		for _, cl := range e.rec.take() {
			calls = append(calls, cl.Method+" "+cl.Path)
		}
		if err != nil {
			if !errors.Is(err, connectors.ErrTargetGone) {
				t.Fatalf("read %s %s: %v", typ, tid, err)
			}
			return nil, calls
		}
		return f, calls
	}
	steps := []struct {
		name, typ, tid string
		want           map[string]any
		calls          []string
	}{
		{"group", connectors.Group, g, map[string]any{fieldName: "Ops", fieldDescription: ""}, []string{"GET /adminGroups/" + g}},
		{"group gone", connectors.Group, "no-such-group", nil, []string{"GET /adminGroups/no-such-group"}},
		{"user not cached: walk to it", connectors.User, "C@Example.com", userFieldsOf("c@example.com", "C", "Lee", true),
			[]string{"GET /users?max=2", "GET /users?cursor=c2VxOjM&max=2"}},
		{"user cached by that walk", connectors.User, "b@example.com", userFieldsOf("b@example.com", "B", "Lee", false),
			[]string{"GET /users/" + e.sim.UserID("b@example.com")}},
		{"user by SCC id (old mapping)", connectors.User, e.sim.UserID("a@example.com"), userFieldsOf("a@example.com", "A", "Lee", true),
			[]string{"GET /users/" + e.sim.UserID("a@example.com")}},
		{"user SCC does not hold", connectors.User, "zed@example.com", nil,
			[]string{"GET /users?max=2", "GET /users?cursor=c2VxOjM&max=2", "GET /users?cursor=c2VxOjU&max=2"}},
	}
	for _, s := range steps {
		f, calls := read(s.typ, s.tid)
		if !reflect.DeepEqual(f, s.want) || !slices.Equal(calls, s.calls) {
			t.Errorf("%s: %v with %q, want %v with %q", s.name, f, calls, s.want, s.calls)
		}
	}
	// Removed and invited again behind the bridge's back: a new SCC id.
	old := e.sim.UserID("c@example.com")
	mustApply(t, c, connectors.Change{Type: connectors.User, ID: "u", Op: connectors.OpDelete, TargetID: "c@example.com"})
	e.sim.AddUser("c@example.com", "Cee", "Lee", "")
	c.learn("c@example.com", old)
	if f, calls := read(connectors.User, "c@example.com"); f[fieldFirstName] != "Cee" || calls[0] != "GET /users/"+old || len(calls) < 2 {
		t.Errorf("re-invited user: %v with %q", f, calls)
	}
}
