package activitylog

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/store"
)

// BenchmarkSCIMWriteInCommit: what an Entra PATCH's event (displayName
// and work email replaced) costs inside the serialised write
// transaction, built there (inline, as before) or prepared ahead
// (PrepareSCIMWrite, then only Append inside). in-tx-µs/op is the time
// spent inside the transaction's function, where writes queue; the rest
// of ns/op is bbolt's commit (no fsync) and, for prepared, the build.
// The events are appended to act/log only; "indexed" also runs the
// indexer (Index, its own transactions) after every indexChunk events,
// outside in-tx-µs but inside ns/op, B/op and allocs/op: what filing an
// event costs, amortised, off the write's commit.
//
//	go test ./activitylog -run '^$' -bench SCIMWriteInCommit -benchtime 5000x -count 3
func BenchmarkSCIMWriteInCommit(b *testing.B) {
	doc := func(i, v int) map[string]any {
		return map[string]any{
			"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "id": fmt.Sprint("u", i),
			"userName": fmt.Sprintf("p%d@example.com", i), "displayName": fmt.Sprint("New Name ", v), "active": true,
			"name":   map[string]any{"givenName": "P", "familyName": fmt.Sprint("User ", i)},
			"emails": []any{map[string]any{"type": "work", "primary": true, "value": fmt.Sprintf("new%d@example.com", v)}},
			"meta":   map[string]any{"resourceType": "User", "version": fmt.Sprint(`W/"`, v, `"`)},
		}
	}
	for _, mode := range []string{"inline", "prepared", "indexed"} {
		b.Run(mode, func(b *testing.B) {
			db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetNoSync(true)
			l := New(db, Options{})
			const users = 256
			for i := range users {
				if err := db.Update(func(tx *store.Tx) error {
					return l.SCIMWrite(tx, Write{Method: "POST", Status: 201, Type: store.TypeUser, ID: fmt.Sprint("u", i), After: doc(i, i)})
				}); err != nil {
					b.Fatal(err)
				}
			}
			var inTx time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				i := n % users
				w := Write{Client: "token #1", RequestID: "req", Method: "PATCH", Status: 204, Type: store.TypeUser, ID: fmt.Sprint("u", i),
					Before: doc(i, users+n-users/1), After: doc(i, users+n+1)}
				var pw *PreparedWrite
				if mode != "inline" {
					if pw, err = l.PrepareSCIMWrite(w); err != nil {
						b.Fatal(err)
					}
				}
				if err := db.Update(func(tx *store.Tx) error {
					t0 := time.Now()
					defer func() { inTx += time.Since(t0) }()
					if pw != nil {
						return pw.Append(tx)
					}
					return l.SCIMWrite(tx, w)
				}); err != nil {
					b.Fatal(err)
				}
				if mode == "indexed" && (n+1)%indexChunk == 0 {
					if _, err := l.Index(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(inTx.Microseconds())/float64(b.N), "in-tx-µs/op")
		})
	}
}
