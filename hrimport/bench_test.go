package hrimport

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// hrFile generates n rows as an HR system exports them: mapped headers,
// ';', CRLF, a department, a status, teams and a manager.
func hrFile(n int) []byte {
	var b strings.Builder
	b.WriteString("Employee ID;Work Email;Legal First Name;Last Name;Department;Status;Teams;Manager Email\r\n")
	for i := 0; i < n; i++ {
		mgr := ""
		if i%50 != 0 {
			mgr = fmt.Sprintf("emp%06d@example.com", i-i%50)
		}
		fmt.Fprintf(&b, "%d;emp%06d@example.com;Zoë %d;O'Neil;Dept %d;Active;Team %d;%s\r\n", 100000+i, i, i, i%20, i%10, mgr)
	}
	return []byte(b.String())
}

func benchConfig() Config {
	return Config{Columns: map[string]Targets{
		"Employee ID": {"externalId"}, "Work Email": {"userName", `emails[type eq "work"].value`},
		"Legal First Name": {"name.givenName"}, "Last Name": {"name.familyName"},
		"Department": {enterprise + ":department"}, "Status": {"active"}, "Teams": {"groups"}, "Manager Email": {"manager"},
	}}
}

// BenchmarkImport: 10,000 new rows (users, their teams, their managers),
// then the same file again (nothing to write).
//
//	go test ./hrimport -run '^$' -bench Import -benchtime 1x -count 3
func BenchmarkImport(b *testing.B) {
	const n = 10000
	file := hrFile(n)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		br := newTestBridge(b, scim.Options{MaxResults: 1000})
		c := br.client()
		b.StartTimer()
		t0 := time.Now()
		sum, err := Run(context.Background(), c, bytesOpener(file), Options{Config: benchConfig(), Concurrency: benchConcurrency})
		first := time.Since(t0)
		if err != nil || !sum.OK() || sum.Created != n {
			b.Fatalf("%v %s", err, sum)
		}
		firstReq, firstWrites := c.Requests(), c.Writes()
		c2 := br.client()
		t0 = time.Now()
		sum, err = Run(context.Background(), c2, bytesOpener(file), Options{Config: benchConfig()})
		again := time.Since(t0)
		if err != nil || sum.Unchanged != n || c2.Writes() != 0 {
			b.Fatalf("second run: %v %s", err, sum)
		}
		b.ReportMetric(first.Seconds(), "s-first")
		b.ReportMetric(float64(firstReq), "requests-first")
		b.ReportMetric(float64(firstWrites), "bulk-first")
		b.ReportMetric(again.Seconds(), "s-again")
		b.ReportMetric(float64(c2.Requests()), "requests-again")
		b.ReportMetric(float64(c2.Writes()), "writes-again")
		b.ReportMetric(first.Seconds()/again.Seconds(), "first/again")
	}
}

// seed puts users [from, to) into the bridge through the importer (plain
// SCIM headers, no groups), so the benchmarks below have a server to read.
func seed(tb testing.TB, br *testBridge, from, to int) {
	var b strings.Builder
	b.WriteString("userName,externalId,name.givenName,name.familyName,emails[type eq \"work\"].value,title,active\n")
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "emp%06d@example.com,%d,Zoë %d,Müller,emp%06d@example.com,Engineer,true\n", i, i, i, i)
	}
	sum, err := Run(context.Background(), br.client(), bytesOpener([]byte(b.String())), Options{Concurrency: 16})
	if err != nil || sum.Created != to-from {
		tb.Fatalf("seed: %v %s", err, sum)
	}
}

// peakHeap samples HeapInuse while fn runs (the bridge is in-process, so
// its memory counts too, in every size alike).
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak.Load()
}

// BenchmarkMemory: peak heap of an export of 10,000 and then 100,000 users
// (flat: one page at a time), and of a dry run of a file with that many
// rows, each an update (grows with the keys: the state map).
// The seeding store runs without fsync (a benchmark of memory, not disk).
//
//	go test ./hrimport -run '^$' -bench Memory -benchtime 1x
func BenchmarkMemory(b *testing.B) {
	br := newTestBridge(b, scim.Options{MaxResults: 1000})
	br.db.SetNoSync(true)
	have := 0
	for _, n := range []int{10000, 100000} {
		seed(b, br, have, n)
		have = n
		var file strings.Builder
		file.WriteString("userName,title\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&file, "emp%06d@example.com,Senior Engineer\n", i)
		}
		data := []byte(file.String())
		b.Run(fmt.Sprintf("export/users=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var users int
				peak := peakHeap(func() {
					var err error
					if users, err = Export(context.Background(), br.client(), io.Discard, ExportOptions{}); err != nil {
						b.Fatal(err)
					}
				})
				if users != n {
					b.Fatalf("exported %d", users)
				}
				b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
			}
		})
		b.Run(fmt.Sprintf("dry-run/rows=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				peak := peakHeap(func() {
					sum, err := Run(context.Background(), br.client(), bytesOpener(data), Options{DryRun: true})
					if err != nil || sum.Updated != n {
						b.Fatalf("%v %s", err, sum)
					}
				})
				b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
			}
		})
	}
}

// BenchmarkFetchState compares two ways to learn the server's state of
// 2,000 keys among 10,000 users: paging through every user (attributes
// limited) against one indexed `userName eq` GET per key.
//
//	go test ./hrimport -run '^$' -bench FetchState -benchtime 3x
func BenchmarkFetchState(b *testing.B) {
	br := newTestBridge(b, scim.Options{MaxResults: 1000})
	br.db.SetNoSync(true)
	seed(b, br, 0, 10000)
	c := br.client()
	if err := c.discover(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Run("page-all", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n := 0
			if err := c.each(context.Background(), "/Users", "", []string{"userName", "title", "active"}, func(map[string]any) error { n++; return nil }); err != nil || n != 10000 {
				b.Fatal(err, n)
			}
		}
	})
	b.Run("eq-per-key", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for k := 0; k < 2000; k++ {
				var p page
				q := url.Values{"filter": {fmt.Sprintf(`userName eq "emp%06d@example.com"`, k*5)}, "attributes": {"userName,title,active"}}
				if err := c.do(context.Background(), "GET", "/Users?"+q.Encode(), nil, &p); err != nil || len(p.Resources) != 1 {
					b.Fatal(err)
				}
			}
		}
	})
}

var benchConcurrency = DefaultConcurrency

// BenchmarkDecode reads a 10 MiB file through decodeFile against a plain
// read of the same bytes (the baseline): ASCII (lateReader), UTF-8 with
// accents (passed through), Windows-1252 (decoded), lone CR (rewritten).
func BenchmarkDecode(b *testing.B) {
	row := "zoe.muller@example.com;Zoe;Muller;Engineering;Active;2019-03-01\r\n"
	shapes := map[string]string{
		"ascii":  row,
		"utf8":   strings.ReplaceAll(row, "Zoe;Muller", "Zoë;Müller"),
		"cp1252": strings.ReplaceAll(row, "Zoe;Muller", "Zo\xeb;M\xfcller"),
		"cr":     strings.ReplaceAll(row, "\r\n", "\r"),
	}
	for _, name := range []string{"ascii", "utf8", "cp1252", "cr"} {
		data := []byte(strings.Repeat(shapes[name], (10<<20)/len(row)))
		b.Run(name+"/plain", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				drain(bufio.NewReader(bytes.NewReader(data)))
			}
		})
		b.Run(name+"/decoded", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r, err := decodeFile(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				drain(r)
			}
		})
	}
}

// drain reads r to its end in 32 KiB reads (as encoding/csv's bufio
// does), never through a WriterTo shortcut.
func drain(r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
	}
}
