package scim

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The Ratio benchmarks run both servers in the test's own process by
// default: they share one heap, so the garbage one makes is collected
// partly on the other's time. With -bench.procs each server runs in a
// process of its own (this test binary again, as TestBenchServer), as a
// load run against two binaries would see them; the clients stay here.
//
//	go test ./scim -run '^$' -bench 'Ratio' -benchtime 20x -bench.procs
var benchProcs = flag.Bool("bench.procs", false, "run each server of the Ratio benchmarks in a process of its own")

// benchServeEnv names the server kind TestBenchServer serves.
const benchServeEnv = "SCIMBRIDGE_BENCH_SERVE"

// TestBenchServer is not a test: it is the server process of
// -bench.procs, and skips unless started as one. It serves the kind named
// in the environment (benchKinds, or "baseline-groups": the baseline with
// a Groups endpoint), writes the server's address as its first line, and
// serves until its standard input closes.
func TestBenchServer(t *testing.T) {
	kind := os.Getenv(benchServeEnv)
	if kind == "" {
		t.Skip("the server process of -bench.procs")
	}
	var ts *httptest.Server
	switch kind {
	case "baseline":
		ts = baselineServer(t)
	case "baseline-groups":
		ts = baselineUsersGroups(t)
	case "durable", "durable-nofsync":
		var s *Server
		ts, s = durableServer(t, nil)
		s.db.SetNoSync(kind == "durable-nofsync")
	default:
		t.Fatalf("%s=%q: no such server", benchServeEnv, kind)
	}
	fmt.Println("serving " + ts.URL)
	io.Copy(io.Discard, os.Stdin)
}

// processServer starts TestBenchServer serving kind in a process of its
// own and returns a client for it; the process ends with the benchmark.
func processServer(b *testing.B, kind string) *client {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServer$")
	cmd.Env = append(os.Environ(), benchServeEnv+"="+kind)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "serving ")
	if err != nil || !ok {
		b.Fatalf("server process %s: %q, %v", kind, line, err)
	}
	go io.Copy(io.Discard, stdout)
	return urlClient(b, url)
}
