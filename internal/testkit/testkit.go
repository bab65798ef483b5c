// Package testkit holds the test helpers several packages' tests share:
// golden files, a log sink safe for concurrent writers, and damaged data
// files. Only tests import it.
package testkit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// update is the -update flag of every test binary that uses Golden.
var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// Golden compares got with testdata/name, rewriting the file first when
// the test runs with -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", path, got, want)
	}
}

// LogBuffer is an io.Writer for loggers that concurrent goroutines write
// while the test reads it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Update reports whether the test binary runs with -update, for tests
// that write golden files of their own shape.
func Update() bool { return *update }
