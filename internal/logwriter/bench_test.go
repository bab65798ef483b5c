package logwriter

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// BenchmarkAccessLine: one access-log line, as the server writes it per
// request, from 4 goroutines into a file: each line its own write (as
// before) against Buffered at the shipped interval.
//
//	go test ./internal/logwriter -run '^$' -bench AccessLine -benchmem -count 5
func BenchmarkAccessLine(b *testing.B) {
	for _, c := range []struct {
		name     string
		interval time.Duration
	}{{"each-line", 0}, {"buffered-100ms", 100 * time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			w := New(f, c.interval)
			defer w.Close()
			log := zerolog.New(w).With().Timestamp().Logger()
			b.SetParallelism(2) // 4 goroutines on 2 cores
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					log.Info().Str("request_id", "fa1259387a86d0e6").Str("method", "GET").
						Str("path", "/scim/v2/Groups/bf8d9d56-1a17-4edb-861f-9d8a1b34fb8e").Int("status", 200).
						Int("bytes", 345).Float64("duration", 0.004718).Str("remote", "127.0.0.1:34376").
						Str("client", "tokens").Msg("request")
				}
			})
		})
	}
}
