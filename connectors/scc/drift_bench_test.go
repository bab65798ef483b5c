package scc

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
)

// BenchmarkDriftRead10k reads 10,000 users back from the simulator: the
// bare page walk over GET /users (the baseline: the requests and the
// envelope decoding every listing pays) and ListFields (what both drift
// checks read: each user's id, email, names and status). It reports the
// target calls per read.
//
//	go test -run '^$' -bench DriftRead10k -benchmem ./connectors/scc/
func BenchmarkDriftRead10k(b *testing.B) {
	const users = 10_000
	for _, mode := range []string{"walk-only", "list-fields"} {
		b.Run(mode, func(b *testing.B) {
			e := newEnv(b, sccsim.Options{}, nil)
			for i := range users {
				e.sim.AddUser(fmt.Sprintf("user%05d@example.com", i), "First", fmt.Sprintf("Last%05d", i), "")
			}
			c := e.connector(b)
			b.ReportAllocs()
			b.ResetTimer()
			calls0 := e.sim.Calls()
			for range b.N {
				n := 0
				var err error
				if mode == "walk-only" {
					err = c.walk(context.Background(), "list users", "/users", "users", nil, func(json.RawMessage) bool { n++; return true })
				} else {
					err = c.ListFields(context.Background(), connectors.User, func(string, map[string]any) error { n++; return nil })
				}
				if err != nil || n != users {
					b.Fatalf("read %d users: %v", n, err)
				}
			}
			b.ReportMetric(float64(e.sim.Calls()-calls0)/float64(b.N), "calls/op")
		})
	}
}
