package webex

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/simkit"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// ReadFields reads one user or group in one GET, into the fields
// ListFields reads for it: a rename and a deactivation made behind the
// bridge's back show, a group is read without its members, a deleted one
// is ErrTargetGone, and a 5xx is a transient error.
func TestReadFields(t *testing.T) {
	e := newEnv(t, webexsim.Options{}, nil)
	res := e.apply(createUser("u1", "ann@example.com", "displayName", "Ann Example", "externalId", "u1"),
		connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, Fields: map[string]any{"displayName": "Sales", "externalId": "g1"}})
	uid, gid := res[0].TargetID, res[1].TargetID
	listed := map[string]map[string]any{}
	for _, typ := range []string{connectors.User, connectors.Group} {
		if err := e.c.ListFields(context.Background(), typ, func(id string, f map[string]any) error { listed[id] = f; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	e.requests()

	for _, tt := range []struct{ typ, id, path, attrs string }{
		{connectors.User, uid, "/Users/" + uid, ""},
		{connectors.Group, gid, "/Groups/" + gid, groupReadBack},
	} {
		f, err := e.c.ReadFields(context.Background(), tt.typ, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(f, listed[tt.id]) {
			t.Errorf("%s: read %v, listed %v", tt.typ, f, listed[tt.id])
		}
		reqs := e.requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests, want 1: %v", tt.typ, len(reqs), reqs)
		}
		u, _ := url.Parse(reqs[0].Path)
		if reqs[0].Method != "GET" || u.Path != e.sim.BasePath()+tt.path || u.Query().Get("attributes") != tt.attrs {
			t.Errorf("%s: request %s %s", tt.typ, reqs[0].Method, reqs[0].Path)
		}
	}

	off := false
	e.sim.EditUser(uid, "Ann Renamed", &off)
	f, err := e.c.ReadFields(context.Background(), connectors.User, uid)
	if err != nil {
		t.Fatal(err)
	}
	if f["displayName"] != "Ann Renamed" || f["active"] != false || f["userName"] != "ann@example.com" {
		t.Errorf("after an edit behind the bridge's back: %v", f)
	}

	if _, err := e.c.ReadFields(context.Background(), connectors.User, "no-such-id"); !errors.Is(err, connectors.ErrTargetGone) {
		t.Errorf("unknown id: %v", err)
	}
	e.sim.RemoveGroup(gid)
	if _, err := e.c.ReadFields(context.Background(), connectors.Group, gid); !errors.Is(err, connectors.ErrTargetGone) {
		t.Errorf("deleted group: %v", err)
	}
	e.sim.FailNext(simkit.Fault5xx, 1)
	if _, err := e.c.ReadFields(context.Background(), connectors.User, uid); classOf(t, err) != connectors.Transient || errors.Is(err, connectors.ErrTargetGone) {
		t.Errorf("5xx: %v", err)
	}
	if _, err := e.c.ReadFields(context.Background(), "Printer", uid); classOf(t, err) != connectors.Permanent {
		t.Errorf("unknown type: %v", err)
	}
}
