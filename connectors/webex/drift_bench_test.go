package webex

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// BenchmarkDriftRead10k reads 10,000 users back from the simulator:
// List (ids only, what the missing-object check reads; the baseline) and
// ListFields (whole users, what the field drift check reads). It reports
// target calls per read.
//
//	go test -run '^$' -bench DriftRead10k -benchmem ./connectors/webex/
func BenchmarkDriftRead10k(b *testing.B) {
	const users = 10_000
	for _, mode := range []string{"list-ids", "list-fields"} {
		b.Run(mode, func(b *testing.B) {
			e := newBenchEnv(b)
			for i := range users {
				e.sim.AddUser(fmt.Sprintf("user%05d@example.com", i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			calls0 := e.sim.Calls()
			for range b.N {
				n := 0
				var err error
				if mode == "list-ids" {
					err = e.c.List(context.Background(), connectors.User, func(string) error { n++; return nil })
				} else {
					err = e.c.ListFields(context.Background(), connectors.User, func(string, map[string]any) error { n++; return nil })
				}
				if err != nil || n != users {
					b.Fatalf("read %d users: %v", n, err)
				}
			}
			b.ReportMetric(float64(e.sim.Calls()-calls0)/float64(b.N), "calls/op")
		})
	}
}

// newBenchEnv is a connector on a fresh simulator, without recording.
func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	sim := webexsim.New(webexsim.Options{})
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	c, err := newConnector(connectors.Settings{Name: "webex-bench", Type: "webex", BaseURL: srv.URL + sim.BasePath(),
		Credentials: sim.Credentials()}, connectors.Deps{HTTPClient: srv.Client(), Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{sim: sim, c: c}
}

type benchEnv struct {
	sim *webexsim.Server
	c   *Connector
}
