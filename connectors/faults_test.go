package connectors_test

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/testconn"
	"github.com/scimbridge/scimbridge/store"
)

// TestFaultsOverHTTPConverge runs the dispatcher against the testconn
// simulator over real HTTP with 10% 5xx, 5% connection resets, 3% answers
// lost after the target applied the call, latency
// spikes, the target's own rate limit and injected bursts of 429 with and
// without Retry-After. Every change must land exactly once, and 429s must
// stay close to the injected ones: the dispatcher's rate limiter (set
// below the target's), not the target, sets the pace.
func TestFaultsOverHTTPConverge(t *testing.T) {
	target := testconn.NewTarget(testconn.Options{
		ErrorRate: 0.10, ResetRate: 0.05, DropRate: 0.03,
		Latency: time.Millisecond, SpikeRate: 0.05, SpikeLatency: 20 * time.Millisecond,
		Rate: 400, Burst: 4, // twice the dispatcher's rate: 429s come only from bunching
	})
	srv := httptest.NewServer(testconn.NewSim(target))
	defer srv.Close()
	conn := testconn.NewHTTP("faulty", srv.URL, testconn.SimToken, srv.Client(), connectors.Limits{BatchSize: 5, Rate: 200, Burst: 1, Timeout: 5 * time.Second})

	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: conn, Settings: connectors.Settings{Name: "faulty"}}}, zerolog.Nop(), nil, fast...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, d: d, target: target, set: connectors.Settings{Name: "faulty"}}
	e.start()

	const users = 100
	injected := 0
	for i := range users {
		id := fmt.Sprintf("u%03d", i)
		e.write(createUser(id))
		if i%3 == 0 {
			e.write(store.Change{Type: store.TypeUser, ID: id, After: user(id, id+"@example.com", false, "later")})
		}
		switch i {
		case 40:
			target.FailNext(testconn.Fault429, 4)
			injected += 4
		case 70:
			target.FailNext(testconn.Fault429RetryAfter, 2)
			injected += 2
		}
	}
	for i := range 10 {
		gid := fmt.Sprintf("g%d", i)
		var members []string
		for j := i; j < users; j += 10 {
			members = append(members, fmt.Sprintf("u%03d", j))
		}
		e.write(store.Change{Type: store.TypeGroup, ID: gid, After: group(gid, "Group "+gid), MembersAdded: members})
	}
	e.drain()

	got := target.Users()
	if len(got) != users {
		t.Fatalf("target has %d users, want %d", len(got), users)
	}
	for _, u := range got {
		var i int
		fmt.Sscanf(u.UserName, "u%03d@", &i)
		if want := i%3 != 0; u.Active != want {
			t.Errorf("%s active=%v, want %v", u.UserName, u.Active, want)
		}
	}
	for _, g := range target.Groups() {
		if len(g.Members) != users/10 {
			t.Errorf("%s has %d members, want %d", g.Name, len(g.Members), users/10)
		}
	}
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Errorf("dead letters: %+v", dl)
	}
	st := target.Stats()
	if st.Creates != users+10 {
		t.Errorf("%d objects created, want %d: a re-delivery duplicated one", st.Creates, users+10)
	}
	t.Logf("target: %+v", st)
	if st.Rejected429 > injected+5 {
		t.Errorf("%d calls rejected with 429 (%d injected): the target, not the rate limiter, set the pace", st.Rejected429, injected)
	}
}
