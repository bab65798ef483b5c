package secureaccess

import (
	"context"
	"fmt"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
)

// BenchmarkDriftRead10k reads 10,000 registrations back (ListFields: the
// field drift check's read, which also rebuilds the adoption index) with
// the rate windows scaled 1000-fold. It reports the GETs per read and
// the unscaled time the limiter allows them (the 14-a-minute budget,
// idle), against a baseline of the same read without the index.
//
//	go test -run '^$' -bench DriftRead10k -benchmem ./connectors/secureaccess/
func BenchmarkDriftRead10k(b *testing.B) {
	const users = 10_000
	regs := make([]secureaccesssim.Registration, users)
	for i := range regs {
		regs[i] = secureaccesssim.Registration{Key: fmt.Sprintf("k-%05d", i), AuthName: fmt.Sprintf("user%05d@example.com", i)}
	}
	for _, mode := range []string{"scan-only", "list-fields+index"} {
		b.Run(mode, func(b *testing.B) {
			var gets int
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				e := newEnv(b, secureaccesssim.Options{NoRateLimit: true}, nil, nil)
				e.sim.Preload(secureaccesssim.Device, regs...)
				calls := e.sim.Calls()
				b.StartTimer()
				n := 0
				var err error
				if mode == "scan-only" {
					err = e.c.scan(context.Background(), func(registration) (bool, error) { n++; return true, nil })
				} else {
					err = e.c.ListFields(context.Background(), connectors.User, func(string, map[string]any) error { n++; return nil })
				}
				if err != nil || n != users {
					b.Fatalf("read %d: %v", n, err)
				}
				gets += e.sim.Calls() - calls
			}
			b.ReportMetric(float64(gets)/float64(b.N), "GETs/op")
			ideal := schedule(newLimiter(defaultWindows), gets/b.N)
			b.ReportMetric(ideal[len(ideal)-1].Sub(ideal[0]).Seconds(), "unscaled-s")
		})
	}
}
