package e2ekit

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
	"github.com/scimbridge/scimbridge/connectors/secureauth/secureauthsim"
	"github.com/scimbridge/scimbridge/connectors/simkit"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// Target is one simulated target on loopback, behind a Counter.
type Target struct {
	Type    string
	Sim     simkit.FieldSim
	Server  *httptest.Server
	Counter *Counter
	BaseURL string
	Creds   map[string]string
	Options map[string]string // connector options that match the simulator
}

// ShippedTargets starts the four connectors' simulators with each target's
// shipped limits enforced (SCC and Webex 10 requests/s, SecureAuth 20/s,
// Secure Access 5/s, 14/min and 350/30 min), Secure Access's windows sped
// up saSpeed times (its connector told the same). They are closed with t.
func ShippedTargets(t testing.TB, saSpeed float64) []*Target {
	return FaultyTargets(t, saSpeed, 0)
}

// FaultyTargets is ShippedTargets with faults injected on top of the
// limits: every target answers the share rate of its resource requests
// with its 5xx and as much again with 429 (each target's own seed, so a
// run repeats). The 429s carry Retry-After as the targets do: Webex always
// (1 s at least), SCC about half of them (issue 17's judge), SecureAuth
// and Secure Access never. rate 0 is ShippedTargets.
func FaultyTargets(t testing.TB, saSpeed, rate float64) []*Target {
	faults := func(seed uint64, limit int, retryAfter time.Duration, share float64) simkit.Faults {
		f := simkit.Faults{RateLimit: limit, RateWindow: time.Second, ErrorRate: rate, ThrottleRate: rate, Seed: seed}
		if rate > 0 {
			f.RetryAfter, f.RetryAfterShare = retryAfter, share
		}
		return f
	}
	sa := secureaccesssim.New(secureaccesssim.Options{Faults: faults(2, 0, 0, 0)})
	saOpts := sa.ScaleRates(1 / saSpeed)
	sims := []struct {
		typ  string
		sim  simkit.FieldSim
		opts map[string]string
	}{
		{"scc", sccsim.New(sccsim.Options{Faults: faults(1, 10, time.Second, 0.5)}), nil},
		{"secureaccess", sa, saOpts},
		{"secureauth", secureauthsim.New(secureauthsim.Options{AllowDelete: true, Faults: faults(3, 20, 0, 0)}), nil},
		{"webex", webexsim.New(webexsim.Options{TokenLifetime: time.Hour, Faults: faults(4, 10, time.Second, 0)}), nil},
	}
	var out []*Target
	for _, s := range sims {
		c := &Counter{sim: s.sim, next: s.sim.(http.Handler)}
		c.fingerprint = Fingerprint(s.sim)
		srv := httptest.NewServer(c)
		t.Cleanup(srv.Close)
		base := s.sim.(connectors.Simulator)
		out = append(out, &Target{Type: s.typ, Sim: s.sim, Server: srv, Counter: c,
			BaseURL: srv.URL + base.BasePath(), Creds: base.Credentials(), Options: s.opts})
	}
	return out
}

// Counter counts every HTTP request a simulator serves (token endpoints,
// listings and retries included) and the 429s among them, and records when
// the simulator's state last changed: after each request it takes the
// state's Fingerprint and notes the time when it differs from the one
// before.
type Counter struct {
	sim  simkit.FieldSim
	next http.Handler

	mu          sync.Mutex
	requests    int
	r429        int
	changes     int
	lastChange  time.Time
	fingerprint string
	byRoute     map[string]int // "METHOD /path" with ids as {id}
}

// CounterStats is a Counter at one moment.
type CounterStats struct {
	Requests   int       // HTTP requests served
	R429       int       // of which answered 429
	Changes    int       // requests after which the state differed
	LastChange time.Time // when the state last changed (zero: never)
}

func (c *Counter) Stats() CounterStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CounterStats{Requests: c.requests, R429: c.r429, Changes: c.changes, LastChange: c.lastChange}
}

// ByRoute counts the requests served per "METHOD /path", ids in the path
// written {id}.
func (c *Counter) ByRoute() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byRoute)
}

// Route is "METHOD /path" with every path segment that looks like an id
// (an @, or a digit in more than 3 characters: emails, uuids, user ids;
// not "v2") written {id}.
func Route(r *http.Request) string {
	segs := strings.Split(r.URL.Path, "/")
	for i, s := range segs {
		if strings.Contains(s, "@") || len(s) > 3 && strings.ContainsAny(s, "0123456789") {
			segs[i] = "{id}"
		}
	}
	return r.Method + " " + strings.Join(segs, "/")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

func (c *Counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(sw, r)
	fp := Fingerprint(c.sim)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if c.byRoute == nil {
		c.byRoute = map[string]int{}
	}
	c.byRoute[Route(r)]++
	if sw.status == http.StatusTooManyRequests {
		c.r429++
	}
	if fp != c.fingerprint {
		c.fingerprint, c.lastChange = fp, time.Now()
		c.changes++
	}
}

// Fingerprint digests what a target holds: every user (target id, login,
// active, fields) and every group (id, name, members), in a stable order.
func Fingerprint(s simkit.FieldSim) string {
	var lines []string
	fields := s.UserFields()
	for _, u := range s.Users() {
		f := fields[u.TargetID]
		keys := slices.Sorted(maps.Keys(f))
		var kv strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&kv, "%s=%q,", k, f[k])
		}
		lines = append(lines, fmt.Sprintf("u %q %q %v %s", u.TargetID, u.UserName, u.Active, kv.String()))
	}
	for _, g := range s.Groups() {
		m := slices.Sorted(slices.Values(g.MemberTargetIDs))
		lines = append(lines, fmt.Sprintf("g %q %q %q", g.TargetID, g.Name, m))
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return fmt.Sprintf("%x", sum)
}
