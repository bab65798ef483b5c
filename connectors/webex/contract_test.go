package webex

import (
	"fmt"
	"slices"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// Targets stricter than webexsim's defaults where the documents allow it
// (shared/contracts/webex.md, the vendor's PATCH text, RFC 7644): every
// change must still land once, and nothing already done may fail.

// TestRemovedMemberNoTarget: a member removal retried after its answer
// was lost (or of a user Webex already dropped) meets a target that
// answers 400 noTarget to a remove filter matching nothing (RFC 7644
// §3.12). Like a 404 on a member removal, that is done: no member error,
// and the adds of the same change land. Alone and through /Bulk.
func TestRemovedMemberNoTarget(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) {
			e := newEnv(t, webexsim.Options{NoTargetOnRemove: true}, nil)
			a, b, c := e.sim.AddUser("a@example.com"), e.sim.AddUser("b@example.com"), e.sim.AddUser("c@example.com")
			var batch []connectors.Change
			for i := range 2 {
				name := fmt.Sprintf("G%d", i)
				gid := e.sim.AddGroup(name, a)
				f := map[string]any{"displayName": name}
				ch := connectors.Change{Type: connectors.Group, ID: name, Op: connectors.OpUpsert, TargetID: gid, Prev: f, Fields: f,
					MembersRemoved: []connectors.Member{{ID: "b", TargetID: b}}} // not a member (any more)
				if i == 1 {
					ch.MembersAdded = []connectors.Member{{ID: "c", TargetID: c}}
				}
				batch = append(batch, ch)
			}
			var res []connectors.Result
			if bulk {
				res = e.apply(batch...)
			} else {
				for _, ch := range batch {
					res = append(res, e.apply(ch)...)
				}
			}
			for i, r := range res {
				if r.Err != nil || r.MemberErrors != nil {
					t.Errorf("change %d: %+v", i, r)
				}
			}
			want := [][]string{{a}, {a, c}}
			for i, g := range e.sim.Groups() {
				if !slices.Equal(g.MemberTargetIDs, want[i]) {
					t.Errorf("group %s members %v, want %v", g.Name, g.MemberTargetIDs, want[i])
				}
			}
		})
	}
}
