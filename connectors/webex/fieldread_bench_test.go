package webex

import (
	"context"
	"fmt"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
)

// BenchmarkFieldCheckOne10k compares, in a tenant of 10,000 users, what
// the console's field check of one user reads (ReadFields: one GET) with
// what check-targets reads to compare the same user's fields (ListFields
// of every user, the baseline).
//
//	go test -run '^$' -bench FieldCheckOne10k -benchmem ./connectors/webex/
func BenchmarkFieldCheckOne10k(b *testing.B) {
	const users = 10_000
	e := newBenchEnv(b)
	var one string
	for i := range users {
		id := e.sim.AddUser(fmt.Sprintf("user%05d@example.com", i))
		if i == users/2 {
			one = id
		}
	}
	for _, mode := range []string{"list-fields-all", "read-one"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			calls0 := e.sim.Calls()
			for range b.N {
				var found map[string]any
				var err error
				if mode == "read-one" {
					found, err = e.c.ReadFields(context.Background(), connectors.User, one)
				} else {
					err = e.c.ListFields(context.Background(), connectors.User, func(id string, f map[string]any) error {
						if id == one {
							found = f
						}
						return nil
					})
				}
				if err != nil || found == nil {
					b.Fatalf("user not read: %v", err)
				}
			}
			b.ReportMetric(float64(e.sim.Calls()-calls0)/float64(b.N), "calls/op")
		})
	}
}
