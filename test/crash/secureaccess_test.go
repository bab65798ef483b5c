package crash

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
	"github.com/scimbridge/scimbridge/test/e2ekit"
)

// saScale runs the Secure Access windows 100× faster (a minute lasts
// 0.6 s, the 30-minute window 18 s); the test sends about 20 requests.
const saScale = 0.01

// holder holds one chosen request of the simulator (Options.Hold) until
// the test has killed the bridge that sent it.
type holder struct {
	gets, puts atomic.Int64

	mu      sync.Mutex
	match   func(at secureaccesssim.Stage, r *http.Request) bool
	drop    bool
	reached chan struct{}
	release chan struct{}
}

func (h *holder) hold(at secureaccesssim.Stage, r *http.Request) bool {
	if at == secureaccesssim.Arrived {
		if r.Method == http.MethodGet {
			h.gets.Add(1)
		} else {
			h.puts.Add(1)
		}
	}
	h.mu.Lock()
	if h.match == nil || !h.match(at, r) {
		h.mu.Unlock()
		return true
	}
	h.match = nil
	reached, release, drop := h.reached, h.release, h.drop
	h.mu.Unlock()
	close(reached)
	<-release
	return !drop
}

// arm chooses the next request to hold; with drop it is never served.
func (h *holder) arm(match func(at secureaccesssim.Stage, r *http.Request) bool, drop bool) (reached, release chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.match, h.drop = match, drop
	h.reached, h.release = make(chan struct{}), make(chan struct{})
	return h.reached, h.release
}

func heldPage(offset string) func(secureaccesssim.Stage, *http.Request) bool {
	return func(at secureaccesssim.Stage, r *http.Request) bool {
		return at == secureaccesssim.Arrived && r.Method == http.MethodGet && r.URL.Query().Get("offset") == offset
	}
}

func heldPut(stage secureaccesssim.Stage) func(secureaccesssim.Stage, *http.Request) bool {
	return func(at secureaccesssim.Stage, r *http.Request) bool { return at == stage && r.Method == http.MethodPut }
}

// killWhileHeld waits until the armed request is held, SIGKILLs the
// bridge, then lets the simulator go on (the answer, if any, goes to a
// dead connection). The caller arms the next hold and starts the bridge
// again.
func killWhileHeld(t *testing.T, b *bridge, what string, reached, release chan struct{}) {
	t.Helper()
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: never reached; serve log:\n%s", what, b.LogTail())
	}
	b.Kill()
	close(release)
	t.Logf("SIGKILL %s", what)
}

// TestSecureAccessAdoptionAcrossKills: a Secure Access tenant that
// already holds people (one in another letter case, one inactive, one with
// two active registrations, 260 the IdP never mentions) meets the real
// binary, which is SIGKILLed while its index listing is half done, between
// the listing and the first write, and between a write landing and its
// recording; then SCIM deactivates some people and deletes others, with
// two more kills around the writes. Afterwards every active SCIM user has
// exactly one active registration, deactivated and deleted people none,
// and the registrations of people the IdP never mentions are untouched.
func TestSecureAccessAdoptionAcrossKills(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds and runs the program")
	}
	tmp := t.TempDir()
	if dir := os.Getenv("CRASH_DIR"); dir != "" { // keep logs and data for a post-mortem
		tmp = filepath.Join(dir, "secureaccess")
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	bin := binary(t)

	h := &holder{}
	sim := secureaccesssim.New(secureaccesssim.Options{RateScale: saScale, Hold: h.hold})
	// The tenant before the bridge: keys the bridge did not derive.
	pre := []secureaccesssim.Registration{
		{Key: "pre-alice", AuthName: "Alice@Example.com", Label: "Alice (old name)"},
		{Key: "pre-bob", AuthName: "bob@example.com", Label: "Bob", Status: "inactive"},
		{Key: "pre-carol-1", AuthName: "carol@example.com", Label: "Carol"},
		{Key: "pre-carol-2", AuthName: "CAROL@EXAMPLE.COM", Label: "Carol (laptop)"},
		{Key: "pre-dave", AuthName: "Dave@example.com", Label: "Dave"},
		{Key: "pre-erin", AuthName: "erin@example.com", Label: "Erin"},
		{Key: "pre-frank", AuthName: "FRANK@example.com", Label: "Frank", Status: "inactive"},
		{Key: "pre-zoe", AuthName: "Zoe@Example.com", Label: "Zoe, never in the IdP"},
		{Key: "pre-yann", AuthName: "yann@example.com", Label: "Yann, gone", Status: "inactive"},
	}
	for i := range 260 { // two pages of 250
		pre = append(pre, secureaccesssim.Registration{Key: fmt.Sprintf("pre-other-%03d", i), AuthName: fmt.Sprintf("other.%03d@example.com", i)})
	}
	sim.Preload(secureaccesssim.Device, pre...)
	before := map[string]secureaccesssim.Registration{}
	for _, r := range sim.Registrations(secureaccesssim.Device) {
		before[r.Key] = r
	}
	srv := httptest.NewServer(sim) // outlives every bridge process
	t.Cleanup(srv.Close)

	port := e2ekit.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "listen: 127.0.0.1:%d\ndata_dir: %s\ntokens: [\"${CRASH_SCIM_TOKEN}\"]\nadmin_token: ${CRASH_ADMIN_TOKEN}\nlog: {level: warn}\nserver: {shutdown_timeout: 5s}\nconnectors:\n",
		port, filepath.Join(tmp, "data"))
	fmt.Fprintf(&cfg, "  sa:\n    type: secureaccess\n    enabled: true\n    rate_limit: 1000\n    base_url: %q\n    credentials:\n", srv.URL+sim.BasePath())
	for k, v := range sim.Credentials() {
		fmt.Fprintf(&cfg, "      %s: %q\n", k, v)
	}
	fmt.Fprintf(&cfg, "    options:\n      rate_scale: %q\n      dedupe: \"true\"\n", fmt.Sprint(saScale))
	cfgPath := filepath.Join(tmp, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, _ := os.Create(filepath.Join(tmp, "serve.log"))
	b := newBridge(t, bin, cfgPath, port, logFile)
	c := &client{base: b.Base, http: &http.Client{Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// 1. The IdP provisions six people the tenant holds and four it does
	// not; the bridge dies while the second page of its index is in flight.
	reached, release := h.arm(heldPage("250"), true)
	b.Start()
	t.Cleanup(b.Kill)
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	ids := map[string]string{}
	for _, n := range names {
		userName := n + "@example.com"
		ids[n] = c.create(ctx, t, "Users", map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": userName, "active": true, "displayName": strings.ToUpper(n[:1]) + n[1:] + " (IdP)",
		}, fmt.Sprintf("userName eq %q", userName))
	}
	if t.Failed() {
		t.FailNow()
	}
	killWhileHeld(t, b, "with the index listing half done", reached, release)

	// 2. Between the index and the write: the listing completes, the
	// first PUT reaches the target and is dropped unserved.
	reached, release = h.arm(heldPut(secureaccesssim.Arrived), true)
	b.Start()
	killWhileHeld(t, b, "between the index and the first write (PUT dropped)", reached, release)
	if n := sim.Stats().Puts; n != 0 {
		t.Fatalf("%d PUTs stored, want none yet", n)
	}

	// 3. Between the write and its recording: the PUT is stored, its
	// answer never arrives. The saved index means no listing again.
	gets := h.gets.Load()
	reached, release = h.arm(heldPut(secureaccesssim.Applied), false)
	b.Start()
	killWhileHeld(t, b, "between a write and its recording (PUT stored, answer lost)", reached, release)
	if n := h.gets.Load() - gets; n != 0 {
		t.Errorf("%d GETs after the index was built and saved: the restart must load it", n)
	}
	b.Start()
	waitForQueues(ctx, t, b)
	active := map[string]bool{}
	for _, n := range names {
		active[n] = true
	}
	checkRegistrations(t, "after provisioning", sim, before, ids, active)

	// 4. SCIM deactivates three people and deletes three; the bridge dies
	// after the first PUT of those changes is stored, and again when the
	// next PUT arrives.
	reached, release = h.arm(heldPut(secureaccesssim.Applied), false)
	for _, n := range []string{"alice", "carol", "grace"} {
		c.patch(ctx, t, "/scim/v2/Users/"+ids[n], map[string]any{"op": "replace", "value": map[string]any{"active": false}})
		active[n] = false
	}
	for _, n := range []string{"bob", "dave", "heidi"} {
		c.delete(ctx, t, "/scim/v2/Users/"+ids[n])
		delete(active, n)
	}
	killWhileHeld(t, b, "after a deprovisioning write landed (answer lost)", reached, release)
	// The changes of the lost answer are sent again: there is a PUT.
	reached, release = h.arm(heldPut(secureaccesssim.Arrived), true)
	b.Start()
	killWhileHeld(t, b, "with the resent deprovisioning write in flight (PUT dropped)", reached, release)
	b.Start()
	waitForQueues(ctx, t, b)
	checkRegistrations(t, "after deprovisioning", sim, before, ids, active)

	// Carol's second registration was found and deactivated: her
	// timeline says so.
	var page struct {
		Events []struct {
			Kind   string `json:"kind"`
			Detail string `json:"detail"`
		} `json:"events"`
	}
	adminGet(t, b, "/admin/activity?limit=500&resource="+url.QueryEscape(ids["carol"]), &page)
	noted := 0
	for _, ev := range page.Events {
		if ev.Kind == "warning" && strings.Contains(ev.Detail, "duplicate registrations found for carol@example.com: kept pre-carol-1, deactivated pre-carol-2") {
			noted++
		}
	}
	if noted != 1 {
		t.Errorf("carol's timeline has %d notes of her duplicate, want 1: %+v", noted, page.Events)
	}
	st := sim.Stats()
	t.Logf("secure access: %d starts (%d SIGKILLs), %d GETs, %d PUT requests (%d stored), %d answered 429, %d token requests",
		b.Starts(), b.Starts()-1, h.gets.Load(), h.puts.Load(), st.Puts, st.RateLimited, st.Tokens)
	if t.Failed() {
		t.Logf("serve log tail:\n%s", b.LogTail())
	}
}

// checkRegistrations: for every SCIM user, exactly one active
// registration when active[name], none when deactivated (false) or
// deleted (absent); the bridge made no registration beyond one per new
// person; registrations of people the IdP never mentioned are as they
// were.
func checkRegistrations(t *testing.T, when string, sim *secureaccesssim.Server, before map[string]secureaccesssim.Registration, ids map[string]string, active map[string]bool) {
	t.Helper()
	regs := sim.Registrations(secureaccesssim.Device)
	byName := map[string][]secureaccesssim.Registration{}
	for _, r := range regs {
		n := strings.ToLower(r.AuthName)
		byName[n] = append(byName[n], r)
	}
	people := map[string]bool{}
	for n := range ids {
		userName := n + "@example.com"
		people[userName] = true
		var on []string
		for _, r := range byName[userName] {
			if r.Status == "active" {
				on = append(on, r.Key)
			}
		}
		want := 0
		if active[n] {
			want = 1
		}
		if len(on) != want {
			t.Errorf("%s: %s (active %v, in SCIM %v) has %d active registrations %v, want %d", when, userName, active[n], hasKey(active, n), len(on), on, want)
		}
	}
	for key, was := range before {
		if people[strings.ToLower(was.AuthName)] {
			continue
		}
		now, ok := find(regs, key)
		if !ok || !reflect.DeepEqual(now, was) {
			t.Errorf("%s: %s, never mentioned by the IdP, changed: %+v, was %+v", when, key, now, was)
		}
	}
	// Four people were new: one registration each, nothing else added.
	if got, want := len(regs), len(before)+4; got != want {
		t.Errorf("%s: %d registrations, want %d (the tenant's %d + 4 new people)", when, got, want, len(before))
	}
}

func hasKey(m map[string]bool, k string) bool { _, ok := m[k]; return ok }

func find(regs []secureaccesssim.Registration, key string) (secureaccesssim.Registration, bool) {
	for _, r := range regs {
		if r.Key == key {
			return r, true
		}
	}
	return secureaccesssim.Registration{}, false
}
