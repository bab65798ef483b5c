package connectors_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// idsOnly hides a fieldConn's ListFields: the missing-object check alone.
type idsOnly struct {
	connectors.Connector
	c *fieldConn
}

func (i idsOnly) List(ctx context.Context, typ string, fn func(string) error) error {
	return i.c.List(ctx, typ, fn)
}

// BenchmarkDriftCheck10k runs check-targets over 10,000 delivered users
// in memory (the target's cost is the connector's: see each connector's
// DriftRead10k): the missing-object check alone (baseline) and with the
// field comparison.
//
//	go test -run '^$' -bench DriftCheck10k -benchmem ./connectors/
func BenchmarkDriftCheck10k(b *testing.B) {
	const users = 10_000
	for _, mode := range []string{"missing-only", "with-fields"} {
		b.Run(mode, func(b *testing.B) {
			c := newFieldConn()
			var conn connectors.Connector = c
			if mode == "missing-only" {
				conn = idsOnly{Connector: c, c: c}
			}
			db, err := store.Open(filepath.Join(b.TempDir(), "db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: conn, Settings: connectors.Settings{Name: "scripted"}}}, zerolog.Nop(), nil, fast...)
			if err != nil {
				b.Fatal(err)
			}
			e := &env{db: db, d: d}
			err = e.db.Update(func(tx *store.Tx) error {
				for i := range users {
					if err := e.d.Enqueue(tx, createUser(fmt.Sprintf("u%05d", i))); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = e.d.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			for deadline := time.Now().Add(2 * time.Minute); ; {
				st, _ := e.d.Status()
				if st[0].QueueDepth == 0 && st[0].InFlight == 0 {
					break
				}
				if time.Now().After(deadline) {
					b.Fatal("not delivered")
				}
				time.Sleep(10 * time.Millisecond)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := e.d.StartTargetCheck([]string{"scripted"}, false); err != nil {
					b.Fatal(err)
				}
				for e.d.TargetCheck().Running {
					time.Sleep(time.Millisecond)
				}
				for _, r := range e.d.TargetCheck().Results {
					if r.Error != "" || r.Type == connectors.User && (r.Mapped != users || r.Drifted != 0) {
						b.Fatalf("%+v", r)
					}
				}
			}
		})
	}
}
