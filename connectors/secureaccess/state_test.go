package secureaccess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/store"
)

// memState is an in-memory connectors.StateStore.
type memState struct {
	mu     sync.Mutex
	m      map[string][]byte
	puts   int
	getErr error
	putErr error
}

func (s *memState) Get(key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.m[key]), s.getErr
}

func (s *memState) Put(key string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.putErr != nil {
		return s.putErr
	}
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = slices.Clone(v)
	s.puts++
	return nil
}

// clock is a fake clock shared by the limiters of successive "processes".
type clock struct{ now time.Time }

func (c *clock) limiter(ws []window, st connectors.StateStore) *limiter {
	l := newLimiter(ws)
	l.now = func() time.Time { return c.now }
	if st != nil {
		l.attach(st, stateLimiter, zerolog.Nop())
	}
	return l
}

// run sends n requests back to back through l's real wait path, the fake
// clock jumping to each free slot (answers take no time).
func (c *clock) run(t *testing.T, l *limiter, n int) []time.Time {
	t.Helper()
	var out []time.Time
	for range n {
		l.mu.Lock()
		c.now = l.earliest(c.now)
		l.mu.Unlock()
		done, err := l.wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c.now)
		done()
	}
	return out
}

// TestLimiterRestart: a limiter restored from state keeps every window
// across restarts that take no time at all.
func TestLimiterRestart(t *testing.T) {
	tests := []struct {
		name     string
		ws       []window
		runs     []int // requests per process
		noState  bool
		wantOver bool
	}{
		{"second window", defaultWindows, []int{5, 3}, false, false},
		{"minute window", defaultWindows, []int{14, 5}, false, false},
		{"three restarts", defaultWindows, []int{10, 10, 10, 10}, false, false},
		{"paced budget", defaultWindows, []int{200, 200}, false, false},
		{"thirty-minute budget spent", defaultWindows, []int{360, 40}, false, false},
		{"scaled", scaleWindows(defaultWindows, 0.01), []int{100, 1, 100}, false, false},
		// Without state the successor overruns: the test can fail.
		{"forgotten without state", defaultWindows, []int{14, 5}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{now: t0}
			var st connectors.StateStore = &memState{}
			if tc.noState {
				st = nil
			}
			var times []time.Time
			for _, n := range tc.runs {
				times = append(times, c.run(t, c.limiter(tc.ws, st), n)...)
			}
			i, over := overLimit(times, tc.ws)
			if over != tc.wantOver {
				t.Errorf("over a window: %v (request %d at %v), want %v", over, i, times[i].Sub(t0), tc.wantOver)
			}
		})
	}
}

// TestLimiterCrash: what a successor counts for each request its
// predecessor made, answered or not. Over-counting is allowed,
// under-counting is not.
func TestLimiterCrash(t *testing.T) {
	ws := []window{{10, time.Second}, {100, time.Hour}}
	tests := []struct {
		name     string
		ops      string        // s: send, a: oldest answer arrives, t: a second passes, h: 429 with Retry-After 30s
		gap      time.Duration // from the last op to the restart
		want     []time.Duration
		wantHold time.Duration // from t0; 0: none
	}{
		{"never answered", "s", 5 * time.Second, []time.Duration{5 * time.Second}, 0},
		{"answer not saved yet", "sta", 5 * time.Second, []time.Duration{6 * time.Second}, 0},
		{"answer saved by the next request", "stats", 5 * time.Second, []time.Duration{time.Second, 7 * time.Second}, 0},
		{"both answered, one saved", "statsta", 0, []time.Duration{time.Second, 3 * time.Second}, 0},
		{"older than the longest window", "stats", 2 * time.Hour, []time.Duration{2*time.Hour + 2*time.Second}, 0},
		// Saving the hold saves the answer before it too.
		{"429 hold", "stah", 10 * time.Second, []time.Duration{time.Second}, 31 * time.Second},
		{"429 hold expired", "stah", time.Minute, []time.Duration{time.Second}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{now: t0}
			st := &memState{}
			l := c.limiter(ws, st)
			var dones []func()
			for _, op := range tc.ops {
				switch op {
				case 's':
					done, err := l.wait(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					dones = append(dones, done)
				case 'a':
					dones[0]()
					dones = dones[1:]
				case 't':
					c.now = c.now.Add(time.Second)
				case 'h':
					l.throttled(30 * time.Second)
				}
			}
			c.now = c.now.Add(tc.gap)
			next := c.limiter(ws, st)
			var got []time.Duration
			for _, at := range next.log {
				got = append(got, at.Sub(t0))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("restored log %v, want %v", got, tc.want)
			}
			var hold time.Duration
			if !next.hold.IsZero() {
				hold = next.hold.Sub(t0)
			}
			if hold != tc.wantHold {
				t.Errorf("restored hold %v, want %v", hold, tc.wantHold)
			}
		})
	}
}

// TestLimiterSaveShared: a save covers every reservation made before it,
// so concurrent requests may share one.
func TestLimiterSaveShared(t *testing.T) {
	c := &clock{now: t0}
	st := &memState{}
	l := c.limiter([]window{{10, time.Second}}, st)
	l.mu.Lock()
	first, second := l.reserve(c.now), l.reserve(c.now.Add(time.Millisecond))
	l.mu.Unlock()
	for _, seq := range []uint64{second, first} {
		if err := l.persist(seq); err != nil {
			t.Fatal(err)
		}
	}
	if st.puts != 1 {
		t.Errorf("%d Puts for two reservations saved together, want 1", st.puts)
	}
	s, err := decodeLimiter(st.m[stateLimiter])
	if err != nil || s.pending != 2 {
		t.Errorf("saved %+v, %v: want both requests pending", s, err)
	}
}

// TestLimiterSaveFails: a request that cannot be saved is not sent.
func TestLimiterSaveFails(t *testing.T) {
	c := &clock{now: t0}
	st := &memState{putErr: errors.New("disk full")}
	l := c.limiter([]window{{10, time.Second}}, st)
	if _, err := l.wait(context.Background()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("wait with a failing store: %v, want the store's error", err)
	}
	if len(l.log) != 0 || len(l.pending) != 0 {
		t.Errorf("failed reservation kept: log %v, pending %v", l.log, l.pending)
	}
}

// TestStateUnreadable: state that cannot be read or decoded is ignored
// with a warning; the connector starts as without a store.
func TestStateUnreadable(t *testing.T) {
	valid := encodeLimiter(savedLimiter{pending: 1})
	tests := []struct {
		name    string
		b       []byte
		getErr  error
		wantLog int
		warn    bool
	}{
		{"absent", nil, nil, 0, false},
		{"valid", valid, nil, 1, false},
		{"garbage", []byte("\xff\x00garbage"), nil, 0, true},
		{"foreign version", []byte("sal2\x00\x00\x00"), nil, 0, true},
		{"json", []byte(`{"log":[1,2,3]}`), nil, 0, true},
		{"truncated", encodeLimiter(savedLimiter{log: []time.Time{t0, t0.Add(time.Second)}})[:7], nil, 0, true},
		{"trailing bytes", append(slices.Clone(valid), 1), nil, 0, true},
		{"huge count", []byte("sal1\x00\x00\xff\xff\xff\xff\x0f"), nil, 0, true},
		{"read error", nil, errors.New("bolt: database not open"), 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &memState{m: map[string][]byte{stateLimiter: tc.b}, getErr: tc.getErr}
			var logs testkit.LogBuffer
			c, err := New(testSettings("http://127.0.0.1:1"+secureaccesssim.BasePath), connectors.Deps{Log: zerolog.New(&logs), State: st})
			if err != nil {
				t.Fatalf("New: %v, want unreadable state ignored", err)
			}
			lim := c.(*Connector).lim
			if len(lim.log) != tc.wantLog {
				t.Errorf("restored %d requests, want %d", len(lim.log), tc.wantLog)
			}
			if got := strings.Contains(logs.String(), `"level":"warn"`); got != tc.warn {
				t.Errorf("warned %v, want %v; log: %s", got, tc.warn, logs.String())
			}
		})
	}
}

func testSettings(base string) connectors.Settings {
	return connectors.Settings{Name: "sa", Type: "secureaccess", BaseURL: base,
		Credentials: map[string]string{CredAPIKey: "k", CredAPISecret: "s"}}
}

// TestTokenLoad: a saved token is reused only by the same key and token
// endpoint, and only while it is good.
func TestTokenLoad(t *testing.T) {
	tok := func(owner string, renew time.Duration) []byte {
		b, _ := json.Marshal(savedToken{Version: 1, For: owner, AccessToken: "saved-token",
			Expiry: time.Now().Add(renew + time.Minute), RenewAt: time.Now().Add(renew)})
		return b
	}
	base := "http://127.0.0.1:1" + secureaccesssim.BasePath
	owner := tokenOwner("http://127.0.0.1:1"+secureaccesssim.TokenPath, "k")
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"valid", tok(owner, time.Hour), true},
		{"other key", tok(tokenOwner("http://127.0.0.1:1"+secureaccesssim.TokenPath, "other"), time.Hour), false},
		{"due for renewal", tok(owner, -time.Second), false},
		{"garbage", []byte("{"), false},
		{"other version", []byte(`{"v":2,"access_token":"x"}`), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs testkit.LogBuffer
			st := &memState{m: map[string][]byte{stateToken: tc.b}}
			c, err := New(testSettings(base), connectors.Deps{Log: zerolog.New(&logs), State: st})
			if err != nil {
				t.Fatal(err)
			}
			got := c.(*Connector).tokens.tok != nil
			if got != tc.want {
				t.Errorf("token reused: %v, want %v", got, tc.want)
			}
			if strings.Contains(logs.String(), "saved-token") {
				t.Errorf("log reveals the token: %s", logs.String())
			}
		})
	}
}

// TestRestart: a connector restarted over the same state store, against
// the same simulator, draws no 429 and fetches no second token, whether
// or not its predecessor saw its last answer.
func TestRestart(t *testing.T) {
	const scale = 0.01 // a minute is 600ms, a second 10ms
	tests := []struct {
		name       string
		state      string // mem, bolt, none
		lose       bool   // the predecessor's last PUT reaches the target, its answer never comes back
		want429    bool
		wantTokens int
	}{
		{"answered", "mem", false, false, 1},
		{"last answer lost", "mem", true, false, 1},
		{"bbolt store", "bolt", true, false, 1},
		// Without state the successor sends into the full window.
		{"no state", "none", false, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var st connectors.StateStore
			switch tc.state {
			case "mem":
				st = &memState{}
			case "bolt":
				db, err := store.Open(filepath.Join(t.TempDir(), "bridge.db"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				st = db.State("sa")
			}
			sim := secureaccesssim.New(secureaccesssim.Options{RateScale: scale})
			const first = 14 // fills the minute window
			var puts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.lose && r.Method == http.MethodPut && puts.Add(1) == first {
					sim.ServeHTTP(httptest.NewRecorder(), r) // counted and stored
					<-r.Context().Done()                     // the answer never arrives
					return
				}
				sim.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			var logs testkit.LogBuffer
			start := func() *Connector {
				s := testSettings(srv.URL + sim.BasePath())
				s.Credentials = sim.Credentials()
				s.Options = map[string]string{OptRateScale: fmt.Sprint(scale), OptTimeout: "300ms"}
				c, err := New(s, connectors.Deps{HTTPClient: srv.Client(), Log: zerolog.New(&logs), State: st})
				if err != nil {
					t.Fatal(err)
				}
				// Count only PUTs: the adoption index starts known-empty.
				c.(*Connector).adopt.idx = newRegIndex()
				return c.(*Connector)
			}
			c := start()
			for i := range first {
				r := apply(t, c, userChange(i, true))[0]
				if r.Err != nil && !(tc.lose && i == first-1) {
					t.Fatalf("change %d: %v", i, r.Err)
				}
			}
			c.tokens.mu.Lock()
			token := c.tokens.tok.AccessToken
			c.tokens.mu.Unlock()
			c = start() // the predecessor is never used again: as good as killed
			var failed int
			for i := range 3 {
				if r := apply(t, c, userChange(first+i, true))[0]; r.Err != nil {
					failed++
				}
			}
			st429 := sim.Stats()
			if got := st429.RateLimited > 0; got != tc.want429 {
				t.Errorf("%d requests drew a 429 (%d changes failed), want 429s: %v", st429.RateLimited, failed, tc.want429)
			}
			if !tc.want429 && failed > 0 {
				t.Errorf("%d changes failed after the restart", failed)
			}
			if st429.Tokens != tc.wantTokens {
				t.Errorf("%d token requests, want %d", st429.Tokens, tc.wantTokens)
			}
			if strings.Contains(logs.String(), token) {
				t.Error("log reveals the access token")
			}
		})
	}
}

func FuzzDecodeLimiter(f *testing.F) {
	f.Add(encodeLimiter(savedLimiter{}))
	f.Add(encodeLimiter(savedLimiter{hold: t0, pending: 2, log: []time.Time{t0, t0.Add(time.Second), t0.Add(time.Minute)}}))
	f.Add([]byte("sal1\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeLimiter(b)
		if err != nil {
			return
		}
		if !slices.IsSortedFunc(s.log, time.Time.Compare) {
			t.Fatalf("decoded log not sorted: %v", s.log)
		}
		again, err := decodeLimiter(encodeLimiter(s))
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if !again.hold.Equal(s.hold) || again.pending != s.pending || !slices.EqualFunc(again.log, s.log, time.Time.Equal) {
			t.Fatalf("round trip: %+v != %+v", again, s)
		}
	})
}

// TestEncodeLimiterRounds: stamps round up to the millisecond, so a
// restored stamp is never earlier than the one saved, and stay compact.
func TestEncodeLimiterRounds(t *testing.T) {
	var log []time.Time
	for i := range 350 {
		log = append(log, t0.Add(time.Duration(i)*5*time.Second+time.Microsecond))
	}
	b := encodeLimiter(savedLimiter{log: log})
	s, err := decodeLimiter(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, at := range s.log {
		if at.Before(log[i]) || at.Sub(log[i]) >= time.Millisecond {
			t.Fatalf("entry %d: %v restored as %v", i, log[i], at)
		}
	}
	if len(b) > 2*len(log)+16 {
		t.Errorf("350 entries take %d bytes", len(b))
	}
}

// BenchmarkLimiterSave is the cost a request pays to be saved before it
// is sent: encoding a full 30-minute log (350 entries) and one bbolt Put.
func BenchmarkLimiterSave(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "bridge.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	c := &clock{now: t0}
	l := c.limiter(defaultWindows, db.State("sa"))
	for i := range 350 {
		l.log = append(l.log, t0.Add(time.Duration(i)*5*time.Second))
	}
	c.now = l.log[len(l.log)-1]
	b.ReportAllocs()
	for b.Loop() {
		l.mu.Lock()
		l.seq++
		seq := l.seq
		l.mu.Unlock()
		if err := l.persist(seq); err != nil {
			b.Fatal(err)
		}
	}
	state, _ := db.State("sa").Get(stateLimiter)
	b.ReportMetric(float64(len(state)), "state-bytes")
}
