package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
	"github.com/scimbridge/scimbridge/internal/testkit"
	"github.com/scimbridge/scimbridge/store"
)

// bridge is the whole program in-process: SCIM endpoint, dispatcher and
// the configured connectors against their built-in simulators.
type bridge struct {
	t    *testing.T
	app  *app
	scim string // base URL of /scim/v2
}

const e2eToken = "e2e-token-0123456789"

func newBridge(t *testing.T, connectorsYAML string) *bridge {
	t.Helper()
	cfg, err := config.Parse([]byte("tokens: ["+e2eToken+"]\nconnectors:\n"+connectorsYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "scimbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildApp(cfg, db, cfg.Tokens, "", prometheus.NewRegistry(), zerolog.Nop())
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.start(ctx)
	r := chi.NewRouter()
	a.mount(r)
	ts := httptest.NewServer(r)
	t.Cleanup(func() {
		ts.Close()
		cancel()
		_ = a.shutdown(context.Background())
		if problems, _, err := a.verify(20); err != nil || len(problems) > 0 {
			t.Errorf("store.Verify: %q %v", problems, err)
		}
		a.close()
		db.Close()
	})
	return &bridge{t: t, app: a, scim: ts.URL + "/scim/v2"}
}

// do sends a SCIM request and decodes the answer, failing on another status.
func (b *bridge) do(method, path, body string, want int) map[string]any {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.scim+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		b.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// settle waits until every connector's queue is empty and idle.
func (b *bridge) settle() {
	b.t.Helper()
	if err := waitDelivered(context.Background(), b.app, 20*time.Second); err != nil {
		b.t.Fatal(err)
	}
}

// sim returns the i-th simulator the bridge started, as the suite sees it.
func (b *bridge) sim(i int) connectortest.Sim {
	return b.app.sims[i].Handler.(connectortest.Sim)
}

// memberNames lists the login names of a target group's members.
func memberNames(sim connectortest.Sim, group string) []string {
	names := map[string]string{}
	for _, u := range sim.Users() {
		names[u.TargetID] = u.UserName
	}
	var out []string
	for _, g := range sim.Groups() {
		if g.Name == group {
			for _, id := range g.MemberTargetIDs {
				out = append(out, names[id])
			}
		}
	}
	slices.Sort(out)
	return out
}

// SCC has no email update: the connector removes the old user and invites
// the new address, which gets a new id. The user's admin-group
// memberships must follow it (the dispatcher replays them when a target
// id changes), not wait for the IdP to touch those groups again.
func TestEmailChangeKeepsSCCMemberships(t *testing.T) {
	b := newBridge(t, "  scc: {type: scc, enabled: true, simulate: true}\n")
	u := b.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com",
		"name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann@example.com","type":"work","primary":true}],"active":true}`, http.StatusCreated)
	b.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Admins",
		"members":[{"value":"`+u["id"].(string)+`"}]}`, http.StatusCreated)
	b.settle()
	if got := memberNames(b.sim(0), "Admins"); !slices.Equal(got, []string{"ann@example.com"}) {
		t.Fatalf("before the change, Admins holds %v", got)
	}
	b.do("PATCH", "/Users/"+u["id"].(string), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"ann.lee@example.com"}]}`, http.StatusNoContent)
	b.settle()
	if got := memberNames(b.sim(0), "Admins"); !slices.Equal(got, []string{"ann.lee@example.com"}) {
		t.Errorf("after the email change, Admins holds %v, want [ann.lee@example.com]", got)
	}
}

// A group deleted in Webex behind the bridge's back comes back, with all
// its members, on the group's next change (here: one member added).
func TestWebexGroupDeletedBehindTheBridgeComesBackWhole(t *testing.T) {
	b := newBridge(t, "  webex: {type: webex, enabled: true, simulate: true}\n")
	var ids []string
	for _, name := range []string{"a", "b", "c"} {
		u := b.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`@example.com",
			"emails":[{"value":"`+name+`@example.com","type":"work","primary":true}],"active":true}`, http.StatusCreated)
		ids = append(ids, u["id"].(string))
	}
	g := b.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales",
		"members":[{"value":"`+ids[0]+`"},{"value":"`+ids[1]+`"}]}`, http.StatusCreated)
	b.settle()
	sim := b.sim(0).(*webexsim.Server)
	groups := sim.Groups()
	if len(groups) != 1 || !sim.RemoveGroup(groups[0].TargetID) {
		t.Fatalf("groups in Webex: %+v", groups)
	}
	b.do("PATCH", "/Groups/"+g["id"].(string), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"add","path":"members","value":[{"value":"`+ids[2]+`"}]}]}`, http.StatusNoContent)
	b.settle()
	if got := memberNames(sim, "Sales"); !slices.Equal(got, []string{"a@example.com", "b@example.com", "c@example.com"}) {
		t.Errorf("after re-creation, Sales holds %v, want all three members", got)
	}
	if dl, err := b.app.dispatcher.DeadLetters("webex"); err != nil || len(dl) != 0 {
		t.Errorf("dead letters: %+v %v", dl, err)
	}
}

// verify --file reports a consistent file as such and lists the problems
// of a damaged one (exit status 1).
func TestVerifyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scimbridge.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *store.Tx) error {
		if _, err := tx.CreateResource(store.TypeUser, "u1", []byte(`{"id":"u1","userName":"a@x"}`)); err != nil {
			return err
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	problems, total, err := verifyFile(path)
	if err != nil || printVerify(&out, problems, total) != nil || out.String() != "no problems found\n" {
		t.Fatalf("consistent file: %v %q", err, out.String())
	}
	raw, _ := bolt.Open(path, 0o600, nil)
	_ = raw.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("idx/userName")).Delete([]byte("a@x")) })
	raw.Close()
	out.Reset()
	problems, total, err = verifyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if perr := printVerify(&out, problems, total); !errors.Is(perr, errInconsistent) || !strings.Contains(out.String(), `User u1: userName "a@x" is not indexed`) {
		t.Errorf("damaged file: %v %q", perr, out.String())
	}

	// Damaged pages (leaf pages' type overwritten): the server's exit 5
	// and its one line, not a bbolt panic.
	testkit.DamageLeafPages(t, path)
	_, _, err = verifyFile(path)
	if code, line := explain(err); code != exitDataFile || !strings.Contains(line, "is damaged") || !strings.Contains(line, "not a branch or leaf") {
		t.Errorf("damaged pages: exit %d %q", code, line)
	}
}

// Requests are counted by route pattern, never by raw path (an id per
// user would be a series per user), and unknown paths share one series.
func TestRequestMetrics(t *testing.T) {
	b := newBridge(t, "")
	reg := prometheus.NewRegistry()
	ts := httptest.NewServer(newRouter(zerolog.Nop(), reg, b.app, ""))
	defer ts.Close()
	get := func(path string, auth bool) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+e2eToken)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	get("/scim/v2/Users/one", true)
	get("/scim/v2/Users/two", true)
	get("/scim/v2/Users", false)
	get("/no/such/thing", false)
	get("/healthz", false)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "scimbridge_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["method"]+" "+labels["route"]+" "+labels["status"]] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"GET /scim/v2/Users/{id} 404": 2,
		"GET /scim/v2/* 401":          1,
		"GET other 404":               1,
		"GET /healthz 200":            1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want exactly %v", got, want)
	}
}

// With metrics_token set, /metrics wants it; without, it is open.
func TestMetricsToken(t *testing.T) {
	b := newBridge(t, "")
	for _, tt := range []struct {
		token, send string
		want        int
	}{
		{"", "", http.StatusOK},
		{"m-token", "", http.StatusUnauthorized},
		{"m-token", "wrong", http.StatusUnauthorized},
		{"m-token", "m-token", http.StatusOK},
	} {
		ts := httptest.NewServer(newRouter(zerolog.Nop(), prometheus.NewRegistry(), b.app, tt.token))
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
		if tt.send != "" {
			req.Header.Set("Authorization", "Bearer "+tt.send)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		ts.Close()
		if res.StatusCode != tt.want {
			t.Errorf("metrics_token %q, sent %q: %d, want %d", tt.token, tt.send, res.StatusCode, tt.want)
		}
	}
}

// FuzzRequest sends arbitrary requests (method, path, query, body) to the
// whole router, SCIM and admin endpoints included, authenticated: nothing
// answers 5xx, and the store keeps agreeing with itself.
func FuzzRequest(f *testing.F) {
	for _, s := range []struct{ method, path, query, body string }{
		{"GET", "/scim/v2/Users", "filter=userName%20eq%20%22a%22&attributes=emails[type%20eq%20%22work%22]", ""},
		{"POST", "/scim/v2/Users", "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"f@x","emails":[{"value":"f@x"}]}`},
		{"POST", "/scim/v2/Groups", "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":[{"value":"x"}]}`},
		{"PATCH", "/scim/v2/Users/x", "excludedAttributes=members", `{"Operations":[{"op":"add","value":{"name.givenName":"x"}}]}`},
		{"POST", "/scim/v2/Bulk", "", `{"Operations":[{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":"b@x"}}]}`},
		{"GET", "/scim/v2/Users/%2e%2e/Groups", "startIndex=-5&count=99999999999", ""},
		{"DELETE", "/admin/deadletters/nope/1", "", ""},
		{"GET", "/admin/verify", "", ""},
		{"PUT", "/scim/v2/ResourceTypes/User", "", "{}"},
	} {
		f.Add(s.method, s.path, s.query, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n?#") || len(body) > 1<<16 {
			return
		}
		b := newBridge(t, "")
		ts := httptest.NewServer(newRouter(zerolog.Nop(), prometheus.NewRegistry(), b.app, ""))
		defer ts.Close()
		req, err := http.NewRequest(method, ts.URL+path+"?"+query, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		tok := e2eToken
		if strings.HasPrefix(path, "/admin") {
			tok = b.app.adminToken
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/scim+json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s?%s %q: %d", method, path, query, body, res.StatusCode)
		}
	})
}

// check-targets end to end: a group an administrator deleted in Webex is
// reported missing, and with repair comes back with its members.
func TestCheckTargetsRepairsWebex(t *testing.T) {
	b := newBridge(t, "  webex: {type: webex, enabled: true, simulate: true}\n")
	var ids []string
	for _, name := range []string{"a", "b"} {
		u := b.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`@example.com",
			"emails":[{"value":"`+name+`@example.com","type":"work","primary":true}],"active":true}`, http.StatusCreated)
		ids = append(ids, u["id"].(string))
	}
	g := b.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Ops",
		"members":[{"value":"`+ids[0]+`"},{"value":"`+ids[1]+`"}]}`, http.StatusCreated)
	b.settle()
	sim := b.sim(0).(*webexsim.Server)
	check := func(repair bool) []connectors.TargetCheckResult {
		t.Helper()
		if err := b.app.dispatcher.StartTargetCheck(nil, repair); err != nil {
			t.Fatal(err)
		}
		for b.app.dispatcher.TargetCheck().Running {
			time.Sleep(5 * time.Millisecond)
		}
		return b.app.dispatcher.TargetCheck().Results
	}
	missing := func(rs []connectors.TargetCheckResult) []string {
		var out []string
		for _, r := range rs {
			if r.Error != "" {
				t.Fatalf("%s %s: %s", r.Connector, r.Type, r.Error)
			}
			out = append(out, r.Missing...)
		}
		return out
	}
	if m := missing(check(false)); len(m) != 0 {
		t.Fatalf("missing before any drift: %v", m)
	}
	if !sim.RemoveGroup(sim.Groups()[0].TargetID) {
		t.Fatal("no group to remove")
	}
	if m := missing(check(false)); !slices.Equal(m, []string{g["id"].(string)}) {
		t.Fatalf("missing %v, want the group", m)
	}
	check(true)
	b.settle()
	if got := memberNames(sim, "Ops"); !slices.Equal(got, []string{"a@example.com", "b@example.com"}) {
		t.Errorf("after repair, Ops holds %v", got)
	}
	if m := missing(check(false)); len(m) != 0 {
		t.Errorf("still missing after repair: %v", m)
	}
}

// The CLI starts a check, waits for it and prints one row per connector
// and type, the missing ids, and the hint to repair.
func TestCheckTargetsCLI(t *testing.T) {
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer adm" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/admin/check-targets":
			if r.URL.Query().Get("connector") != "webex" {
				t.Errorf("query %q", r.URL.RawQuery)
			}
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"started":true}`))
		case r.Method == http.MethodGet && r.URL.Path == "/admin/check-targets":
			polls++
			if polls == 1 {
				_, _ = w.Write([]byte(`{"running":true,"results":[]}`))
				return
			}
			_, _ = w.Write([]byte(`{"running":false,"results":[{"connector":"webex","type":"Group","listed":3,"mapped":4,"missing":["g7"],"requeued":0,"unknown":1}]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	var out strings.Builder
	rootCmd.SetOut(&out)
	rootCmd.SetArgs([]string{"check-targets", "--server", srv.URL, "--admin-token", "adm", "--connector", "webex"})
	defer rootCmd.SetArgs(nil)
	defer rootCmd.SetOut(nil)
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"webex      Group  3          4          1        0         1", "webex Group missing: g7", "--repair"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if polls < 2 {
		t.Errorf("did not wait for the check (%d polls)", polls)
	}
}
