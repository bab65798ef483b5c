package scc

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
)

// benchLatency is the simulator's per-request latency the issue asks for.
const benchLatency = 20 * time.Millisecond

// BenchmarkInvite measures user creates (invite + id lookup) per second
// against sccsim with 20 ms latency, in batches of Limits().BatchSize, with
// 1 worker and with the dispatcher's default 4.
//
//	go test -run XXX -bench Invite -benchtime 400x ./connectors/scc/
func BenchmarkInvite(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			e := newEnv(b, sccsim.Options{Latency: benchLatency}, nil)
			c := e.connector(b)
			size := c.Limits().BatchSize
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						from := int(next.Add(int64(size))) - size
						if from >= b.N {
							return
						}
						var batch []connectors.Change
						for i := from; i < min(from+size, b.N); i++ {
							batch = append(batch, createUser(fmt.Sprint(i), fmt.Sprintf("user%06d@example.com", i), "Bench", "User"))
						}
						for _, r := range c.Apply(context.Background(), batch) {
							if r.Err != nil || r.TargetID == "" {
								b.Errorf("invite: %+v", r)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "invites/s")
		})
	}
}

// BenchmarkMemberChanges measures group member additions per second
// against sccsim with 20 ms latency: one member per change (no batching
// possible) and 100 per change (one PATCH each).
//
//	go test -run XXX -bench MemberChanges -benchtime 2000x ./connectors/scc/
func BenchmarkMemberChanges(b *testing.B) {
	for _, per := range []int{1, 100} {
		b.Run(fmt.Sprintf("members-per-change=%d", per), func(b *testing.B) {
			e := newEnv(b, sccsim.Options{Latency: benchLatency}, nil)
			members := make([]connectors.Member, b.N)
			for i := range members {
				mail := fmt.Sprintf("m%06d@example.com", i)
				members[i] = connectors.Member{ID: fmt.Sprint(i), TargetID: e.sim.AddUser(mail, "M", "Ember", ""), Fields: map[string]any{fieldEmail: mail}}
			}
			c := e.connector(b)
			fields := map[string]any{fieldName: "Bench"}
			gid := mustApply(b, c, connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: fields}).TargetID
			b.ResetTimer()
			start := time.Now()
			for from := 0; from < b.N; from += per {
				ch := connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, TargetID: gid, Prev: fields, Fields: fields,
					MembersAdded: members[from:min(from+per, b.N)]}
				if r := c.Apply(context.Background(), []connectors.Change{ch})[0]; r.Err != nil || r.MemberErrors != nil {
					b.Fatalf("members: %+v", r)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "members/s")
		})
	}
}
