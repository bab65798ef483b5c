// Package logwriter gathers the server's log lines into fewer writes.
//
// The access log writes a line for every request. Written one by one to
// stderr, each is a system call of its own (and a wake-up of whatever
// reads the pipe): on a group GET, about a tenth of what serving it costs
// (`go test ./scim -run '^$' -bench GroupGetRatio -bench.procs` with the
// log written to a file). Buffered holds lines for at most its interval,
// as nginx's access_log buffer= and flush= do, and writes a warning or
// worse at once, after the lines before it.
package logwriter

import (
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// flushSize is how many bytes wait at most before they are written.
const flushSize = 32 << 10

// Buffered is an io.Writer and zerolog.LevelWriter that writes what it is
// given to out in batches: when a batch reaches flushSize, interval after
// its first line, when a line of level warn or worse comes, and on Flush
// or Close. Safe for concurrent use.
type Buffered struct {
	out      io.Writer
	interval time.Duration

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer // armed while buf holds lines
	armed  bool
	closed bool
}

// New returns a Buffered writing to out. With an interval of 0 or less
// every line is written at once.
func New(out io.Writer, interval time.Duration) *Buffered {
	return &Buffered{out: out, interval: interval}
}

// Write buffers p, one log line, as a line with no level.
func (w *Buffered) Write(p []byte) (int, error) {
	return w.WriteLevel(zerolog.NoLevel, p)
}

// WriteLevel buffers p, one log line of level l; a warning or worse (or a
// line with no level) is written at once with whatever waits before it.
func (w *Buffered) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.interval <= 0 {
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	if (l >= zerolog.WarnLevel && l != zerolog.Disabled) || len(w.buf) >= flushSize {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if !w.armed {
		if w.timer == nil {
			w.timer = time.AfterFunc(w.interval, w.timed)
		} else {
			w.timer.Reset(w.interval)
		}
		w.armed = true
	}
	return len(p), nil
}

// timed is the timer's flush. A write error has no caller to go to here;
// the lines are dropped rather than retried forever.
func (w *Buffered) timed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	w.flushLocked()
}

// Flush writes what waits.
func (w *Buffered) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Buffered) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.out.Write(w.buf)
	if cap(w.buf) > 4*flushSize { // after one huge line
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	return err
}

// Close writes what waits; later lines are written at once. It does not
// close out.
func (w *Buffered) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.armed = false
	}
	w.closed = true
	return w.flushLocked()
}
