package logwriter

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// sink records each Write the Buffered makes.
type sink struct {
	mu     sync.Mutex
	writes []string
	fail   error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

func (s *sink) got() (writes int, all string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.writes), strings.Join(s.writes, "")
}

// An hour: no timer fires within a test unless the case waits for it.
const never = time.Hour

func TestBufferedWritesWhen(t *testing.T) {
	line := func(s string) []byte { return []byte(s + "\n") }
	cases := []struct {
		name       string
		interval   time.Duration
		lines      []zerolog.Level
		wantWrites int // before Close
	}{
		{"info lines wait", never, []zerolog.Level{zerolog.InfoLevel, zerolog.InfoLevel, zerolog.DebugLevel}, 0},
		{"a warning takes the waiting lines with it", never, []zerolog.Level{zerolog.InfoLevel, zerolog.InfoLevel, zerolog.WarnLevel}, 1},
		{"an error as well", never, []zerolog.Level{zerolog.ErrorLevel}, 1},
		{"a line with no level is written at once", never, []zerolog.Level{zerolog.InfoLevel, zerolog.NoLevel}, 1},
		{"lines after a warning wait again", never, []zerolog.Level{zerolog.WarnLevel, zerolog.InfoLevel}, 1},
		{"interval 0 writes each line", 0, []zerolog.Level{zerolog.InfoLevel, zerolog.InfoLevel, zerolog.InfoLevel}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := &sink{}
			w := New(out, c.interval)
			var want strings.Builder
			for i, l := range c.lines {
				p := line(fmt.Sprintf("%d %s", i, l))
				if n, err := w.WriteLevel(l, p); n != len(p) || err != nil {
					t.Fatalf("WriteLevel = %d, %v", n, err)
				}
				want.Write(p)
			}
			if n, _ := out.got(); n != c.wantWrites {
				t.Errorf("%d writes before Close, want %d", n, c.wantWrites)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if _, all := out.got(); all != want.String() {
				t.Errorf("after Close:\n%q\nwant\n%q", all, want.String())
			}
		})
	}
}

// Nothing waits longer than the interval, without a Flush or another line.
func TestBufferedFlushesAfterInterval(t *testing.T) {
	out := &sink{}
	w := New(out, 10*time.Millisecond)
	defer w.Close()
	for round := range 3 { // the timer is armed again for each batch
		w.WriteLevel(zerolog.InfoLevel, []byte(fmt.Sprintf("round %d\n", round)))
		deadline := time.Now().Add(10 * time.Second)
		for {
			if n, _ := out.got(); n == round+1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: line not written", round)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// A batch never grows past flushSize: the line that reaches it is written
// with the rest.
func TestBufferedFlushesWhenFull(t *testing.T) {
	out := &sink{}
	w := New(out, never)
	p := bytes.Repeat([]byte("x"), 1000)
	p[len(p)-1] = '\n'
	for range flushSize/len(p) + 1 {
		w.WriteLevel(zerolog.InfoLevel, p)
	}
	n, all := out.got()
	if n != 1 || len(all) < flushSize {
		t.Errorf("%d writes of %d bytes, want one of at least %d", n, len(all), flushSize)
	}
}

// Concurrent writers lose no line and never split one.
func TestBufferedConcurrentLines(t *testing.T) {
	out := &sink{}
	w := New(out, time.Millisecond)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				w.WriteLevel(zerolog.InfoLevel, []byte(fmt.Sprintf("%d-%d %s\n", g, i, strings.Repeat("y", i%200))))
			}
		}()
	}
	wg.Wait()
	w.Close()
	_, all := out.got()
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(all, "\n"), "\n") {
		head, rest, _ := strings.Cut(l, " ")
		var g, i int
		if _, err := fmt.Sscanf(head, "%d-%d", &g, &i); err != nil || rest != strings.Repeat("y", i%200) {
			t.Fatalf("damaged line %q", l)
		}
		seen[fmt.Sprint(g, i)] = true
	}
	if len(seen) != writers*lines {
		t.Errorf("%d distinct lines, want %d", len(seen), writers*lines)
	}
}

// A write error reaches the writer of the line that made the batch go.
func TestBufferedWriteError(t *testing.T) {
	out := &sink{fail: errors.New("disk full")}
	w := New(out, never)
	if _, err := w.WriteLevel(zerolog.InfoLevel, []byte("a\n")); err != nil {
		t.Fatalf("buffered line: %v", err)
	}
	if _, err := w.WriteLevel(zerolog.ErrorLevel, []byte("b\n")); err == nil {
		t.Error("no error from the line that was written")
	}
}

// The log written through zerolog, as the server does: the same lines,
// in order.
func TestBufferedUnderZerolog(t *testing.T) {
	out := &sink{}
	w := New(out, never)
	log := zerolog.New(w)
	log.Info().Str("path", "/a").Msg("request")
	log.Warn().Msg("slow")
	log.Info().Str("path", "/b").Msg("request")
	w.Close()
	n, all := out.got()
	want := `{"level":"info","path":"/a","message":"request"}` + "\n" +
		`{"level":"warn","message":"slow"}` + "\n" +
		`{"level":"info","path":"/b","message":"request"}` + "\n"
	if all != want || n != 2 {
		t.Errorf("%d writes:\n%s\nwant 2:\n%s", n, all, want)
	}
}
