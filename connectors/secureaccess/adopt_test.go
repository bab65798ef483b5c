package secureaccess

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// tenant is a Secure Access tenant that already holds people: the keys
// are not the bridge's, one authName is stored in another letter case,
// one registration is inactive, one person has two active registrations,
// and one person is never mentioned by the IdP.
func tenant() []secureaccesssim.Registration {
	return []secureaccesssim.Registration{
		{Key: "pre-alice", AuthName: "Alice@Example.com", Label: "Alice (old name)"},
		{Key: "pre-bob", AuthName: "bob@example.com", Label: "Bob", Status: "inactive"},
		{Key: "pre-carol-1", AuthName: "carol@example.com", Label: "Carol"},
		{Key: "pre-carol-2", AuthName: "CAROL@example.com", Label: "Carol (laptop)"},
		{Key: "pre-zoe", AuthName: "zoe@example.com", Label: "Zoe, never in the IdP"},
	}
}

// adoptEnv is a connector on a simulator preloaded with tenant(), its
// index not built yet (as on a first start), with st as its state.
func adoptEnv(t *testing.T, st connectors.StateStore, dedupe bool) *env {
	t.Helper()
	e := newEnv(t, secureaccesssim.Options{}, nil, nil)
	e.sim.Preload(secureaccesssim.Device, tenant()...)
	e.c = reconnect(t, e, st, dedupe)
	return e
}

// reconnect builds a fresh connector on e's simulator: a restarted bridge
// that kept only st.
func reconnect(t *testing.T, e *env, st connectors.StateStore, dedupe bool) *Connector {
	t.Helper()
	s := connectors.Settings{Name: "sa", Type: "secureaccess", BaseURL: e.srv.URL + e.sim.BasePath(),
		Credentials: e.sim.Credentials(),
		Options:     map[string]string{OptRateScale: fmt.Sprint(testScale), "dedupe": fmt.Sprint(dedupe)}}
	d := connectors.Deps{HTTPClient: e.srv.Client(), Log: zerolog.Nop()}
	if st != nil {
		d.State = st
	}
	c, err := New(s, d)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*Connector)
}

func person(id, userName, label string, active bool) connectors.Change {
	return connectors.Change{Type: connectors.User, ID: id, Op: connectors.OpUpsert, Fields: fields(userName, label, active)}
}

// byName returns the registrations of authName, any letter case.
func byName(e *env, authName string) []secureaccesssim.Registration {
	var out []secureaccesssim.Registration
	for _, r := range e.sim.Registrations(secureaccesssim.Device) {
		if strings.EqualFold(r.AuthName, authName) {
			out = append(out, r)
		}
	}
	return out
}

func activeOf(e *env, authName string) []string {
	var keys []string
	for _, r := range byName(e, authName) {
		if r.Status == "active" {
			keys = append(keys, r.Key)
		}
	}
	return keys
}

func mustOK(t *testing.T, res []connectors.Result) {
	t.Helper()
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("change %d: %v", i, r.Err)
		}
	}
}

// TestAdoptExisting: every person the tenant already holds is adopted
// under their existing key (matched case-insensitively), stale values
// are overwritten, the inactive one is re-enabled, a new person gets the
// bridge's key, and the person the IdP never mentions is untouched.
func TestAdoptExisting(t *testing.T) {
	e := adoptEnv(t, nil, false)
	zoe := byName(e, "zoe@example.com")[0]
	res := apply(t, e.c,
		person("u-alice", "alice@example.com", "Alice Smith", true),
		person("u-bob", "bob@example.com", "Bob", true),
		person("u-carol", "carol@example.com", "Carol", true),
		person("u-dave", "dave@example.com", "Dave", true),
	)
	mustOK(t, res)
	want := []string{"pre-alice", "pre-bob", "pre-carol-1", Key("u-dave")}
	for i, r := range res {
		if r.TargetID != want[i] {
			t.Errorf("change %d: target id %q, want %q", i, r.TargetID, want[i])
		}
	}
	if regs := e.sim.Registrations(secureaccesssim.Device); len(regs) != 6 {
		t.Errorf("%d registrations, want 6 (5 preloaded + dave)", len(regs))
	}
	a := byName(e, "alice@example.com")
	if len(a) != 1 || a[0].Label != "Alice Smith" || a[0].AuthName != "alice@example.com" || a[0].Status != "active" {
		t.Errorf("alice: %+v, want one registration, renamed", a)
	}
	if b := byName(e, "bob@example.com"); len(b) != 1 || b[0].Status != "active" {
		t.Errorf("bob: %+v, want one, re-enabled", b)
	}
	if got := byName(e, "zoe@example.com"); len(got) != 1 || got[0].ModifiedAt != zoe.ModifiedAt || got[0].Label != zoe.Label {
		t.Errorf("zoe was touched: %+v, was %+v", got, zoe)
	}
	// Carol's second active registration is reported, not touched.
	if got := activeOf(e, "carol@example.com"); len(got) != 2 {
		t.Errorf("carol active %v: dedupe is off, the duplicate must stay", got)
	}
	if w := e.c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "pre-carol-2") {
		t.Errorf("warnings %q, want carol's duplicate", w)
	}

	// Deprovisioning leaves no active registration: not the adopted one,
	// not a duplicate, whatever dedupe says.
	res = apply(t, e.c,
		connectors.Change{Type: connectors.User, ID: "u-alice", Op: connectors.OpDelete, TargetID: "pre-alice", Prev: fields("alice@example.com", "Alice Smith", true)},
		connectors.Change{Type: connectors.User, ID: "u-carol", Op: connectors.OpUpsert, TargetID: "pre-carol-1", Prev: fields("carol@example.com", "Carol", true), Fields: fields("carol@example.com", "Carol", false)},
	)
	mustOK(t, res)
	for _, n := range []string{"alice@example.com", "carol@example.com"} {
		if got := activeOf(e, n); len(got) != 0 {
			t.Errorf("%s deprovisioned but %v still active", n, got)
		}
	}
	if len(e.c.Warnings()) != 0 {
		t.Errorf("warnings %q after the duplicate was deactivated", e.c.Warnings())
	}
}

// TestAdoptDedupe: with dedupe on, the duplicates the bridge does not
// keep are deactivated on the person's first write.
func TestAdoptDedupe(t *testing.T) {
	e := adoptEnv(t, nil, true)
	mustOK(t, apply(t, e.c, person("u-carol", "carol@example.com", "Carol", true)))
	if got := activeOf(e, "carol@example.com"); len(got) != 1 || got[0] != "pre-carol-1" {
		t.Errorf("carol active %v, want only pre-carol-1", got)
	}
	if got := byName(e, "zoe@example.com"); got[0].Status != "active" {
		t.Errorf("zoe deactivated: dedupe touches only the person written")
	}
}

// TestAdoptAcrossCrash: the bridge indexes the tenant and dies; a new
// process (only the state survived) writes the person under the adopted
// key without listing again, dies before recording the key, writes it
// again, and the person's deactivation and deletion leave no active
// registration, exactly one per person.
func TestAdoptAcrossCrash(t *testing.T) {
	st := &memState{}
	e := adoptEnv(t, st, false)
	mustOK(t, apply(t, e.c, person("u-dave", "dave@example.com", "Dave", true))) // indexes, then writes dave
	gets := e.sim.Stats().Calls - e.sim.Stats().Puts

	// Crash: between the index and alice's write.
	c2 := reconnect(t, e, st, false)
	r := apply(t, c2, person("u-alice", "ALICE@example.com", "Alice", true))[0]
	if r.Err != nil || r.TargetID != "pre-alice" {
		t.Fatalf("after restart: %+v, want pre-alice", r)
	}
	if n := e.sim.Stats().Calls - e.sim.Stats().Puts; n != gets {
		t.Errorf("%d more GETs after the restart: the saved index must do", n-gets)
	}
	// Crash: the PUT landed, its key was never recorded. The retry has no
	// target id; SCIM deactivated her meanwhile.
	c3 := reconnect(t, e, st, false)
	ch := person("u-alice", "alice@example.com", "Alice", false)
	ch.MayExist = true
	r = apply(t, c3, ch)[0]
	if r.Err != nil || r.TargetID != "pre-alice" {
		t.Fatalf("retry after the second crash: %+v", r)
	}
	if got := byName(e, "alice@example.com"); len(got) != 1 || got[0].Status != "inactive" {
		t.Errorf("alice: %+v, want one inactive registration", got)
	}
	// Dave was written by the first process under the bridge's key; a
	// process that lost the mapping deletes him by his fields.
	c4 := reconnect(t, e, st, false)
	mustOK(t, apply(t, c4, connectors.Change{Type: connectors.User, ID: "u-dave", Op: connectors.OpDelete, Prev: fields("dave@example.com", "Dave", true)}))
	if got := byName(e, "dave@example.com"); len(got) != 1 || got[0].Status != "inactive" {
		t.Errorf("dave: %+v, want one inactive registration", got)
	}
}

// TestAdoptUnmappedDelete: a person deleted in SCIM before the bridge
// ever mapped them (their create dead-lettered) keeps no active
// registration the tenant held before.
func TestAdoptUnmappedDelete(t *testing.T) {
	e := adoptEnv(t, nil, false)
	mustOK(t, apply(t, e.c, connectors.Change{Type: connectors.User, ID: "u-carol", Op: connectors.OpDelete, Prev: fields("Carol@Example.com", "Carol", true)}))
	if got := activeOf(e, "carol@example.com"); len(got) != 0 {
		t.Errorf("carol deleted but %v active", got)
	}
	if got := activeOf(e, "zoe@example.com"); len(got) != 1 {
		t.Errorf("zoe: %v", got)
	}
}

// TestListRebuildsIndex: check-targets' listing indexes the tenant, so
// the first delivery afterwards lists nothing.
func TestListRebuildsIndex(t *testing.T) {
	e := adoptEnv(t, nil, false)
	var n int
	if err := e.c.List(t.Context(), connectors.User, func(string) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	calls := e.sim.Calls()
	r := apply(t, e.c, person("u-alice", "alice@example.com", "Alice", true))[0]
	if r.Err != nil || r.TargetID != "pre-alice" {
		t.Fatalf("%+v", r)
	}
	if got := e.sim.Calls() - calls; got != 1 {
		t.Errorf("%d calls after the listing, want 1 PUT", got)
	}
}

// TestAdoptThenRenamedBeforeRecorded: the bridge adopts alice's
// registration, dies before recording the key, and SCIM renames her; the
// retry continues with the adopted registration (found under the earlier
// authName) instead of creating a second one and leaving the first
// active.
func TestAdoptThenRenamedBeforeRecorded(t *testing.T) {
	st := &memState{}
	e := adoptEnv(t, st, false)
	first := person("u-alice", "alice@example.com", "Alice", true)
	if r := apply(t, e.c, first)[0]; r.Err != nil || r.TargetID != "pre-alice" {
		t.Fatalf("%+v", r)
	}
	c2 := reconnect(t, e, st, false)
	retry := person("u-alice", "alice.smith@example.com", "Alice Smith", true)
	retry.MayExist, retry.Earlier = true, []map[string]any{first.Fields}
	if r := apply(t, c2, retry)[0]; r.Err != nil || r.TargetID != "pre-alice" {
		t.Fatalf("retry: %+v, want pre-alice", r)
	}
	if got := byName(e, "alice@example.com"); len(got) != 0 {
		t.Errorf("old authName still registered: %+v", got)
	}
	if got := byName(e, "alice.smith@example.com"); len(got) != 1 || got[0].Key != "pre-alice" {
		t.Errorf("alice.smith: %+v", got)
	}
}

// TestAdoptNotes: what a write finds about a person's duplicate
// registrations comes back in Result.Notes (the dispatcher puts it on the
// person's activity timeline): the duplicates it deactivated, or, with
// dedupe off, those it left active, noted once and again only when they
// change.
func TestAdoptNotes(t *testing.T) {
	carol := person("u-carol", "carol@example.com", "Carol", true)
	renamed := connectors.Change{Type: connectors.User, ID: "u-carol", Op: connectors.OpUpsert, TargetID: "pre-carol-1",
		Prev: carol.Fields, Fields: fields("carol@example.com", "Carol Jones", true)}
	deactivated := connectors.Change{Type: connectors.User, ID: "u-carol", Op: connectors.OpUpsert, TargetID: "pre-carol-1",
		Prev: renamed.Fields, Fields: fields("carol@example.com", "Carol Jones", false)}
	const found = "duplicate registrations found for carol@example.com: kept pre-carol-1"
	for _, tc := range []struct {
		name   string
		dedupe bool
		steps  []connectors.Change
		want   []string // the note of each step ("" none)
	}{
		{"dedupe", true, []connectors.Change{carol, renamed},
			[]string{found + ", deactivated pre-carol-2", ""}},
		{"report only", false, []connectors.Change{carol, renamed, deactivated},
			[]string{found + ", left active pre-carol-2 (options.dedupe: true deactivates them)", "", found + ", deactivated pre-carol-2"}},
		{"alice has none", false, []connectors.Change{person("u-alice", "alice@example.com", "Alice", true)}, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := adoptEnv(t, nil, tc.dedupe)
			for i, ch := range tc.steps {
				r := apply(t, e.c, ch)[0]
				if r.Err != nil {
					t.Fatalf("step %d: %v", i, r.Err)
				}
				got := strings.Join(r.Notes, " | ")
				if got != tc.want[i] {
					t.Errorf("step %d: notes %q, want %q", i, got, tc.want[i])
				}
			}
		})
	}
	// A write that fails notes nothing; its retry does.
	e := adoptEnv(t, nil, true)
	if err := e.c.ensureIndex(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sim.FailNext(simkit.Fault5xx, 1)
	if r := apply(t, e.c, carol)[0]; r.Err == nil || len(r.Notes) != 0 {
		t.Fatalf("failed write: %+v, want an error and no note", r)
	}
	if r := apply(t, e.c, carol)[0]; r.Err != nil || strings.Join(r.Notes, "") != found+", deactivated pre-carol-2" {
		t.Errorf("retry: %+v", r)
	}
}
