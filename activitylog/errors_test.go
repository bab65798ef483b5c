package activitylog

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// syncBuffer is a bytes.Buffer safe for a logger in another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestErrorReporterLogsOncePerWorkAndMinute(t *testing.T) {
	var out syncBuffer
	r := newErrorReporter()
	r.log = zerolog.New(&out)
	boom := errors.New("disk full")
	steps := []struct {
		what   string
		err    error
		at     time.Duration
		logged bool
	}{
		{"indexing", boom, 0, true},
		{"indexing", boom, 30 * time.Second, false},
		{"pruning", boom, 30 * time.Second, true},
		{"indexing", nil, 45 * time.Second, false},
		{"indexing", boom, 61 * time.Second, true},
		{"pruning", boom, 61 * time.Second, false},
	}
	for i, s := range steps {
		before := strings.Count(out.String(), "\n")
		r.report(s.what, s.err, t0.Add(s.at))
		if got := strings.Count(out.String(), "\n") > before; got != s.logged {
			t.Errorf("step %d (%s at %v): logged %v, want %v", i, s.what, s.at, got, s.logged)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.Contains(line, `"error":"disk full"`) || !strings.Contains(line, `"level":"error"`) {
			t.Errorf("line without its error: %s", line)
		}
	}
}

// Run logs what its pruning could not do instead of dropping it: here the
// data file is closed under it.
func TestRunLogsBackgroundFailures(t *testing.T) {
	l, db, _ := newLog(t, Options{})
	var out syncBuffer
	l.SetLogger(zerolog.New(&out))
	db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	for i := 0; i < 5000 && !strings.Contains(out.String(), `"work":"pruning"`); i++ {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if !strings.Contains(out.String(), `"work":"pruning"`) {
		t.Fatalf("no failure logged; log: %q", out.String())
	}
}
