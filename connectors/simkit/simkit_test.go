package simkit

import (
	"fmt"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// FailNext queues: two calls fail the next requests with the first fault,
// then the second, then nothing.
func TestFailNextQueues(t *testing.T) {
	in := NewInjector(Faults{})
	in.FailNext(Fault5xx, 2)
	in.FailNext(Fault429RetryAfter, 1)
	var got []string
	for range 4 {
		f, ra := in.Next(time.Time{})
		got = append(got, fmt.Sprint(f, "/", ra))
	}
	if want := "[3/0s 3/0s 2/1s 0/0s]"; fmt.Sprint(got) != want {
		t.Errorf("faults %v, want %s", got, want)
	}
}

func TestRateWindowRetryAfter(t *testing.T) {
	at := time.Unix(1000, 0)
	tests := []struct {
		name   string
		faults Faults
		times  []time.Duration // offsets from at
		want   string
	}{
		{"no limit", Faults{}, []time.Duration{0, 0, 0}, "[0/0s 0/0s 0/0s]"},
		{"limit without Retry-After", Faults{RateLimit: 1, RateWindow: time.Minute}, []time.Duration{0, time.Second}, "[0/0s 1/0s]"},
		{"window left beats RetryAfter", Faults{RateLimit: 1, RateWindow: time.Minute, RetryAfter: time.Second},
			[]time.Duration{0, 15 * time.Second}, "[0/0s 1/45s]"},
		{"RetryAfter beats window left", Faults{RateLimit: 1, RateWindow: time.Second, RetryAfter: 5 * time.Second},
			[]time.Duration{0, 0}, "[0/0s 1/5s]"},
		{"next window serves", Faults{RateLimit: 1}, []time.Duration{0, time.Second}, "[0/0s 0/0s]"},
		{"throttle", Faults{ThrottleRate: 1, RetryAfter: 7 * time.Second}, []time.Duration{0}, "[1/7s]"},
		{"error rate", Faults{ErrorRate: 1}, []time.Duration{0}, "[3/0s]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := NewInjector(tc.faults)
			var got []string
			for _, d := range tc.times {
				f, ra := in.Next(at.Add(d))
				got = append(got, fmt.Sprint(f, "/", ra))
			}
			if fmt.Sprint(got) != tc.want {
				t.Errorf("got %v, want %s", got, tc.want)
			}
		})
	}
}

// The same seed gives the same faults; a rate of 0 draws nothing.
func TestRandomDeterministic(t *testing.T) {
	run := func(f Faults) string {
		in := NewInjector(f)
		var b strings.Builder
		for range 40 {
			got, _ := in.Random()
			fmt.Fprint(&b, int(got))
		}
		return b.String()
	}
	a, b := run(Faults{ErrorRate: 0.5, Seed: 7}), run(Faults{ErrorRate: 0.5, Seed: 7})
	if a != b || !strings.Contains(a, "3") || !strings.Contains(a, "0") {
		t.Errorf("runs %s and %s: want the same mix", a, b)
	}
	if c := run(Faults{ErrorRate: 0.5, Seed: 7, ThrottleRate: 0}); c != a {
		t.Errorf("a zero ThrottleRate shifted the sequence: %s vs %s", c, a)
	}
}

func TestSetRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "", -time.Second: "", time.Millisecond: "1", 1500 * time.Millisecond: "2", time.Hour: "3600"} {
		w := httptest.NewRecorder()
		SetRetryAfter(w, d)
		if got := w.Header().Get("Retry-After"); got != want {
			t.Errorf("SetRetryAfter(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, 201, "", map[string]int{"a": 1})
	if w.Code != 201 || w.Header().Get("Content-Type") != "application/json" || w.Body.String() != "{\"a\":1}\n" {
		t.Errorf("got %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}

func TestPage(t *testing.T) {
	tests := []struct{ n, offset, limit, lo, hi int }{
		{10, 0, 3, 0, 3}, {10, 9, 3, 9, 10}, {10, 12, 3, 10, 10}, {10, -1, 3, 0, 3}, {10, 2, -1, 2, 2}, {0, 0, 5, 0, 0},
	}
	for _, tc := range tests {
		if lo, hi := Page(tc.n, tc.offset, tc.limit); lo != tc.lo || hi != tc.hi {
			t.Errorf("Page(%d,%d,%d) = %d,%d, want %d,%d", tc.n, tc.offset, tc.limit, lo, hi, tc.lo, tc.hi)
		}
	}
}

// The simulators ship in the production binary, so it must not link
// package testing (connectortest does; simkit and the simulators must not).
func TestBinaryDoesNotLinkTesting(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/scimbridge/scimbridge/cmd/scimbridge").CombinedOutput()
	if err != nil {
		t.Skipf("go list unavailable: %v: %s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list gave %d packages: %s", len(deps), out)
	}
	for _, p := range deps {
		if p == "testing" || strings.HasSuffix(p, "/connectortest") {
			t.Errorf("cmd/scimbridge links %s", p)
		}
	}
}

// RetryAfterShare: about that share of the 429s carry Retry-After, the
// others none; 0 keeps it on every one.
func TestRetryAfterShare(t *testing.T) {
	count := func(f Faults) (with, without int) {
		in := NewInjector(f)
		for range 1000 {
			if _, ra := in.Random(); ra > 0 {
				with++
			} else {
				without++
			}
		}
		return with, without
	}
	if w, wo := count(Faults{ThrottleRate: 1, RetryAfter: time.Second, RetryAfterShare: 0.5, Seed: 3}); w < 400 || wo < 400 {
		t.Errorf("share 0.5: %d with Retry-After, %d without; want about half each", w, wo)
	}
	if w, wo := count(Faults{ThrottleRate: 1, RetryAfter: time.Second}); w != 1000 || wo != 0 {
		t.Errorf("share 0: %d with, %d without; want every one with", w, wo)
	}
}
