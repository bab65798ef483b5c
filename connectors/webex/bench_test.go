package webex

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// BenchmarkProvision measures users created per second against webexsim
// with 20 ms of latency per request, through /Bulk and one POST per user.
// Each iteration provisions 100 users (one batch of Limits().BatchSize),
// split across workers as the dispatcher's concurrent workers would.
//
//	go test -run XXX -bench Provision -benchtime 5x -count 3 ./connectors/webex/
func BenchmarkProvision(b *testing.B) {
	for _, bc := range []struct {
		name    string
		bulk    bool
		workers int
	}{
		{"bulk", true, 1},
		{"single", false, 1},
		{"single-4workers", false, 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sim := webexsim.New(webexsim.Options{Latency: 20 * time.Millisecond})
			ts := httptest.NewServer(sim)
			defer ts.Close()
			c, err := New(connectors.Settings{
				Name:        "bench",
				BaseURL:     ts.URL + sim.BasePath(),
				Credentials: sim.Credentials(),
				Options:     map[string]string{"bulk": fmt.Sprint(bc.bulk)},
				RateLimit:   1e6, // the connector's own speed, not the target's limit
			}, connectors.Deps{HTTPClient: ts.Client(), Log: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			const perIter = 100
			users := 0
			for b.Loop() {
				var wg sync.WaitGroup
				for w := range bc.workers {
					var batch []connectors.Change
					for i := w; i < perIter; i += bc.workers {
						n := users + i
						batch = append(batch, createUser(fmt.Sprint(n), fmt.Sprintf("bench%07d@example.com", n), "firstName", "Bench"))
					}
					wg.Go(func() {
						for _, r := range c.Apply(context.Background(), batch) {
							if r.Err != nil || r.TargetID == "" {
								b.Error(r.Err)
								return
							}
						}
					})
				}
				wg.Wait()
				users += perIter
			}
			b.ReportMetric(float64(users)/b.Elapsed().Seconds(), "users/s")
		})
	}
}

// newBenchConnector is a connector on a webexsim with 20 ms of latency per
// request; groupBulk false is the old path (one request per group write).
func newBenchConnector(b *testing.B, groupBulk bool) (*Connector, *webexsim.Server) {
	sim := webexsim.New(webexsim.Options{Latency: 20 * time.Millisecond})
	ts := httptest.NewServer(sim)
	b.Cleanup(ts.Close)
	c, err := newConnector(connectors.Settings{
		Name:        "bench",
		BaseURL:     ts.URL + sim.BasePath(),
		Credentials: sim.Credentials(),
		Options:     map[string]string{"group_bulk": fmt.Sprint(groupBulk)},
		RateLimit:   1e6, // the connector's own speed, not the target's limit
	}, connectors.Deps{HTTPClient: ts.Client(), Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	return c, sim
}

func benchApply(b *testing.B, c *Connector, batch []connectors.Change) {
	for i, r := range c.Apply(context.Background(), batch) {
		if r.Err != nil || r.TargetID == "" || len(r.MemberErrors) > 0 {
			b.Fatalf("change %d: %+v", i, r)
		}
	}
}

// BenchmarkGroupProvision measures groups created per second against
// webexsim with 20 ms of latency per request: each iteration creates 100
// groups (one batch) of M members (member_chunk 100: M=250 is a POST and
// two PATCHes a group), with group writes through /Bulk and one request
// per write (group_bulk: false, the old path).
//
//	go test -run '^$' -bench GroupProvision -benchtime 3x -count 3 ./connectors/webex/
func BenchmarkGroupProvision(b *testing.B) {
	for _, m := range []int{20, 250} {
		for _, groupBulk := range []bool{true, false} {
			b.Run(fmt.Sprintf("members=%d/bulk=%v", m, groupBulk), func(b *testing.B) {
				c, sim := newBenchConnector(b, groupBulk)
				var pool []connectors.Member
				for i := range m {
					pool = append(pool, connectors.Member{ID: fmt.Sprint(i), TargetID: sim.AddUser(fmt.Sprintf("gm%04d@example.com", i))})
				}
				const perIter = 100
				groups := 0
				for b.Loop() {
					var batch []connectors.Change
					for i := range perIter {
						n := groups + i
						batch = append(batch, connectors.Change{Type: connectors.Group, ID: fmt.Sprint(n), Op: connectors.OpUpsert,
							Fields: map[string]any{"displayName": fmt.Sprintf("Bench %07d", n)}, MembersAdded: pool})
					}
					benchApply(b, c, batch)
					groups += perIter
				}
				b.ReportMetric(float64(groups)/b.Elapsed().Seconds(), "groups/s")
			})
		}
	}
}

// BenchmarkGroupMemberChange measures member changes of existing groups:
// each iteration is one batch of 100 group updates, each adding 10
// members and removing 10 (one PATCH a group on the old path).
//
//	go test -run '^$' -bench GroupMemberChange -benchtime 5x -count 3 ./connectors/webex/
func BenchmarkGroupMemberChange(b *testing.B) {
	for _, groupBulk := range []bool{true, false} {
		b.Run(fmt.Sprintf("bulk=%v", groupBulk), func(b *testing.B) {
			c, sim := newBenchConnector(b, groupBulk)
			var x, y []connectors.Member
			var yIDs []string
			for i := range 20 {
				m := connectors.Member{ID: fmt.Sprint(i), TargetID: sim.AddUser(fmt.Sprintf("mc%02d@example.com", i))}
				if i < 10 {
					x = append(x, m)
				} else {
					y = append(y, m)
					yIDs = append(yIDs, m.TargetID)
				}
			}
			const perIter = 100
			var gids []string
			for i := range perIter {
				gids = append(gids, sim.AddGroup(fmt.Sprintf("Team %03d", i), yIDs...))
			}
			changes := 0
			for b.Loop() {
				add, remove := x, y
				if changes/perIter%2 == 1 {
					add, remove = y, x
				}
				var batch []connectors.Change
				for i, gid := range gids {
					f := map[string]any{"displayName": fmt.Sprintf("Team %03d", i)}
					batch = append(batch, connectors.Change{Type: connectors.Group, ID: fmt.Sprint(i), Op: connectors.OpUpsert, TargetID: gid,
						Prev: f, Fields: f, MembersAdded: add, MembersRemoved: remove})
				}
				benchApply(b, c, batch)
				changes += perIter
			}
			b.ReportMetric(float64(changes)/b.Elapsed().Seconds(), "groups/s")
		})
	}
}
