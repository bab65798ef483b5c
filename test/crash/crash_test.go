// Package crash is the end-to-end crash test of the durable fan-out: a
// load of SCIM writes while `scimbridge serve` is killed with SIGKILL and
// restarted several times, against the connectors' simulators running in
// a `scimbridge simulate` process of their own (so they outlive the bridge
// and count every call). At the end every acknowledged write is stored and
// every target holds exactly the acknowledged final state: nothing lost,
// nothing duplicated.
//
// CRASH_TYPES=webex,scc (comma-separated) chooses the connector types;
// by default (or "all") every simulated type that serve knows. Rate
// windows run 20× faster (simulate --rate-scale 0.05, matched by the
// connectors' options).
//
// TestSecureAccessAdoptionAcrossKills (secureaccess_test.go) kills the
// bridge at chosen moments of Secure Access's adoption of a tenant's
// existing registrations instead.
package crash

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/test/e2ekit"
)

const (
	scimToken  = "crash-test-scim-token"
	adminToken = "crash-test-admin-token"
	workers    = 4
	usersPer   = 25 // users per worker at least; workers go on until the kills are done
	groups     = 4
	kills      = 8 // during the load, plus one after it
)

// simInfo and simState mirror what `scimbridge simulate` prints and serves.
type simInfo struct {
	Control    string `json:"control"`
	Simulators map[string]struct {
		Type        string            `json:"type"`
		URL         string            `json:"url"`
		BaseURL     string            `json:"base_url"`
		Credentials map[string]string `json:"credentials"`
		Options     map[string]string `json:"options"`
	} `json:"simulators"`
}

type simState struct {
	Users []struct {
		TargetID string
		UserName string
		Active   bool
	} `json:"users"`
	Groups []struct {
		TargetID        string
		Name            string
		MemberTargetIDs []string
	} `json:"groups"`
	Calls int `json:"calls"`
}

// bridge runs `scimbridge serve` and restarts it (e2ekit.Bridge).
type bridge = e2ekit.Bridge

// newBridge is serve with config at port, the tokens from CRASH_SCIM_TOKEN
// and CRASH_ADMIN_TOKEN, logging to logFile.
func newBridge(t *testing.T, bin, config string, port int, logFile *os.File) *bridge {
	return &bridge{T: t, Bin: bin, Config: config, Base: fmt.Sprintf("http://127.0.0.1:%d", port), Log: logFile,
		Env: []string{"CRASH_SCIM_TOKEN=" + scimToken, "CRASH_ADMIN_TOKEN=" + adminToken}, AdminToken: adminToken}
}

// client is a SCIM client that retries until a write is acknowledged.
type client struct {
	base  string
	http  *http.Client
	acked atomic.Int64
	tries atomic.Int64

	mu     sync.Mutex
	writes []ackedWrite // acknowledged writes that committed in the answered attempt
}

// ackedWrite is a write the server answered with success: its event must
// be in the resource's timeline exactly once (under the attempt's request id).
type ackedWrite struct {
	typ, id, method, requestID string
}

func (c *client) ack(endpoint, id, method, requestID string) {
	typ := strings.TrimSuffix(endpoint, "s")
	c.mu.Lock()
	c.writes = append(c.writes, ackedWrite{typ: typ, id: id, method: method, requestID: requestID})
	c.mu.Unlock()
}

// do sends one request until the server answers it (a killed server
// refuses connections); it returns the status and body of the answer.
func (c *client) do(ctx context.Context, method, path string, body any) (int, []byte) {
	code, out, _ := c.doRID(ctx, method, path, body)
	return code, out
}

// doRID is do, also returning the request id of the answered attempt
// (each attempt has its own).
func (c *client) doRID(ctx context.Context, method, path string, body any) (int, []byte, string) {
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	for {
		if ctx.Err() != nil {
			return 0, nil, ""
		}
		rid := fmt.Sprintf("crash-%d", c.tries.Add(1))
		req, _ := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(data))
		req.Header.Set("X-Request-Id", rid)
		req.Header.Set("Authorization", "Bearer "+scimToken)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := c.http.Do(req)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode >= 500 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return resp.StatusCode, out, rid
	}
}

// findID looks a resource up by filter (after a create whose answer was lost).
func (c *client) findID(ctx context.Context, t *testing.T, endpoint, filter string) string {
	code, body := c.do(ctx, http.MethodGet, "/scim/v2/"+endpoint+"?filter="+url.QueryEscape(filter), nil)
	var list struct {
		Resources []struct {
			ID string `json:"id"`
		} `json:"Resources"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Resources) != 1 {
		t.Errorf("lookup %s %s: %d %s", endpoint, filter, code, body)
		return ""
	}
	return list.Resources[0].ID
}

// create POSTs a resource; a 409 means an earlier, unacknowledged attempt
// landed: look it up.
func (c *client) create(ctx context.Context, t *testing.T, endpoint string, body map[string]any, filter string) string {
	code, out, rid := c.doRID(ctx, http.MethodPost, "/scim/v2/"+endpoint, body)
	switch code {
	case http.StatusCreated:
		var r struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(out, &r)
		c.acked.Add(1)
		c.ack(endpoint, r.ID, http.MethodPost, rid)
		return r.ID
	case http.StatusConflict:
		c.acked.Add(1)
		return c.findID(ctx, t, endpoint, filter)
	}
	if ctx.Err() == nil {
		t.Errorf("create %s: %d %s", endpoint, code, out)
	}
	return ""
}

func (c *client) patch(ctx context.Context, t *testing.T, path string, ops ...map[string]any) {
	code, out, rid := c.doRID(ctx, http.MethodPatch, path, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": ops,
	})
	if code == http.StatusOK || code == http.StatusNoContent {
		c.acked.Add(1)
		endpoint, id, _ := strings.Cut(strings.TrimPrefix(path, "/scim/v2/"), "/")
		c.ack(endpoint, id, http.MethodPatch, rid)
		return
	}
	if ctx.Err() == nil {
		t.Errorf("PATCH %s: %d %s", path, code, out)
	}
}

func (c *client) delete(ctx context.Context, t *testing.T, path string) {
	code, out, rid := c.doRID(ctx, http.MethodDelete, path, nil)
	if code == http.StatusNoContent || code == http.StatusNotFound {
		c.acked.Add(1)
		if code == http.StatusNoContent { // a 404 acknowledges an earlier attempt
			endpoint, id, _ := strings.Cut(strings.TrimPrefix(path, "/scim/v2/"), "/")
			c.ack(endpoint, id, http.MethodDelete, rid)
		}
		return
	}
	if ctx.Err() == nil {
		t.Errorf("DELETE %s: %d %s", path, code, out)
	}
}

// expected is the acknowledged final state of one user.
type expected struct {
	id, userName string
	active       bool
	deleted      bool
	groups       []int
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds and runs the program (about a minute)")
	}
	tmp := t.TempDir()
	if dir := os.Getenv("CRASH_DIR"); dir != "" { // keep logs and data for a post-mortem
		tmp = dir
	}
	bin := binary(t)

	// The simulated targets, in a process of their own.
	simOut := filepath.Join(tmp, "sim.json")
	// Rate windows scaled 20× (a minute lasts 3 s), matched by the
	// connectors' options, so Secure Access's 14 a minute drains in seconds.
	sim := exec.Command(bin, "simulate", "--out", simOut, "--rate-scale", "0.05")
	simLog, _ := os.Create(filepath.Join(tmp, "simulate.log"))
	sim.Stdout, sim.Stderr = simLog, simLog
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Process.Signal(syscall.SIGKILL); _ = sim.Wait() })
	var info simInfo
	for deadline := time.Now().Add(20 * time.Second); ; {
		if data, err := os.ReadFile(simOut); err == nil && json.Unmarshal(data, &info) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("simulate wrote no simulator list")
		}
		time.Sleep(20 * time.Millisecond)
	}
	types := selectTypes(t, bin, info)
	t.Logf("connectors: %v", types)

	// serve's config: every selected connector against its simulator.
	port := e2ekit.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "listen: 127.0.0.1:%d\ndata_dir: %s\ntokens: [\"${CRASH_SCIM_TOKEN}\"]\nadmin_token: ${CRASH_ADMIN_TOKEN}\nlog: {level: %s}\nserver: {shutdown_timeout: 5s}\nconnectors:\n",
		port, filepath.Join(tmp, "data"), cmp.Or(os.Getenv("CRASH_LOG_LEVEL"), "warn"))
	for _, typ := range types {
		s := info.Simulators[typ]
		fmt.Fprintf(&cfg, "  %s:\n    type: %s\n    enabled: true\n    simulate: false\n    rate_limit: 1000\n    base_url: %q\n    credentials:\n", typ, typ, s.BaseURL)
		for k, v := range s.Credentials {
			fmt.Fprintf(&cfg, "      %s: %q\n", k, v)
		}
		if len(s.Options) > 0 {
			cfg.WriteString("    options:\n")
			for k, v := range s.Options {
				fmt.Fprintf(&cfg, "      %s: %q\n", k, v)
			}
		}
	}
	cfgPath := filepath.Join(tmp, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, _ := os.Create(filepath.Join(tmp, "serve.log"))
	b := newBridge(t, bin, cfgPath, port, logFile)
	b.Start()
	t.Cleanup(b.Kill)

	c := &client{base: b.Base, http: &http.Client{Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Groups first, then workers create, change, group and delete users
	// while the bridge is killed and restarted.
	groupIDs := make([]string, groups)
	for g := range groups {
		name := fmt.Sprintf("Crash Group %d", g)
		groupIDs[g] = c.create(ctx, t, "Groups", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name,
		}, fmt.Sprintf("displayName eq %q", name))
	}
	var mu sync.Mutex
	var users []*expected
	var killsDone atomic.Bool
	var wg sync.WaitGroup
	loadDone := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < usersPer || !killsDone.Load(); i++ {
				if ctx.Err() != nil {
					return
				}
				e := &expected{userName: fmt.Sprintf("crash.w%d.u%03d@example.com", w, i), active: true}
				given := fmt.Sprintf("W%d", w)
				family := fmt.Sprintf("U%03d", i)
				e.id = c.create(ctx, t, "Users", map[string]any{
					"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName": e.userName, "active": true, "displayName": given + " " + family,
					"name":   map[string]any{"givenName": given, "familyName": family},
					"emails": []any{map[string]any{"value": e.userName, "type": "work", "primary": true}},
				}, fmt.Sprintf("userName eq %q", e.userName))
				if e.id == "" {
					return
				}
				for range 1 + rng.IntN(3) {
					e.active = rng.IntN(3) != 0
					c.patch(ctx, t, "/scim/v2/Users/"+e.id, map[string]any{"op": "replace", "value": map[string]any{
						"active": e.active, "displayName": fmt.Sprintf("%s %s v%d", given, family, rng.IntN(100))}})
				}
				if g := rng.IntN(groups + 1); g < groups && groupIDs[g] != "" {
					c.patch(ctx, t, "/scim/v2/Groups/"+groupIDs[g], map[string]any{"op": "add", "path": "members",
						"value": []any{map[string]any{"value": e.id}}})
					e.groups = append(e.groups, g)
				}
				if rng.IntN(6) == 0 {
					c.delete(ctx, t, "/scim/v2/Users/"+e.id)
					e.deleted = true
				}
				mu.Lock()
				users = append(users, e)
				mu.Unlock()
			}
		})
	}
	loadStart := time.Now()
	go func() { wg.Wait(); close(loadDone) }()

	// Kill the bridge at random moments of the load (which goes on until
	// the kills are done), then once more when the load is over.
	killed := 0
	var backupFile string
	var beforeBackup []*expected
	for killed < kills {
		time.Sleep(time.Duration(300+rand.IntN(600)) * time.Millisecond)
		if killed == kills/2 { // a hot backup in the middle of the load
			mu.Lock()
			acked := slices.Clone(users)
			mu.Unlock()
			backupFile, beforeBackup = backupDuringLoad(t, b, tmp, acked)
		}
		b.Kill()
		killed++
		b.Start()
	}
	killsDone.Store(true)
	<-loadDone
	t.Logf("load done after %s", time.Since(loadStart).Round(time.Millisecond))
	b.Kill()
	killed++
	b.Start()
	if t.Failed() {
		t.FailNow()
	}

	waitForQueues(ctx, t, b)

	// Every acknowledged write is stored.
	for _, e := range users {
		code, body := c.do(ctx, http.MethodGet, "/scim/v2/Users/"+e.id, nil)
		if e.deleted {
			if code != http.StatusNotFound {
				t.Errorf("deleted user %s: GET %d", e.userName, code)
			}
			continue
		}
		var u struct {
			Active bool `json:"active"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &u) != nil || u.Active != e.active {
			t.Errorf("stored user %s: %d %s, want active=%v", e.userName, code, body, e.active)
		}
	}

	// Every target holds exactly the acknowledged final state.
	deliveries, duplicates := 0, 0
	for _, typ := range types {
		st := fetchState(t, info.Control, typ)
		deliveries += st.Calls
		duplicates += checkTarget(t, typ, st, users, groupIDs)
	}
	st := adminStatus(t, b)
	dead := 0
	for _, s := range st {
		dead += s.DeadLetters
	}
	t.Logf("crash test: %d connectors, %d SCIM writes acknowledged (%d requests sent), %d users, %d kills (SIGKILL), %d target calls, %d duplicates, %d dead letters",
		len(types), c.acked.Load(), c.tries.Load(), len(users), killed, deliveries, duplicates, dead)
	if duplicates != 0 {
		t.Errorf("%d duplicates in the targets", duplicates)
	}
	if dead != 0 {
		t.Errorf("%d dead letters: %+v", dead, st)
	}
	// And after all those kills the data file agrees with itself, and
	// every target that can list holds everything the bridge delivered.
	if problems := adminVerify(t, b); len(problems) > 0 {
		t.Errorf("store.Verify after the kills: %q", problems)
	}
	checkTimelines(t, b, c.writes)
	checked := adminCheckTargets(t, b)
	for _, r := range checked {
		if r.Error != "" || len(r.Missing) > 0 {
			t.Errorf("check-targets %s %s: missing %v, error %q", r.Connector, r.Type, r.Missing, r.Error)
		}
	}
	t.Logf("check-targets: %+v", checked)
	checkBackup(t, bin, tmp, backupFile, beforeBackup)
	if t.Failed() {
		t.Logf("serve log tail:\n%s", b.LogTail())
	}
}

// selectTypes picks the simulated connector types serve knows.
func selectTypes(t *testing.T, bin string, info simInfo) []string {
	var types []string
	for typ := range info.Simulators {
		types = append(types, typ)
	}
	slices.Sort(types)
	switch env := os.Getenv("CRASH_TYPES"); env {
	case "", "all":
	default:
		want := strings.Split(env, ",")
		types = slices.DeleteFunc(types, func(s string) bool { return !slices.Contains(want, s) })
	}
	// Keep the types serve can build (check-config names unknown ones).
	known := types[:0]
	for _, typ := range types {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "c.yaml")
		s := info.Simulators[typ]
		var creds strings.Builder
		for k, v := range s.Credentials {
			fmt.Fprintf(&creds, "      %s: %q\n", k, v)
		}
		_ = os.WriteFile(cfg, fmt.Appendf(nil, "data_dir: %s\nconnectors:\n  x:\n    type: %s\n    enabled: true\n    base_url: %q\n    credentials:\n%s", dir, typ, s.BaseURL, creds.String()), 0o600)
		out, err := exec.Command(bin, "check-config", "--config", cfg).CombinedOutput()
		if err != nil && strings.Contains(string(out), "unknown type") {
			t.Logf("serve does not know connector type %s: left out", typ)
			continue
		}
		known = append(known, typ)
	}
	if len(known) == 0 {
		t.Skip("no simulated connector type that serve knows")
	}
	return known
}

type status struct {
	Name        string `json:"name"`
	QueueDepth  int    `json:"queueDepth"`
	InFlight    int    `json:"inFlight"`
	DeadLetters int    `json:"deadLetters"`
	LastError   string `json:"lastError"`
}

func adminStatus(t *testing.T, b *bridge) []status {
	var st struct {
		Connectors []status `json:"connectors"`
	}
	adminGet(t, b, "/admin/status", &st)
	return st.Connectors
}

// adminVerify asks the running bridge to check its data file.
func adminVerify(t *testing.T, b *bridge) []string {
	var v struct {
		OK       bool     `json:"ok"`
		Problems []string `json:"problems"`
	}
	if adminGet(t, b, "/admin/verify", &v); !v.OK && len(v.Problems) == 0 {
		t.Fatalf("admin verify: not ok, but no problems listed")
	}
	return v.Problems
}

// adminCheckTargets runs a drift check (no repair) and returns its results.
func adminCheckTargets(t *testing.T, b *bridge) []checkResult {
	req, _ := http.NewRequest(http.MethodPost, b.Base+"/admin/check-targets", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("admin check-targets: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("admin check-targets: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var rep struct {
			Running bool          `json:"running"`
			Results []checkResult `json:"results"`
		}
		adminGet(t, b, "/admin/check-targets", &rep)
		if !rep.Running {
			return rep.Results
		}
		if time.Now().After(deadline) {
			t.Fatal("check-targets did not finish")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type checkResult struct {
	Connector string   `json:"connector"`
	Type      string   `json:"type"`
	Listed    int      `json:"listed"`
	Mapped    int      `json:"mapped"`
	Missing   []string `json:"missing"`
	Error     string   `json:"error"`
}

// adminGet decodes the answer of a GET on the bridge's admin API.
func adminGet(t *testing.T, b *bridge, path string, out any) {
	req, _ := http.NewRequest(http.MethodGet, b.Base+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("admin %s: %v", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("admin %s: %d %v", path, resp.StatusCode, err)
	}
}

// waitForQueues waits until every connector's queue is empty.
func waitForQueues(ctx context.Context, t *testing.T, b *bridge) {
	start := time.Now()
	drained := map[string]bool{}
	for {
		st := adminStatus(t, b)
		empty := true
		for _, s := range st {
			if s.QueueDepth > 0 || s.InFlight > 0 {
				empty = false
			} else if !drained[s.Name] {
				drained[s.Name] = true
				t.Logf("%s: queue drained %s after the load", s.Name, time.Since(start).Round(time.Millisecond))
			}
		}
		if empty {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("queues not drained: %+v\nserve log:\n%s", st, b.LogTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func fetchState(t *testing.T, control, typ string) simState {
	resp, err := http.Get(control + "/_sim/" + typ + "/state")
	if err != nil {
		t.Fatalf("%s state: %v", typ, err)
	}
	defer resp.Body.Close()
	var st simState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("%s state: %v", typ, err)
	}
	return st
}

// noActive are targets whose users have no active flag: SecureAuth
// deactivates by scrambling the password (one way: enabling is
// unsupported), and a user created inactive is not scrambled at all (its
// password is random already), so its simulator's Active says nothing.
var noActive = map[string]bool{"secureauth": true}

// checkTarget compares one target with the expected users and groups and
// returns the number of duplicated objects.
func checkTarget(t *testing.T, typ string, st simState, users []*expected, groupIDs []string) int {
	byName := map[string][]int{}
	for i, u := range st.Users {
		byName[strings.ToLower(u.UserName)] = append(byName[strings.ToLower(u.UserName)], i)
	}
	dups := 0
	for _, ix := range byName {
		dups += len(ix) - 1
	}
	targetID := map[string]string{} // userName -> target id
	deletedIDs := map[string]bool{}
	for _, e := range users {
		ix := byName[strings.ToLower(e.userName)]
		switch {
		case e.deleted:
			for _, i := range ix {
				if st.Users[i].Active {
					t.Errorf("%s: deleted user %s still active", typ, e.userName)
				}
				deletedIDs[st.Users[i].TargetID] = true
			}
		case len(ix) == 0:
			t.Errorf("%s: user %s missing", typ, e.userName)
		default:
			u := st.Users[ix[0]]
			targetID[e.userName] = u.TargetID
			if u.Active != e.active && !noActive[typ] {
				t.Errorf("%s: user %s (%s) active=%v, want %v", typ, e.userName, e.id, u.Active, e.active)
			}
		}
	}
	if len(st.Groups) == 0 {
		return dups // a target without groups
	}
	groupNames := map[string]int{}
	for _, g := range st.Groups {
		groupNames[g.Name]++
	}
	for g := range groupIDs {
		name := fmt.Sprintf("Crash Group %d", g)
		if groupNames[name] != 1 {
			t.Errorf("%s: %d groups named %q, want 1", typ, groupNames[name], name)
			if groupNames[name] > 1 {
				dups += groupNames[name] - 1
			}
			continue
		}
		var want []string
		for _, e := range users {
			if !e.deleted && slices.Contains(e.groups, g) {
				want = append(want, targetID[e.userName])
			}
		}
		for _, sg := range st.Groups {
			if sg.Name != name {
				continue
			}
			for _, w := range want {
				if !slices.Contains(sg.MemberTargetIDs, w) {
					t.Errorf("%s: %s lacks member %s", typ, name, w)
				}
			}
			for _, m := range sg.MemberTargetIDs {
				if !slices.Contains(want, m) && !deletedIDs[m] {
					t.Errorf("%s: %s has unexpected member %s", typ, name, m)
				}
			}
		}
	}
	return dups
}

// checkTimelines: every acknowledged write is in its resource's activity
// timeline exactly once, and every change queued for a connector has an
// outcome there (delivered, unsupported or dead-lettered; the queues are
// empty by now).
func checkTimelines(t *testing.T, b *bridge, writes []ackedWrite) {
	t.Helper()
	type event struct {
		Kind      string `json:"kind"`
		Connector string `json:"connector"`
		RequestID string `json:"requestId"`
		Method    string `json:"method"`
		Type      string `json:"type"`
		ID        string `json:"id"`
	}
	timelines := map[string][]event{}
	timeline := func(id string) []event {
		if evs, ok := timelines[id]; ok {
			return evs
		}
		var all []event
		cursor := ""
		for {
			var page struct {
				Events []event `json:"events"`
				Next   string  `json:"next"`
			}
			adminGet(t, b, "/admin/activity?limit=500&resource="+url.QueryEscape(id)+"&cursor="+cursor, &page)
			all = append(all, page.Events...)
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		slices.Reverse(all) // oldest first
		timelines[id] = all
		pending := map[string]bool{}
		for _, ev := range all {
			switch ev.Kind {
			case "queued":
				pending[ev.Connector] = true
			case "delivered", "unsupported", "dead":
				pending[ev.Connector] = false
			}
		}
		for c, p := range pending {
			if p {
				t.Errorf("timeline of %s: a change queued for %s has no outcome", id, c)
			}
		}
		return all
	}
	events := 0
	for _, w := range writes {
		n := 0
		for _, ev := range timeline(w.id) {
			if ev.Kind == "scim" && ev.RequestID == w.requestID {
				n++
				if ev.Method != w.method || ev.ID != w.id || ev.Type != w.typ {
					t.Errorf("write %s %s/%s (%s) is recorded as %+v", w.method, w.typ, w.id, w.requestID, ev)
				}
			}
		}
		if n != 1 {
			t.Errorf("write %s %s/%s (request %s) is in its timeline %d times", w.method, w.typ, w.id, w.requestID, n)
		}
	}
	for _, evs := range timelines {
		events += len(evs)
	}
	t.Logf("activity log: %d acknowledged writes each once in its timeline (%d resources, %d events)", len(writes), len(timelines), events)
}
