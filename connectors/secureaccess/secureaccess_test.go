package secureaccess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/mapping"
)

// testScale shrinks the rate windows 1000-fold (a minute is 60ms), for
// both the simulator and the connector.
const testScale = 0.001

type env struct {
	c   *Connector
	sim *secureaccesssim.Server
	srv *httptest.Server
}

// newEnv wires a connector to a fresh simulator behind httptest. wrap, if
// set, wraps the simulator's handler (to record or hold requests).
func newEnv(t testing.TB, opts secureaccesssim.Options, wrap func(http.Handler) http.Handler, edit func(*connectors.Settings)) *env {
	t.Helper()
	if opts.RateScale == 0 {
		opts.RateScale = testScale
	}
	sim := secureaccesssim.New(opts)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := connectors.Settings{
		Name:        "sa",
		Type:        "secureaccess",
		BaseURL:     srv.URL + sim.BasePath(),
		Credentials: sim.Credentials(),
		Options:     map[string]string{OptRateScale: fmt.Sprint(opts.RateScale)},
	}
	if edit != nil {
		edit(&s)
	}
	c, err := New(s, connectors.Deps{HTTPClient: srv.Client(), Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	// The simulator starts empty, and these tests count calls: the
	// adoption index starts known-empty rather than listed (adopt_test.go
	// covers the listing).
	c.(*Connector).adopt.idx = newRegIndex()
	return &env{c: c.(*Connector), sim: sim, srv: srv}
}

// fields are what the default mapping makes of a user.
func fields(userName, label string, active bool) map[string]any {
	return map[string]any{fieldAuthName: userName, fieldLabel: label, fieldActive: active}
}

func userChange(n int, active bool) connectors.Change {
	return connectors.Change{Type: connectors.User, ID: fmt.Sprintf("id-%d", n), Op: connectors.OpUpsert,
		Fields: fields(fmt.Sprintf("user%d@example.com", n), fmt.Sprintf("User %d", n), active)}
}

func apply(t testing.TB, c *Connector, batch ...connectors.Change) []connectors.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.Limits().Timeout)
	defer cancel()
	res := c.Apply(ctx, batch)
	if len(res) != len(batch) {
		t.Fatalf("%d results for %d changes", len(res), len(batch))
	}
	return res
}

func TestNewSettings(t *testing.T) {
	base := func() connectors.Settings {
		return connectors.Settings{Name: "sa", BaseURL: "https://api.example.com/deployments/v2",
			Credentials: map[string]string{CredAPIKey: "key-123", CredAPISecret: "secret-456"}}
	}
	tests := []struct {
		name    string
		edit    func(*connectors.Settings)
		wantErr string // "" = ok
	}{
		{"ok", func(*connectors.Settings) {}, ""},
		{"default base URL", func(s *connectors.Settings) { s.BaseURL = "" }, ""},
		{"no api_key", func(s *connectors.Settings) { delete(s.Credentials, CredAPIKey) }, "credentials.api_key is required"},
		{"no api_secret", func(s *connectors.Settings) { delete(s.Credentials, CredAPISecret) }, "credentials.api_secret is required"},
		{"base URL not http", func(s *connectors.Settings) { s.BaseURL = "ftp://x/deployments/v2" }, "base_url"},
		{"base URL elsewhere without token_url", func(s *connectors.Settings) { s.BaseURL = "https://proxy.example.com/sa" }, "options.token_url is required"},
		{"base URL elsewhere with token_url", func(s *connectors.Settings) {
			s.BaseURL = "https://proxy.example.com/sa"
			s.Options = map[string]string{OptTokenURL: "https://proxy.example.com/token"}
		}, ""},
		{"bad rate_scale", func(s *connectors.Settings) { s.Options = map[string]string{OptRateScale: "-1"} }, "rate_scale"},
		{"on_delete delete", func(s *connectors.Settings) { s.OnDelete = "delete" }, "on_delete"},
		{"on_delete deactivate", func(s *connectors.Settings) { s.OnDelete = "deactivate" }, ""},
		{"batch too big", func(s *connectors.Settings) { s.BatchSize = 251 }, "batch_size"},
		{"unknown mapped field", func(s *connectors.Settings) { s.Mapping.User = map[string]string{"email": "userName"} }, "mapping.user.email"},
		{"optional mapped field", func(s *connectors.Settings) { s.Mapping.User = map[string]string{"domainName": `"corp"`} }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(&s)
			c, err := New(s, connectors.Deps{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if l := c.Limits(); l.BatchSize != 250 || l.Rate <= 0 || l.Burst != 14 || l.Timeout <= 0 {
					t.Errorf("limits %+v", l)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "secret-456") || strings.Contains(err.Error(), "key-123") {
				t.Errorf("error reveals a credential: %v", err)
			}
		})
	}
}

func TestTokenURL(t *testing.T) {
	c, err := New(connectors.Settings{BaseURL: "http://127.0.0.1:9/prefix/deployments/v2/",
		Credentials: map[string]string{CredAPIKey: "k", CredAPISecret: "s"}}, connectors.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	sa := c.(*Connector)
	if got := sa.tokens.cfg.TokenURL; got != "http://127.0.0.1:9/prefix/auth/v2/token" {
		t.Errorf("token URL %q", got)
	}
	if sa.regURL != "http://127.0.0.1:9/prefix/deployments/v2/identities/registrations/device" {
		t.Errorf("registrations URL %q", sa.regURL)
	}
}

// TestPrepare covers how changes become registrations, without a server.
func TestPrepare(t *testing.T) {
	key := Key("id-1")
	tests := []struct {
		name  string
		ch    connectors.Change
		send  bool
		want  item
		class connectors.Class // of the result's error when not sent, -1 for none
	}{
		{"create", connectors.Change{Type: "User", ID: "id-1", Op: connectors.OpUpsert, Fields: fields("a@x", "A", true)},
			true, item{Key: key, Label: "A", Status: "active", AuthName: "a@x"}, -1},
		{"label falls back to authName", connectors.Change{Type: "User", ID: "id-1", Op: connectors.OpUpsert, Fields: map[string]any{"authName": " a@x "}},
			true, item{Key: key, Label: "a@x", Status: "active", AuthName: "a@x"}, -1},
		{"inactive", connectors.Change{Type: "User", ID: "id-1", Op: connectors.OpUpsert, Fields: fields("a@x", "A", false)},
			true, item{Key: key, Label: "A", Status: "inactive", AuthName: "a@x"}, -1},
		{"string False", connectors.Change{Type: "User", ID: "id-1", Op: connectors.OpUpsert, Fields: map[string]any{"authName": "a@x", "active": "False"}},
			true, item{Key: key, Label: "a@x", Status: "inactive", AuthName: "a@x"}, -1},
		{"optional fields", connectors.Change{Type: "User", ID: "id-1", Op: connectors.OpUpsert, Fields: map[string]any{"authName": "a@x", "domainName": "corp", "samAccountName": "a"}},
			true, item{Key: key, Label: "a@x", Status: "active", AuthName: "a@x", DomainName: "corp", SamAccountName: "a"}, -1},
		{"target id kept", connectors.Change{Type: "User", ID: "id-1", TargetID: "kept", Op: connectors.OpUpsert, Fields: fields("a@x", "A", true)},
			true, item{Key: "kept", Label: "A", Status: "active", AuthName: "a@x"}, -1},
		{"update", connectors.Change{Type: "User", ID: "id-1", TargetID: key, Op: connectors.OpUpsert, Prev: fields("a@x", "A", true), Fields: fields("a@x", "B", true)},
			true, item{Key: key, Label: "B", Status: "active", AuthName: "a@x"}, -1},
		{"unchanged: no call", connectors.Change{Type: "User", ID: "id-1", TargetID: key, Op: connectors.OpUpsert, Prev: fields("a@x", "A", true), Fields: fields("a@x", "A", true)},
			false, item{}, -1},
		{"delete", connectors.Change{Type: "User", ID: "id-1", TargetID: key, Op: connectors.OpDelete, Prev: fields("a@x", "A", true)},
			true, item{Key: key, Label: "A", Status: "inactive", AuthName: "a@x"}, -1},
		{"left scope", connectors.Change{Type: "User", ID: "id-1", TargetID: key, Op: connectors.OpDelete, LeftScope: true, Prev: fields("a@x", "A", true)},
			true, item{Key: key, Label: "A", Status: "inactive", AuthName: "a@x"}, -1},
		{"delete never sent: no call", connectors.Change{Type: "User", ID: "id-1", Op: connectors.OpDelete, Prev: fields("a@x", "A", true)},
			false, item{}, -1},
		{"no authName", connectors.Change{Type: "User", ID: "id-1", Op: connectors.OpUpsert, Fields: map[string]any{"label": "x"}},
			false, item{}, connectors.Permanent},
		{"group", connectors.Change{Type: "Group", ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{"displayName": "G"}},
			false, item{}, connectors.Unsupported},
		{"group delete", connectors.Change{Type: "Group", ID: "g", Op: connectors.OpDelete},
			false, item{}, connectors.Unsupported},
	}
	c := &Connector{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, send, r := c.prepare(tc.ch)
			if send != tc.send {
				t.Fatalf("send = %v, want %v (result %+v)", send, tc.send, r)
			}
			if send {
				if it != tc.want {
					t.Errorf("item %+v, want %+v", it, tc.want)
				}
				return
			}
			if r == nil {
				t.Fatal("no result for a change that is not sent")
			}
			if tc.class < 0 {
				if r.Err != nil {
					t.Errorf("unexpected error %v", r.Err)
				}
				return
			}
			if got := connectors.ClassOf(r.Err); r.Err == nil || got != tc.class {
				t.Errorf("error %v (class %v), want class %v", r.Err, got, tc.class)
			}
		})
	}
}

func TestKeyStable(t *testing.T) {
	// A changed key would duplicate every registration: pin it.
	if got := Key("2819c223-7f76-453a-919d-413861904646"); got != Key("2819c223-7f76-453a-919d-413861904646") || len(got) != 36 || got[14] != '5' {
		t.Errorf("key %q is not a stable UUIDv5", got)
	}
	if Key("a") == Key("b") {
		t.Error("different ids, same key")
	}
}

// recorder keeps every PUT body the simulator receives.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPut {
			b, _ := io.ReadAll(req.Body)
			r.mu.Lock()
			r.bodies = append(r.bodies, b)
			r.mu.Unlock()
			req.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		h.ServeHTTP(w, req)
	})
}

func (r *recorder) puts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// TestPutBody pins the exact JSON of a PUT: one item per user, in order,
// only the contract's fields, optional ones omitted.
func TestPutBody(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, secureaccesssim.Options{}, rec.wrap, nil)
	key2 := Key("id-2")
	batch := []connectors.Change{
		userChange(1, true),
		{Type: "User", ID: "id-2", TargetID: key2, Op: connectors.OpDelete, Prev: fields("user2@example.com", "User 2", true)},
		{Type: "User", ID: "id-3", Op: connectors.OpUpsert, Fields: map[string]any{"authName": "user3@example.com", "active": false, "domainName": "corp"}},
		{Type: "Group", ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{"displayName": "G"}},
	}
	res := apply(t, e.c, batch...)
	for i, r := range res[:3] {
		if r.Err != nil || r.TargetID != Key(batch[i].ID) {
			t.Errorf("change %d: %+v", i, r)
		}
	}
	if connectors.ClassOf(res[3].Err) != connectors.Unsupported {
		t.Errorf("group: %v, want Unsupported", res[3].Err)
	}
	if rec.puts() != 1 {
		t.Fatalf("%d PUTs, want 1", rec.puts())
	}
	testkit.Golden(t, "put_batch.json", rec.bodies[0])
}

// TestBatching: many concurrent Apply calls with small batches share PUTs.
func TestBatching(t *testing.T) {
	rec := &recorder{}
	release := make(chan struct{})
	var first atomic.Bool
	hold := func(h http.Handler) http.Handler {
		return rec.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Hold the first PUT until every Apply call has queued its changes.
			if r.Method == http.MethodPut && first.CompareAndSwap(false, true) {
				<-release
			}
			h.ServeHTTP(w, r)
		}))
	}
	e := newEnv(t, secureaccesssim.Options{}, hold, nil)
	const calls, per = 10, 50
	var wg sync.WaitGroup
	results := make([][]connectors.Result, calls)
	for i := range calls {
		wg.Go(func() {
			var b []connectors.Change
			for j := range per {
				b = append(b, userChange(i*per+j, true))
			}
			results[i] = apply(t, e.c, b...)
		})
	}
	for {
		time.Sleep(time.Millisecond)
		held := 0
		rec.mu.Lock()
		if len(rec.bodies) == 1 {
			var its []item
			_ = json.Unmarshal(rec.bodies[0], &its)
			held = len(its)
		}
		rec.mu.Unlock()
		e.c.mu.Lock()
		queued := len(e.c.queue)
		e.c.mu.Unlock()
		if queued+held == calls*per {
			break
		}
	}
	close(release)
	wg.Wait()
	for i, rs := range results {
		for j, r := range rs {
			if r.Err != nil {
				t.Fatalf("call %d change %d: %v", i, j, r.Err)
			}
		}
	}
	if got := len(e.sim.Users()); got != calls*per {
		t.Errorf("%d registrations, want %d", got, calls*per)
	}
	// The first PUT took what was queued then; the other 500-x fill PUTs of 250.
	if n := rec.puts(); n < 2 || n > 3 {
		t.Errorf("%d PUTs for %d changes in %d Apply calls, want 2 or 3", n, calls*per, calls)
	}
	for i, b := range rec.bodies {
		var its []item
		if err := json.Unmarshal(b, &its); err != nil || len(its) > MaxBatch {
			t.Errorf("PUT %d: %d items, %v", i, len(its), err)
		}
	}
}

// TestSplit: a PUT the target rejects is split to find the bad items; the
// rest land.
func TestSplit(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		bad     map[int]bool
		maxPuts int
	}{
		{"one bad of 250", 250, map[int]bool{137: true}, 1 + 2*8},
		{"first of 2", 2, map[int]bool{0: true}, 3},
		{"two bad of 100", 100, map[int]bool{3: true, 90: true}, 1 + 4*7},
		{"single", 1, map[int]bool{0: true}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			reject := func(_ string, r secureaccesssim.Registration) bool {
				var i int
				fmt.Sscanf(r.AuthName, "user%d@", &i)
				return tc.bad[i]
			}
			e := newEnv(t, secureaccesssim.Options{Reject: reject}, rec.wrap, nil)
			var batch []connectors.Change
			for i := range tc.n {
				batch = append(batch, userChange(i, true))
			}
			for i, r := range apply(t, e.c, batch...) {
				switch {
				case tc.bad[i]:
					var ce *connectors.Error
					if !errors.As(r.Err, &ce) || ce.Class != connectors.Permanent || ce.Status != 400 || !strings.Contains(ce.Msg, "Bad Request") {
						t.Errorf("bad change %d: %v, want permanent 400 Bad Request", i, r.Err)
					}
				case r.Err != nil:
					t.Errorf("good change %d: %v", i, r.Err)
				}
			}
			if got := len(e.sim.Users()); got != tc.n-len(tc.bad) {
				t.Errorf("%d registrations, want %d", got, tc.n-len(tc.bad))
			}
			if n := rec.puts(); n > tc.maxPuts {
				t.Errorf("%d PUTs, want at most %d", n, tc.maxPuts)
			}
		})
	}
}

// TestSplitBudget: a target that rejects everything does not cost a PUT
// per item.
func TestSplitBudget(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, secureaccesssim.Options{Reject: func(string, secureaccesssim.Registration) bool { return true }}, rec.wrap, nil)
	var batch []connectors.Change
	for i := range 200 {
		batch = append(batch, userChange(i, true))
	}
	for i, r := range apply(t, e.c, batch...) {
		if connectors.ClassOf(r.Err) != connectors.Permanent || r.Err == nil {
			t.Fatalf("change %d: %v, want permanent", i, r.Err)
		}
	}
	if n := rec.puts(); n > 60 {
		t.Errorf("%d PUTs to reject 200 items, want the bisection budget to stop it", n)
	}
}

// TestRateWindows sends more single-change Apply calls than the second and
// minute windows allow: the connector must wait, never draw a 429. (Over
// loopback, requests are too slow for the scaled 30-minute window to bind
// in a short test; TestLimiterSchedule checks it on a fake clock.)
func TestRateWindows(t *testing.T) {
	tests := []struct {
		name  string
		scale float64
		n     int
	}{
		{"minute window", 0.002, 40}, // 5 per 2ms, 14 per 120ms
		{"second window", 0.02, 12},  // 5 per 20ms, 14 per 1.2s
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, secureaccesssim.Options{RateScale: tc.scale}, nil, nil)
			for i := range tc.n {
				if r := apply(t, e.c, userChange(i, true))[0]; r.Err != nil {
					t.Fatalf("change %d: %v", i, r.Err)
				}
			}
			st := e.sim.Stats()
			if st.RateLimited != 0 {
				t.Errorf("%d requests drew a 429", st.RateLimited)
			}
			if st.Puts != tc.n {
				t.Errorf("%d PUTs, want %d", st.Puts, tc.n)
			}
		})
	}
}

// TestBackoff429: a 429 without Retry-After is transient with a backoff,
// and holds the next request.
func TestBackoff429(t *testing.T) {
	e := newEnv(t, secureaccesssim.Options{}, nil, nil)
	e.sim.FailNext(connectortest.Fault429, 2)
	r := apply(t, e.c, userChange(1, true))[0]
	if connectors.ClassOf(r.Err) != connectors.Transient || connectors.RetryAfterOf(r.Err) <= 0 {
		t.Fatalf("429: %v (retry after %v), want transient with a backoff", r.Err, connectors.RetryAfterOf(r.Err))
	}
	lim := e.c.lim
	if ra := connectors.RetryAfterOf(r.Err); ra < lim.minBack*8/10 || ra > lim.minBack*12/10 {
		t.Errorf("first 429: retry after %v, want %v ±20%%", ra, lim.minBack)
	}
	apply(t, e.c, userChange(1, true))
	lim.mu.Lock()
	if lim.backoff != 2*lim.minBack {
		t.Errorf("second 429: backoff %v, want doubled to %v", lim.backoff, 2*lim.minBack)
	}
	lim.mu.Unlock()
	if r := apply(t, e.c, userChange(1, true))[0]; r.Err != nil {
		t.Fatalf("after the backoff: %v", r.Err)
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if lim.backoff != 0 {
		t.Errorf("backoff %v not reset by a success", lim.backoff)
	}
}

// TestTokenExpiry: a rejected token is replaced once, whatever the number
// of concurrent callers; bad credentials are permanent and not revealed.
func TestTokenExpiry(t *testing.T) {
	t.Run("renewed on 401", func(t *testing.T) {
		e := newEnv(t, secureaccesssim.Options{}, nil, nil)
		apply(t, e.c, userChange(1, true))
		e.sim.ExpireTokens()
		if r := apply(t, e.c, userChange(2, true))[0]; r.Err != nil {
			t.Fatal(r.Err)
		}
		if st := e.sim.Stats(); st.Tokens != 2 || st.Calls != 3 {
			t.Errorf("stats %+v, want 2 tokens and 3 calls (one 401)", st)
		}
	})
	t.Run("single flight", func(t *testing.T) {
		e := newEnv(t, secureaccesssim.Options{}, nil, nil)
		ctx := context.Background()
		old, err := e.c.tokens.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Go(func() { got[i], _ = e.c.tokens.refresh(ctx, old) })
		}
		wg.Wait()
		for _, g := range got {
			if g == old || g != got[0] {
				t.Fatalf("tokens after refresh %v (old %s)", got, old)
			}
		}
		if n := e.sim.Stats().Tokens; n != 2 {
			t.Errorf("%d token requests, want 2", n)
		}
	})
	t.Run("expiry ahead of time", func(t *testing.T) {
		now := time.Now()
		for _, tc := range []struct {
			life, margin time.Duration
		}{{time.Hour, 10 * time.Second}, {2 * time.Second, 200 * time.Millisecond}} {
			tok := &oauth2.Token{AccessToken: "t", Expiry: now.Add(tc.life)}
			if got := tok.Expiry.Sub(renewAt(tok, now)); got != tc.margin {
				t.Errorf("lifetime %v: renewed %v early, want %v", tc.life, got, tc.margin)
			}
		}
	})
	t.Run("bad credentials", func(t *testing.T) {
		e := newEnv(t, secureaccesssim.Options{}, nil, func(s *connectors.Settings) {
			s.Credentials = map[string]string{CredAPIKey: "sim-api-key", CredAPISecret: "wrong-secret-value"}
		})
		r := apply(t, e.c, userChange(1, true))[0]
		if connectors.ClassOf(r.Err) != connectors.Permanent || !strings.Contains(r.Err.Error(), "Authentication failed.") {
			t.Fatalf("bad secret: %v, want permanent with the target's message", r.Err)
		}
		if strings.Contains(r.Err.Error(), "wrong-secret-value") {
			t.Errorf("error reveals the secret: %v", r.Err)
		}
		if e.sim.Calls() != 0 {
			t.Errorf("%d resource calls without a token", e.sim.Calls())
		}
	})
	t.Run("OAuth error answered 200", func(t *testing.T) {
		// RFC 6749 §5.2 says 400; some servers answer 200 with the error.
		e := newEnv(t, secureaccesssim.Options{}, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == secureaccesssim.TokenPath {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"Client authentication failed."}`))
					return
				}
				h.ServeHTTP(w, r)
			})
		}, nil)
		r := apply(t, e.c, userChange(1, true))[0]
		if connectors.ClassOf(r.Err) != connectors.Permanent || !strings.Contains(r.Err.Error(), "Client authentication failed.") {
			t.Fatalf("error in a 200 token answer: %v, want permanent with the target's message", r.Err)
		}
		if e.sim.Calls() != 0 {
			t.Errorf("%d resource calls without a token", e.sim.Calls())
		}
	})
	t.Run("echoed secrets are redacted", func(t *testing.T) {
		// A gateway may echo the credential it was sent into its error.
		secret := ""
		e := newEnv(t, secureaccesssim.Options{}, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == secureaccesssim.TokenPath {
					_, pw, _ := r.BasicAuth()
					if pw == "" {
						pw = r.FormValue("client_secret")
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "bad secret " + pw})
					return
				}
				h.ServeHTTP(w, r)
			})
		}, func(s *connectors.Settings) { secret = s.Credentials[CredAPISecret] })
		r := apply(t, e.c, userChange(1, true))[0]
		if r.Err == nil || !strings.Contains(r.Err.Error(), "bad secret [redacted]") || strings.Contains(r.Err.Error(), secret) {
			t.Errorf("token endpoint echoing the secret: %v", r.Err)
		}

		e = newEnv(t, secureaccesssim.Options{}, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != secureaccesssim.TokenPath {
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte("rejected " + r.Header.Get("Authorization")))
					return
				}
				h.ServeHTTP(w, r)
			})
		}, nil)
		tok, err := e.c.tokens.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		r = apply(t, e.c, userChange(1, true))[0]
		if r.Err == nil || !strings.Contains(r.Err.Error(), "rejected Bearer [redacted]") || strings.Contains(r.Err.Error(), tok) {
			t.Errorf("target echoing the token: %v", r.Err)
		}
	})
	t.Run("second 401 is permanent", func(t *testing.T) {
		e := newEnv(t, secureaccesssim.Options{}, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != secureaccesssim.TokenPath {
					r.Header.Set("Authorization", "Bearer revoked")
				}
				h.ServeHTTP(w, r)
			})
		}, nil)
		r := apply(t, e.c, userChange(1, true))[0]
		if connectors.ClassOf(r.Err) != connectors.Permanent {
			t.Fatalf("401 twice: %v, want permanent", r.Err)
		}
		if st := e.sim.Stats(); st.Calls != 2 || st.Tokens != 2 {
			t.Errorf("stats %+v, want 2 calls and 2 tokens", st)
		}
	})
}

// TestDeleteLookup: a delete without previous fields looks the
// registration up to keep its authName and label.
func TestDeleteLookup(t *testing.T) {
	e := newEnv(t, secureaccesssim.Options{}, nil, nil)
	var batch []connectors.Change
	for i := range 300 { // two GET pages
		batch = append(batch, userChange(i, true))
	}
	apply(t, e.c, batch[:250]...)
	apply(t, e.c, batch[250:]...)
	calls := e.sim.Calls()
	res := apply(t, e.c,
		connectors.Change{Type: "User", ID: "id-280", TargetID: Key("id-280"), Op: connectors.OpDelete},
		connectors.Change{Type: "User", ID: "gone", TargetID: Key("gone"), Op: connectors.OpDelete},
	)
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("delete %d: %v", i, r.Err)
		}
	}
	regs := e.sim.Registrations(secureaccesssim.Device)
	got := regs[280]
	if got.Status != "inactive" || got.AuthName != "user280@example.com" || got.Label != "User 280" {
		t.Errorf("after delete: %+v", got)
	}
	if n := e.sim.Calls() - calls; n != 3 {
		t.Errorf("%d calls, want 3 (two pages, one PUT)", n)
	}
	if len(regs) != 300 {
		t.Errorf("%d registrations: the unknown delete created one", len(regs))
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		opts secureaccesssim.Options
		f    connectortest.Fault
	}{
		{"500", secureaccesssim.Options{}, connectortest.Fault5xx},
		{"429 Retry-After", secureaccesssim.Options{}, connectortest.Fault429RetryAfter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts, nil, nil)
			e.sim.FailNext(tc.f, 1)
			batch := []connectors.Change{userChange(1, true), userChange(2, true)}
			for i, r := range apply(t, e.c, batch...) {
				if connectors.ClassOf(r.Err) != connectors.Transient || r.Err == nil {
					t.Errorf("change %d: %v, want transient", i, r.Err)
				}
			}
			if tc.f == connectortest.Fault429RetryAfter {
				e.c.lim.mu.Lock()
				hold := e.c.lim.hold
				e.c.lim.mu.Unlock()
				if hold.Before(time.Now().Add(500 * time.Millisecond)) {
					t.Errorf("Retry-After: 1 did not hold the limiter")
				}
			}
		})
	}
}

// TestCancel: an Apply call whose context ends returns at once with
// transient errors, and its changes are not sent later.
func TestCancel(t *testing.T) {
	e := newEnv(t, secureaccesssim.Options{RateScale: 1000}, nil, nil) // a slot a second... scaled to 1000s
	apply(t, e.c, userChange(0, true))
	// Spend the per-second window so the next slot is far away.
	for i := 1; i < 5; i++ {
		apply(t, e.c, userChange(i, true))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	cancel()
	r := e.c.Apply(ctx, []connectors.Change{userChange(9, true)})[0]
	if connectors.ClassOf(r.Err) != connectors.Transient || r.Err == nil {
		t.Errorf("canceled: %v", r.Err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r = e.c.Apply(ctx, []connectors.Change{userChange(9, true)})[0]
	if ra := connectors.RetryAfterOf(r.Err); connectors.ClassOf(r.Err) != connectors.Transient || ra < time.Minute {
		t.Errorf("deadline before the slot: %v (retry after %v), want transient with the wait", r.Err, ra)
	}
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	if len(e.c.queue) != 0 {
		t.Errorf("%d abandoned entries still queued", len(e.c.queue))
	}
}

func mapUser(typ string, res map[string]any) (map[string]any, error) {
	if typ == connectors.Group {
		return map[string]any{"displayName": res["displayName"]}, nil
	}
	label, _ := res["displayName"].(string)
	if label == "" {
		label, _ = res["userName"].(string)
	}
	return map[string]any{fieldAuthName: res["userName"], fieldLabel: label, fieldActive: res["active"]}, nil
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Instance {
		e := newEnv(t, secureaccesssim.Options{}, nil, nil)
		return connectortest.Instance{
			Connector: e.c,
			Sim:       e.sim,
			Mapping:   Registration.DefaultMapping,
			Map:       mapUser,
			Support:   connectortest.Support{},
		}
	})
}

func TestRegistration(t *testing.T) {
	if Registration.Type != "secureaccess" || Registration.DefaultOnDelete != "deactivate" {
		t.Errorf("registration %+v", Registration)
	}
	var _ mapping.Spec = Registration.DefaultMapping
	for f := range Registration.DefaultMapping.User {
		if _, err := newItem("k", map[string]any{fieldAuthName: "a"}, true); err != nil || !contains(knownFields, f) {
			t.Errorf("default mapping field %q is not a registration field", f)
		}
	}
	sim := Registration.NewSimulator()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := New(connectors.Settings{BaseURL: srv.URL + sim.BasePath(), Credentials: sim.Credentials()}, connectors.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Apply(context.Background(), []connectors.Change{userChange(1, true)})[0]; r.Err != nil {
		t.Errorf("against the default simulator: %v", r.Err)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestWholeBatchFailure: a PUT refused for reasons no item can fix costs
// one request, and every change's error names it, so that the dispatcher
// does not bisect the batch again PUT by PUT.
func TestWholeBatchFailure(t *testing.T) {
	rec := &recorder{}
	forbid := func(h http.Handler) http.Handler {
		return rec.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `{"message":"Access denied."}`)
				return
			}
			h.ServeHTTP(w, r)
		}))
	}
	e := newEnv(t, secureaccesssim.Options{}, forbid, nil)
	batch := []connectors.Change{userChange(1, true), userChange(2, true),
		{Type: "Group", ID: "g1", Op: connectors.OpUpsert}, {Type: "Group", ID: "g2", Op: connectors.OpUpsert}}
	res := apply(t, e.c, batch...)
	seen := map[string]bool{}
	for i, r := range res {
		want := connectors.Permanent
		if batch[i].Type == connectors.Group {
			want = connectors.Unsupported
		}
		if connectors.ClassOf(r.Err) != want || r.Err == nil {
			t.Fatalf("change %d: %v, want %v", i, r.Err, want)
		}
		if !strings.Contains(r.Err.Error(), batch[i].ID) || seen[r.Err.Error()] {
			t.Errorf("change %d: error %q does not name %s", i, r.Err, batch[i].ID)
		}
		seen[r.Err.Error()] = true
	}
	if !strings.Contains(res[0].Err.Error(), "Access denied.") {
		t.Errorf("error %q lacks the target's message", res[0].Err)
	}
	if n := rec.puts(); n != 1 {
		t.Errorf("%d PUTs, want 1", n)
	}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		status      int
		ctype, body string
		msg         string
		success     bool
	}{
		{200, "application/json", `{"success":true}`, "OK", true},
		{200, "application/json", `{"success":"false"}`, "OK", false},
		{200, "application/json", `{"success":false,"message":"item 3 invalid"}`, "item 3 invalid", false},
		{204, "", ``, "No Content", true},
		{400, "text/plain", `Bad Request`, "Bad Request", false},
		{401, "application/json", `{"message":"Authentication failed."}`, "Authentication failed.", false},
		{401, "text/plain", "Authentication failed.\n", "Authentication failed.", false},
		{500, "application/json", `{"error":"Internal server error.","success":"false"}`, "Internal server error.", false},
		{409, "application/json", `{"error":{"message":"conflict on key"}}`, "conflict on key", false},
		{429, "", ``, "Too Many Requests", false},
	}
	for _, tc := range tests {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {tc.ctype}}}
		msg, ok := readBody(resp, []byte(tc.body))
		if msg != tc.msg || ok != tc.success {
			t.Errorf("%d %s: got %q %v, want %q %v", tc.status, tc.body, msg, ok, tc.msg, tc.success)
		}
	}
}

func FuzzReadBody(f *testing.F) {
	f.Add(400, "text/plain", []byte("Bad Request"))
	f.Add(200, "application/json", []byte(`{"success":true}`))
	f.Add(500, "application/json", []byte(`{"error":{"message":1}}`))
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ctype}}}
		msg, ok := readBody(resp, body)
		if len(msg) > 310 {
			t.Errorf("message of %d bytes", len(msg))
		}
		if ok && (status < 200 || status > 299) {
			t.Errorf("status %d read as success", status)
		}
	})
}
