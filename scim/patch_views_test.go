package scim

import (
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/scimbridge/scimbridge/store"
)

type captureSink struct{ got []store.Change }

func (c *captureSink) Enqueue(_ *store.Tx, ch store.Change) error {
	c.got = append(c.got, ch)
	return nil
}

// TestPatchPreparedUserViews: a user PATCH's outbox views are built when
// the PATCH is planned; the commit uses them while the user's groups are
// those the plan read, and builds them again from the groups it reads
// when a membership changed in between (a group write leaves the user's
// stored bytes alone, so the plan itself still holds).
func TestPatchPreparedUserViews(t *testing.T) {
	e := newEnv(t, Options{})
	uid := e.must(201, "POST", "/Users", userJSON("views@example.com")).body["id"].(string)
	e.must(201, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"first","members":[{"value":"`+uid+`"}]}`)

	r := httptest.NewRequest("PATCH", "/scim/v2/Users/"+uid, nil)
	base := e.s.baseURL(r)
	ops, _, perr := parsePatch(e.s.user, []byte(patchBody(`{"op":"replace","path":"displayName","value":"Renamed"}`)))
	if perr != nil {
		t.Fatal(perr)
	}
	plan := func() *patchPlan {
		var p *patchPlan
		err := e.db.View(func(tx *store.Tx) error {
			raw, _, err := tx.GetResource(store.TypeUser, uid)
			if err != nil {
				return err
			}
			if p, err = e.s.planPatch(tx, r, e.s.user, uid, raw, ops); err != nil {
				return err
			}
			return p.prepareUserChange(tx, e.s.user, base, uid)
		})
		if err != nil || !p.changed || p.after == nil {
			t.Fatalf("plan: %v %+v", err, p)
		}
		return p
	}
	enqueue := func(p *patchPlan) store.Change {
		sink := &captureSink{}
		saved := e.s.sink
		e.s.sink = sink
		defer func() { e.s.sink = saved }()
		var want map[string]any
		err := e.db.View(func(tx *store.Tx) error {
			if err := e.s.enqueuePatch(tx, e.s.user, base, uid, p, p.next, memberDelta{}); err != nil {
				return err
			}
			groups, err := derivedGroups(tx, uid)
			want = userViewWith(p.next, base, groups)
			return err
		})
		if err != nil || len(sink.got) != 1 {
			t.Fatalf("enqueue: %v, %d changes", err, len(sink.got))
		}
		if !reflect.DeepEqual(sink.got[0].After, want) {
			t.Fatalf("After:\n got %v\nwant %v", sink.got[0].After, want)
		}
		return sink.got[0]
	}
	same := func(a, b map[string]any) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }

	p := plan()
	if c := enqueue(p); !same(c.After, p.after) || !same(c.Before, p.before) {
		t.Error("groups unchanged: the prepared views were not used")
	}
	// A membership change between planning and commit.
	e.must(201, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"second","members":[{"value":"`+uid+`"}]}`)
	c := enqueue(p)
	if same(c.After, p.after) {
		t.Error("groups changed: the stale prepared views were used")
	}
	if gs, _ := c.After["groups"].([]any); len(gs) != 2 {
		t.Errorf("After.groups = %v, want both groups", c.After["groups"])
	}
}
