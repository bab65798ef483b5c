package secureaccess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
	"github.com/scimbridge/scimbridge/internal/testkit"
)

// getRecorder keeps the shape of every GET the simulator receives.
type getRecorder struct {
	mu   sync.Mutex
	reqs []string
}

func (g *getRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			b, _ := io.ReadAll(r.Body)
			auth := r.Header.Get("Authorization")
			if tok, ok := strings.CutPrefix(auth, "Bearer "); ok && tok != "" {
				auth = "Bearer <token>"
			}
			ctype := r.Header.Get("Content-Type")
			if ctype == "" {
				ctype = "(none)"
			}
			g.mu.Lock()
			g.reqs = append(g.reqs, fmt.Sprintf("%s %s\nAccept: %s\nAuthorization: %s\nContent-Type: %s\nbody: %d bytes\n",
				r.Method, r.URL.RequestURI(), r.Header.Get("Accept"), auth, ctype, len(b)))
			g.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (g *getRecorder) n() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reqs)
}

// populate registers users 0..n-1 (every tenth inactive) and returns the
// target ids Apply answered, in order.
func populate(t testing.TB, c *Connector, n int) []string {
	t.Helper()
	var batch []connectors.Change
	for i := range n {
		batch = append(batch, userChange(i, i%10 != 0))
	}
	var ids []string
	for len(batch) > 0 {
		k := min(len(batch), MaxBatch)
		for i, r := range apply(t, c, batch[:k]...) {
			if r.Err != nil || r.TargetID == "" {
				t.Fatalf("change %d: %+v", len(ids)+i, r)
			}
			ids = append(ids, r.TargetID)
		}
		batch = batch[k:]
	}
	return ids
}

func listAll(c *Connector, typ string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ids []string
	err := c.List(ctx, typ, func(id string) error {
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// TestList: 600 registrations come back in three GETs of 250, as exactly
// the ids Apply answered, inactive ones included.
func TestList(t *testing.T) {
	rec := &getRecorder{}
	e := newEnv(t, secureaccesssim.Options{}, rec.wrap, nil)
	want := populate(t, e.c, 600)
	got, err := listAll(e.c, connectors.User)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %d ids, want the %d Apply answered (first %q, want %q)", len(got), len(want), first(got), first(want))
	}
	inactive := 0
	for _, r := range e.sim.Registrations(secureaccesssim.Device) {
		if r.Status == "inactive" {
			inactive++
		}
	}
	if inactive != 60 {
		t.Errorf("%d inactive registrations in the target, want 60 (all listed)", inactive)
	}
	if rec.n() != 3 {
		t.Fatalf("%d GETs, want 3", rec.n())
	}
	testkit.Golden(t, "list_requests.txt", []byte(strings.Join(rec.reqs, "\n")))
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// TestListNothing: groups, an empty target, and a stop by fn.
func TestListNothing(t *testing.T) {
	t.Run("groups", func(t *testing.T) {
		e := newEnv(t, secureaccesssim.Options{}, nil, nil)
		populate(t, e.c, 3)
		calls := e.sim.Stats()
		ids, err := listAll(e.c, connectors.Group)
		if err != nil || len(ids) != 0 {
			t.Errorf("groups: %v, %v; want nothing", ids, err)
		}
		if e.sim.Stats() != calls {
			t.Errorf("listing groups sent requests: %+v, before %+v", e.sim.Stats(), calls)
		}
	})
	t.Run("unknown type", func(t *testing.T) {
		e := newEnv(t, secureaccesssim.Options{}, nil, nil)
		_, err := listAll(e.c, "Device")
		if err == nil || connectors.ClassOf(err) != connectors.Permanent || err.Error() != `permanent: secureaccess lists User and Group, not "Device"` {
			t.Errorf("unknown type: %v, want a permanent error", err)
		}
		if st := e.sim.Stats(); st.Calls != 0 || st.Tokens != 0 {
			t.Errorf("stats %+v, want no requests", st)
		}
	})
	t.Run("empty target", func(t *testing.T) {
		e := newEnv(t, secureaccesssim.Options{}, nil, nil)
		ids, err := listAll(e.c, connectors.User)
		if err != nil || len(ids) != 0 {
			t.Errorf("empty target: %v, %v", ids, err)
		}
		if n := e.sim.Calls(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("fn stops it", func(t *testing.T) {
		e := newEnv(t, secureaccesssim.Options{}, nil, nil)
		populate(t, e.c, 300)
		calls := e.sim.Calls()
		stop := errors.New("enough")
		n := 0
		err := e.c.List(context.Background(), connectors.User, func(string) error {
			if n++; n == 10 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 10 {
			t.Errorf("fn's error: %v after %d ids, want it returned after 10", err, n)
		}
		if d := e.sim.Calls() - calls; d != 1 {
			t.Errorf("%d GETs, want 1", d)
		}
	})
}

// TestListRateLimit: a listing and deliveries running together share the
// connector's limiter: more requests than the minute window holds, no 429,
// and every GET is in the limiter's log.
func TestListRateLimit(t *testing.T) {
	// Scaled so the 30-minute window (18 s) outlasts the run: the limiter
	// keeps only that window in its log, which the last check compares.
	e := newEnv(t, secureaccesssim.Options{RateScale: 0.01}, nil, nil) // 5 per 10ms, 14 per 600ms, 350 per 18s
	const pages = 15                                                   // more than a minute's 14
	want := populate(t, e.c, pages*MaxBatch-10)
	var (
		wg     sync.WaitGroup
		got    []string
		err    error
		failed []error
		mu     sync.Mutex
	)
	wg.Go(func() { got, err = listAll(e.c, connectors.User) })
	for i := range 10 {
		wg.Go(func() {
			if r := apply(t, e.c, userChange(pages*MaxBatch+i, true))[0]; r.Err != nil {
				mu.Lock()
				failed = append(failed, r.Err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) > 0 {
		t.Errorf("deliveries during the listing failed: %v", failed)
	}
	// Users created while listing may or may not be listed; the others are.
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Fatalf("%s missing from the listing (%d listed)", id, len(got))
		}
	}
	st := e.sim.Stats()
	if st.RateLimited != 0 {
		t.Errorf("%d requests drew a 429", st.RateLimited)
	}
	if st.Calls < pages+pages+1 {
		t.Errorf("%d requests, want at least %d PUTs and %d GETs", st.Calls, pages, pages)
	}
	lim := e.c.lim
	lim.mu.Lock()
	logged, pending := len(lim.log), len(lim.pending)
	lim.mu.Unlock()
	if logged != st.Calls || pending != 0 {
		t.Errorf("limiter logged %d requests (%d pending), the target served %d", logged, pending, st.Calls)
	}
}

// TestListRestart: the GETs of a listing are saved with the limiter's
// log, so a restarted connector does not send into a window they filled.
func TestListRestart(t *testing.T) {
	const scale = 0.01 // a minute is 600ms
	for _, withState := range []bool{true, false} {
		t.Run(fmt.Sprint("state=", withState), func(t *testing.T) {
			sim := secureaccesssim.New(secureaccesssim.Options{RateScale: scale})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			st := &memState{}
			start := func() *Connector {
				s := testSettings(srv.URL + sim.BasePath())
				s.Credentials = sim.Credentials()
				s.Options = map[string]string{OptRateScale: fmt.Sprint(scale)}
				d := connectors.Deps{HTTPClient: srv.Client(), Log: zerolog.Nop()}
				if withState {
					d.State = st
				}
				c, err := New(s, d)
				if err != nil {
					t.Fatal(err)
				}
				return c.(*Connector)
			}
			c := start()
			for range 14 { // fills the minute window with GETs
				if _, err := listAll(c, connectors.User); err != nil {
					t.Fatal(err)
				}
			}
			c = start()
			_, err := listAll(c, connectors.User)
			if got := sim.Stats().RateLimited > 0; got == withState {
				t.Errorf("after a restart with state %v: %d 429s (list: %v)", withState, sim.Stats().RateLimited, err)
			}
			if withState && err != nil {
				t.Errorf("list after the restart: %v", err)
			}
		})
	}
}

// TestListErrors: a failed page surfaces classified, with the target's
// message (secrets redacted) and the offset it was at.
func TestListErrors(t *testing.T) {
	echo := func(status int) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && r.URL.Query().Get("offset") == "250" {
					w.WriteHeader(status)
					_, _ = w.Write([]byte("rejected " + r.Header.Get("Authorization")))
					return
				}
				h.ServeHTTP(w, r)
			})
		}
	}
	tests := []struct {
		name    string
		fault   connectortest.Fault // injected once the first page is in
		wrap    func(http.Handler) http.Handler
		class   connectors.Class
		status  int
		msg     string
		retryAt bool
	}{
		{"5xx", connectortest.Fault5xx, nil, connectors.Transient, 500, "Internal server error.", false},
		{"429", connectortest.Fault429, nil, connectors.Transient, 429, "Too Many Requests", true},
		{"400", connectortest.FaultPermanent, nil, connectors.Permanent, 400, "Bad Request", false},
		{"token echoed", 0, echo(http.StatusForbidden), connectors.Permanent, 403, "rejected Bearer [redacted]", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, secureaccesssim.Options{}, tc.wrap, nil)
			populate(t, e.c, 600)
			n := 0
			err := e.c.List(context.Background(), connectors.User, func(string) error {
				if n++; n == 1 && tc.fault != 0 {
					e.sim.FailNext(tc.fault, 1) // the second page's GET
				}
				return nil
			})
			var ce *connectors.Error
			if !errors.As(err, &ce) || ce.Class != tc.class || ce.Status != tc.status || !strings.Contains(ce.Msg, tc.msg) {
				t.Fatalf("error %v, want %v %d with %q", err, tc.class, tc.status, tc.msg)
			}
			if !strings.Contains(ce.Msg, "offset 250") {
				t.Errorf("error %q does not say which page", ce.Msg)
			}
			if n != 250 {
				t.Errorf("%d ids before the failure, want the first page's 250", n)
			}
			if (ce.RetryAfter > 0) != tc.retryAt {
				t.Errorf("retry after %v", ce.RetryAfter)
			}
			tok, _ := e.c.tokens.get(context.Background())
			if strings.Contains(err.Error(), tok) {
				t.Errorf("error reveals the token: %v", err)
			}
			if tc.retryAt {
				e.c.lim.mu.Lock()
				hold := e.c.lim.hold
				e.c.lim.mu.Unlock()
				if !hold.After(time.Now().Add(-time.Second)) {
					t.Error("a 429 on a GET did not hold the limiter")
				}
			}
		})
	}
	t.Run("401 twice", func(t *testing.T) {
		e := newEnv(t, secureaccesssim.Options{}, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != secureaccesssim.TokenPath {
					r.Header.Set("Authorization", "Bearer revoked")
				}
				h.ServeHTTP(w, r)
			})
		}, nil)
		_, err := listAll(e.c, connectors.User)
		if connectors.ClassOf(err) != connectors.Permanent || err == nil {
			t.Fatalf("401 after a fresh token: %v, want permanent", err)
		}
		if st := e.sim.Stats(); st.Calls != 2 || st.Tokens != 2 {
			t.Errorf("stats %+v, want 2 calls and 2 tokens", st)
		}
	})
}

// fakePages answers GETs with pages made by fn (offset -> body) and
// passes the rest (tokens) to the simulator.
func fakePages(fn func(offset int) any) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				h.ServeHTTP(w, r)
				return
			}
			var off int
			fmt.Sscan(r.URL.Query().Get("offset"), &off)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(fn(off))
		})
	}
}

func regs(from, n int) []map[string]any {
	out := []map[string]any{}
	for i := from; i < from+n; i++ {
		out = append(out, map[string]any{"key": Key(fmt.Sprint("id-", i)), "label": "L", "status": "active", "authName": "a"})
	}
	return out
}

// TestListGuards: a target that pages wrongly fails the listing rather
// than looping or passing a part off as the whole.
func TestListGuards(t *testing.T) {
	tests := []struct {
		name    string
		page    func(offset int) any
		want    int    // ids listed
		wantErr string // "" = success
		gets    int
	}{
		{"ignores offset, echoes it", func(int) any {
			return map[string]any{"total": 600, "limit": 250, "offset": 0, "data": regs(0, 250)}
		}, 250, "answered offset 0", 2},
		{"ignores offset, no echo", func(int) any {
			return map[string]any{"total": 600, "data": regs(0, 250)}
		}, 250, "repeats registrations", 2},
		{"same page, no total", func(int) any {
			return map[string]any{"data": regs(0, 250)}
		}, 250, "not advancing", 2},
		{"empty before the total", func(off int) any {
			if off >= 250 {
				return map[string]any{"total": 600, "limit": 250, "offset": off, "data": []any{}}
			}
			return map[string]any{"total": 600, "limit": 250, "offset": off, "data": regs(0, 250)}
		}, 250, "empty page at offset 250 of a total of 600", 2},
		{"no total: a short page ends it", func(off int) any {
			return map[string]any{"offset": off, "data": regs(off, min(250, 300-off))}
		}, 300, "", 2},
		{"no total, a multiple of 250: an empty page ends it", func(off int) any {
			return map[string]any{"data": regs(off, max(0, min(250, 500-off)))}
		}, 500, "", 3},
		{"a registration without a key", func(off int) any { // fails, as in every connector, after the ids before it
			return map[string]any{"total": 3, "data": append(regs(0, 2), map[string]any{"label": "L", "status": "active"})}
		}, 2, "list registrations: the answer lists an object without an id", 1},
		{"target caps the limit at 100", func(off int) any {
			return map[string]any{"limit": 100, "offset": off, "data": regs(off, max(0, min(100, 230-off)))}
		}, 230, "", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &getRecorder{}
			e := newEnv(t, secureaccesssim.Options{}, func(h http.Handler) http.Handler { return rec.wrap(fakePages(tc.page)(h)) }, nil)
			ids, err := listAll(e.c, connectors.User)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			case strings.Contains(tc.wantErr, "without an id") && connectors.ClassOf(err) != connectors.Permanent:
				t.Errorf("error %v, want it permanent", err)
			}
			if len(ids) != tc.want {
				t.Errorf("%d ids, want %d", len(ids), tc.want)
			}
			if rec.n() != tc.gets {
				t.Errorf("%d GETs, want %d", rec.n(), tc.gets)
			}
		})
	}
}
