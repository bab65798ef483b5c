package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/store"
)

const activityAdminToken = "activity-admin-token-0123456789"

// activityBridge is the whole program behind its real router (request
// ids, access log), with the activity log configured by activityYAML.
type activityBridge struct {
	*bridge
	base string // server root
	db   *store.DB
}

func newActivityBridge(t *testing.T, connectorsYAML, activityYAML string) *activityBridge {
	t.Helper()
	cfg, err := config.Parse([]byte("tokens: ["+e2eToken+"]\nconnectors:\n"+connectorsYAML+activityYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "scimbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	a, err := buildApp(cfg, db, cfg.Tokens, activityAdminToken, reg, zerolog.Nop())
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.start(ctx)
	ts := httptest.NewServer(newRouter(zerolog.Nop(), reg, a, ""))
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
	return &activityBridge{bridge: &bridge{t: t, app: a, scim: ts.URL + "/scim/v2"}, base: ts.URL, db: db}
}

// admin GETs an admin API path and returns the body.
func (b *activityBridge) admin(path string) []byte {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+activityAdminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	return body
}

func (b *activityBridge) timeline(q string) []activity.Event {
	b.t.Helper()
	var all []activity.Event
	cursor := ""
	for {
		var p activity.Page
		path := "/admin/activity?limit=7&resource=" + url.QueryEscape(q)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if err := json.Unmarshal(b.admin(path), &p); err != nil {
			b.t.Fatal(err)
		}
		all = append(all, p.Events...)
		if cursor = p.Next; cursor == "" {
			return all
		}
	}
}

const twoConnectors = "  webex: {type: webex, enabled: true, simulate: true}\n  scc: {type: scc, enabled: true, simulate: true}\n"

// Every acknowledged write appears exactly once in its resource's
// timeline, with its request id and client, followed by each connector's
// delivery; the timeline is found by id, email, the current userName and
// the one it had before a rename, also after the delete.
func TestTimelineHasEveryWriteOnceThenItsDeliveries(t *testing.T) {
	b := newActivityBridge(t, twoConnectors, "")
	u := b.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jane@example.com",
		"name":{"givenName":"Jane","familyName":"Doe"},"emails":[{"value":"jane@example.com","type":"work","primary":true}],"active":true}`, http.StatusCreated)
	id := u["id"].(string)
	b.settle()
	b.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","path":"active","value":false}]}`, http.StatusNoContent)
	b.settle()
	b.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","path":"userName","value":"jane.doe@example.com"}]}`, http.StatusNoContent)
	b.settle()
	b.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales",
		"members":[{"value":"`+id+`"}]}`, http.StatusCreated)
	b.settle()
	b.do("DELETE", "/Users/"+id, "", http.StatusNoContent)
	b.settle()

	evs := b.timeline("jane@example.com") // the name it had before the rename
	var methods []string
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		if ev.ID != id {
			t.Errorf("event of another resource: %+v", ev)
		}
		if ev.Kind == activity.KindSCIM {
			methods = append(methods, ev.Method)
			// auth's registry names the clients ("tokens": the legacy list).
			if ev.Client != "tokens" || ev.RequestID == "" {
				t.Errorf("write without client or request id: %+v", ev)
			}
		}
	}
	if got := strings.Join(methods, " "); got != "POST PATCH PATCH DELETE" {
		t.Errorf("writes in the timeline: %s, want POST PATCH PATCH DELETE", got)
	}
	// Each write comes before what it queued, and everything queued has
	// an outcome (oldest first). The deactivation reaches both targets;
	// the rename changes nothing either maps.
	pending := map[string]bool{}
	lastWrite := ""
	delivered := map[string]map[string]bool{}
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		switch {
		case ev.Kind == activity.KindSCIM:
			lastWrite = ev.Method + " " + strings.Join(mapsKeys(ev.Changes), ",")
			delivered[lastWrite] = map[string]bool{}
		case ev.Kind == activity.KindQueued:
			if lastWrite == "" {
				t.Errorf("queued before any write: %+v", ev)
			}
			pending[ev.Connector] = true
		case ev.Kind == activity.KindDelivered:
			if !pending[ev.Connector] {
				t.Errorf("delivered without a queued change: %+v", ev)
			}
			pending[ev.Connector] = false
			delivered[lastWrite][ev.Connector] = true
		case ev.Failed():
			t.Errorf("failure: %+v", ev)
		}
	}
	for c, p := range pending {
		if p {
			t.Errorf("%s: a queued change has no outcome", c)
		}
	}
	for _, w := range []string{"POST active,emails,name,userName", "PATCH active", "DELETE "} {
		if !delivered[w]["webex"] || !delivered[w]["scc"] {
			t.Errorf("%q delivered to %v, want webex and scc", w, delivered[w])
		}
	}
	for _, q := range []string{id, "JANE.DOE@example.com"} {
		if n := len(b.timeline(q)); n != len(evs) {
			t.Errorf("timeline of %q: %d events, of the old name %d", q, n, len(evs))
		}
	}
	ge := b.timeline("sales")
	if len(ge) == 0 || ge[len(ge)-1].Kind != activity.KindSCIM || ge[len(ge)-1].Changes["members"] == nil {
		t.Errorf("group timeline: %+v", ge)
	}
	// The CLI's table reads the same events.
	var out bytes.Buffer
	c := &adminClient{base: b.base, token: activityAdminToken, http: http.DefaultClient}
	if err := c.history(context.Background(), &out, "jane.doe@example.com", 200, false); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "tokens PATCH active=false → 204 · ") || !strings.Contains(s, "webex delivered") ||
		!strings.Contains(s, "tokens DELETE") {
		t.Errorf("history:\n%s", s)
	}
	out.Reset()
	if err := c.recent(context.Background(), &out, url.Values{"connector": {"scc"}, "since": {"1h"}}, false); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "scc") || strings.Contains(s, "webex") {
		t.Errorf("activity --connector scc:\n%s", s)
	}
}

func mapsKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// No password, token, client secret or redacted attribute value appears
// in the activity log's buckets, its API answers or the console's pages;
// a redacted attribute is still named as changed.
func TestActivityKeepsNoSecret(t *testing.T) {
	const connectorsYAML = twoConnectors + "  secureauth: {type: secureauth, enabled: true, simulate: true}\n"
	b := newActivityBridge(t, connectorsYAML, "activity:\n  redact: [nickName, employeeNumber]\n")
	secrets := []string{e2eToken, activityAdminToken, "Pa55word-Never-Logged", "Pa55word-Changed-Later", "Nick-Redacted-42", "EMP-Redacted-77"}
	for _, sim := range b.app.simulators {
		for _, v := range sim.Credentials() {
			if len(v) >= 8 {
				secrets = append(secrets, v)
			}
		}
	}
	u := b.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"userName":"kim@example.com","password":"Pa55word-Never-Logged","nickName":"Nick-Redacted-42",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"EMP-Redacted-77"},
		"emails":[{"value":"kim@example.com","type":"work","primary":true}],"active":true}`, http.StatusCreated)
	id := u["id"].(string)
	b.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","path":"password","value":"Pa55word-Changed-Later"},{"op":"replace","path":"nickName","value":"Nick-Redacted-42"}]}`, http.StatusNoContent)
	b.settle()

	evs := b.timeline(id)
	if len(evs) == 0 || evs[len(evs)-1].Changes["nickName"] != "(redacted)" {
		t.Fatalf("the create does not name nickName as redacted: %+v", evs)
	}
	var seen []string
	check := func(where string, text []byte) {
		for _, s := range secrets {
			if bytes.Contains(text, []byte(s)) {
				t.Errorf("%s shows the secret %q", where, s)
			}
		}
		seen = append(seen, where)
	}
	err := b.db.View(func(tx *store.Tx) error {
		return tx.Dump(func(bucket string, k, v []byte) error {
			if strings.HasPrefix(bucket, "act/") {
				check("bucket "+bucket, append(append([]byte{}, k...), v...))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/admin/activity?resource=" + id, "/admin/activity?resource=kim@example.com", "/admin/activity", "/admin/activity?kind=scim"} {
		check(p, b.admin(p))
	}
	// The console's pages, signed in.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.PostForm(b.base+"/admin/ui/signin", url.Values{"token": {activityAdminToken}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, p := range []string{"/admin/ui/activity", "/admin/ui/lookup?q=kim@example.com", "/admin/ui/"} {
		res, err := c.Get(b.base + p)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("Sign out")) && !bytes.Contains(page, []byte("sign out")) {
			t.Errorf("%s: %d, not signed in?\n%.300s", p, res.StatusCode, page)
		}
		check("page "+p, page)
	}
	if len(seen) < 8 {
		t.Errorf("checked only %v", seen)
	}
}
