package secureauthsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// client signs requests the way the contract says, written apart from the
// connector's signer so the two check each other.
type client struct {
	t      *testing.T
	srv    *httptest.Server
	sim    *Server
	appID  string
	key    []byte
	now    func() time.Time
	millis atomic.Int64 // makes each request's date unique
}

func newClient(t *testing.T, opts Options) *client {
	t.Helper()
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, sim: sim, appID: sim.opts.AppID, key: sim.key, now: time.Now}
}

type reqOpt func(r *http.Request, body []byte)

// send signs and sends; opts may spoil the request after signing.
func (c *client) send(method, path, body string, opts ...reqOpt) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.srv.URL+path, rd)
	ts := c.now().UTC().Add(time.Duration(c.millis.Add(1)) * time.Millisecond).Format(extDateLayout)
	req.Header.Set("X-SA-Ext-Date", ts)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", c.auth(method, ts, req.URL.EscapedPath(), body))
	for _, o := range opts {
		o(req, []byte(body))
	}
	return c.do(req)
}

func (c *client) auth(method, ts, path, body string) string {
	s := method + "\n" + ts + "\n" + c.appID + "\n" + path
	if body != "" {
		s += "\n" + body
	}
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(s))
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.appID+":"+base64.StdEncoding.EncodeToString(m.Sum(nil))))
}

func (c *client) do(req *http.Request) (int, map[string]any, http.Header) {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	// Every answer is signed.
	date := resp.Header.Get("X-SA-Date")
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(date + "\n" + c.appID + "\n" + string(raw)))
	if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); resp.Header.Get("X-SA-Signature") != want {
		c.t.Errorf("%s %s: answer signature %q, want %q", req.Method, req.URL.Path, resp.Header.Get("X-SA-Signature"), want)
	}
	if _, err := time.Parse(dateLayout, date); err != nil {
		c.t.Errorf("X-SA-Date %q: %v", date, err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		c.t.Fatalf("%s %s: answer is not JSON: %q", req.Method, req.URL.Path, raw)
	}
	return resp.StatusCode, body, resp.Header
}

const base = "/secureauth2/api/v2"

func (c *client) mustCreate(id string) {
	c.t.Helper()
	if code, body, _ := c.send("POST", base+"/users/", `{"userId":"`+id+`","password":"Xy7!longpass","properties":{"firstName":"A","email1":"a@example.com"}}`); code != 200 || body["status"] != "success" {
		c.t.Fatalf("create %s: %d %v", id, code, body)
	}
}

func header(k, v string) reqOpt {
	return func(r *http.Request, _ []byte) {
		if v == "\x00" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
}

func TestAuthentication(t *testing.T) {
	c := newClient(t, Options{})
	path := base + "/users/nobody"
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	resign := func(date, layout string, at time.Time) reqOpt {
		return func(r *http.Request, body []byte) {
			r.Header.Del("X-SA-Ext-Date")
			ts := at.UTC().Format(layout)
			r.Header.Set(date, ts)
			r.Header.Set("Authorization", c.auth(r.Method, ts, r.URL.EscapedPath(), string(body)))
		}
	}
	tests := []struct {
		name string
		opt  reqOpt
		code int
		msg  string
	}{
		{"valid", nil, 404, "User Id was not found"},
		{"missing", header("Authorization", "\x00"), 401, msgMissing},
		{"empty", header("Authorization", " "), 401, msgEmpty},
		{"scheme", header("Authorization", "Bearer abc"), 401, msgScheme},
		{"not base64", header("Authorization", "Basic %%%"), 401, msgFormat},
		{"no colon", header("Authorization", basic("justonevalue")), 401, msgFormat},
		{"unknown app", header("Authorization", basic("0123:abcd")), 401, msgAppID},
		{"wrong hash", header("Authorization", basic(DefaultAppID+":"+base64.StdEncoding.EncodeToString(make([]byte, 32)))), 401, msgBadCreds},
		{"no date", header("X-SA-Ext-Date", "\x00"), 401, msgSkew},
		{"UTC not GMT", resign("X-SA-Ext-Date", "Mon, 02 Jan 2006 15:04:05.000 UTC", time.Now()), 401, msgSkew},
		{"skew past", resign("X-SA-Ext-Date", extDateLayout, time.Now().Add(-6*time.Minute)), 401, msgSkew},
		{"skew future", resign("X-SA-Ext-Date", extDateLayout, time.Now().Add(6*time.Minute)), 401, msgSkew},
		{"X-SA-Date", resign("X-SA-Date", dateLayout, time.Now().Add(-time.Minute)), 404, "User Id was not found"},
		{"Date", resign("Date", dateLayout, time.Now().Add(-2*time.Minute)), 404, "User Id was not found"},
		{"path changed after signing", func(r *http.Request, _ []byte) { r.URL.Path = base + "/users/somebody" }, 401, msgBadCreds},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []reqOpt
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			code, body, _ := c.send("GET", path, "", opts...)
			if code != tc.code || body["message"] != tc.msg {
				t.Errorf("got %d %v, want %d %q", code, body, tc.code, tc.msg)
			}
			if code == 401 && body["status"] != "invalid" {
				t.Errorf("status %v, want invalid", body["status"])
			}
		})
	}
}

func TestBodyIsSigned(t *testing.T) {
	c := newClient(t, Options{})
	// The signature covers the body: a body swapped after signing fails.
	swap := func(r *http.Request, _ []byte) {
		b := `{"userId":"mallory","password":"Xy7!longpass"}`
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader(b)), int64(len(b))
	}
	code, body, _ := c.send("POST", base+"/users/", `{"userId":"alice","password":"Xy7!longpass"}`, swap)
	if code != 401 || body["message"] != msgBadCreds {
		t.Errorf("swapped body: %d %v", code, body)
	}
	if len(c.sim.Users()) != 0 {
		t.Errorf("a user was created: %v", c.sim.Users())
	}
}

func TestReplay(t *testing.T) {
	c := newClient(t, Options{})
	req, _ := http.NewRequest("GET", c.srv.URL+base+"/users/x", nil)
	ts := time.Now().UTC().Format(extDateLayout)
	req.Header.Set("X-SA-Ext-Date", ts)
	req.Header.Set("Authorization", c.auth("GET", ts, base+"/users/x", ""))
	if code, body, _ := c.do(req.Clone(req.Context())); code != 404 {
		t.Fatalf("first: %d %v", code, body)
	}
	if code, body, _ := c.do(req.Clone(req.Context())); code != 401 || body["message"] != msgReplay {
		t.Errorf("replayed: %d %v, want 401 %q", code, body, msgReplay)
	}
}

func TestRoutes(t *testing.T) {
	c := newClient(t, Options{})
	c.mustCreate("jdoe")
	tests := []struct {
		name, method, path, body string
		code                     int
		status, msg              string
	}{
		{"v1 served too", "GET", "/secureauth2/api/v1/users/jdoe", "", 200, "found", ""},
		{"case-insensitive userId", "GET", base + "/users/JDOE", "", 200, "found", ""},
		{"unknown version", "GET", "/secureauth2/api/v3/users/jdoe", "", 404, "error", "Not_Found"},
		{"wrong realm", "GET", "/other/api/v2/users/jdoe", "", 404, "error", "Not_Found"},
		{"unknown route", "GET", base + "/users/jdoe/factors", "", 404, "error", "Not_Found"},
		{"create without slash", "POST", base + "/users", `{"userId":"x","password":"Xy7!longpass"}`, 404, "error", "Not_Found"},
		{"wrong method", "PATCH", base + "/users/jdoe", `{"properties":{}}`, 405, "error", "Method not allowed."},
		{"delete not enabled", "DELETE", base + "/users/", `{"user_id":"jdoe","deleteAllRelatedData":true,"domain":""}`, 404, "error", "Not_Found"},
		{"GET with body", "GET", base + "/users/jdoe", `{}`, 400, "failed", "Invalid request: no body expected."},
		{"unknown field", "PUT", base + "/users/jdoe", `{"properties":{},"userId":"jdoe"}`, 400, "failed", `Invalid request: unknown field "userId".`},
		{"null optional", "PUT", base + "/users/jdoe", `{"properties":null}`, 400, "failed", `Invalid request: "properties" is null.`},
		{"null property", "PUT", base + "/users/jdoe", `{"properties":{"firstName":null}}`, 400, "failed", `Invalid request: property "firstName" is null.`},
		{"unknown property", "PUT", base + "/users/jdoe", `{"properties":{"title":"x"}}`, 400, "failed", `Invalid request: unknown property "title".`},
		{"email5", "PUT", base + "/users/jdoe", `{"properties":{"email5":"a@b.c"}}`, 400, "failed", `Invalid request: unknown property "email5".`},
		{"ExtProperty", "PUT", base + "/users/jdoe", `{"properties":{"ExtProperty1":"x"}}`, 400, "failed", "Extended properties cannot be updated."},
		{"number property", "PUT", base + "/users/jdoe", `{"properties":{"auxId1":5}}`, 400, "failed", ""},
		{"bad email", "PUT", base + "/users/jdoe", `{"properties":{"email2":"nope"}}`, 400, "failed", "Invalid email."},
		{"update", "POST", base + "/users/jdoe", `{"properties":{"lastName":"Doe","firstName":""}}`, 200, "success", ""},
		{"update unknown", "PUT", base + "/users/ghost", `{"properties":{"lastName":"Doe"}}`, 404, "not_found", "User Id was not found"},
		{"duplicate", "POST", base + "/users/", `{"userId":"JDoe","password":"Xy7!longpass"}`, 400, "failed", "Duplicate username."},
		{"weak password", "POST", base + "/users/", `{"userId":"bob","password":"password"}`, 400, "failed", "Invalid password."},
		{"password has userId", "POST", base + "/users/", `{"userId":"bob","password":"Xy7!Bob12"}`, 400, "failed", "Invalid password."},
		{"no password", "POST", base + "/users/", `{"userId":"bob"}`, 400, "failed", "Invalid password."},
		{"bad userId", "POST", base + "/users/", `{"userId":"a/b","password":"Xy7!longpass"}`, 400, "failed", "Invalid username."},
		{"not an object", "POST", base + "/users/", `[]`, 400, "failed", "Invalid request: body must be a JSON object."},
		{"reset", "POST", base + "/users/jdoe/resetpwd", `{"password":"Zz9#another"}`, 200, "success", "Password was reset"},
		{"reset extra field", "POST", base + "/users/jdoe/resetpwd", `{"password":"Zz9#another","x":1}`, 400, "failed", `Invalid request: unknown field "x".`},
		{"reset unknown", "POST", base + "/users/ghost/resetpwd", `{"password":"Zz9#another"}`, 404, "not_found", "User Id was not found"},
		{"associate one", "POST", base + "/users/jdoe/groups/Admins", "", 200, "success", ""},
		{"associate one reverse", "POST", base + "/groups/Sales%2C%20EMEA/users/jdoe", "", 200, "success", ""},
		{"associate unknown user", "POST", base + "/groups/Admins/users/ghost", "", 400, "failure", "Failed to add user to group."},
		{"associate empty list", "POST", base + "/groups/Admins/users", `{"userIds":[]}`, 400, "failed", "Invalid request: empty list."},
		{"associate missing list", "POST", base + "/groups/Admins/users", `{}`, 400, "failed", `Invalid request: "userIds" is required.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := c.send(tc.method, tc.path, tc.body)
			if code != tc.code || body["status"] != tc.status || (tc.msg != "" && body["message"] != tc.msg) {
				t.Errorf("got %d %v, want %d %s %q", code, body, tc.code, tc.status, tc.msg)
			}
		})
	}
	_, got, _ := c.send("GET", base+"/users/jdoe", "")
	props, _ := got["properties"].(map[string]any)
	if _, ok := props["firstName"]; ok {
		t.Errorf(`firstName "" did not clear: %v`, props)
	}
	if ln, _ := props["lastName"].(map[string]any); ln["value"] != "Doe" || ln["isWritable"] != "true" {
		t.Errorf("lastName = %v", props["lastName"])
	}
	groups, _ := got["groups"].([]any)
	if len(groups) != 2 || groups[0] != "CN=Admins,OU=Groups,DC=secureauth,DC=sim" || groups[1] != `CN=Sales\, EMEA,OU=Groups,DC=secureauth,DC=sim` {
		t.Errorf("groups = %v", groups)
	}
	if u := c.sim.Users(); len(u) != 1 || u[0].Active {
		t.Errorf("after an admin reset: %+v, want one inactive user", u)
	}
}

func TestContentType(t *testing.T) {
	c := newClient(t, Options{})
	code, body, _ := c.send("POST", base+"/users/", `{"userId":"x","password":"Xy7!longpass"}`, header("Content-Type", "text/plain"))
	if code != 415 || body["status"] != "invalid" {
		t.Errorf("text/plain: %d %v", code, body)
	}
	code, body, _ = c.send("POST", base+"/users/", `{"userId":"carol","password":"Xy7!longpass"}`, header("Content-Type", "application/json; charset=utf-8"))
	if code != 200 {
		t.Errorf("with charset: %d %v", code, body)
	}
}

func TestListAssociations(t *testing.T) {
	c := newClient(t, Options{StrictGroups: true, Groups: []string{"Visitors", "Developers"}})
	c.mustCreate("jdoe")
	c.mustCreate("jsmith")
	code, body, _ := c.send("POST", base+"/groups/Visitors/users", `{"userIds":["jdoe","kmartin","jsmith","pjohnson"]}`)
	want := map[string]any{"failures": map[string]any{"Visitors": []any{"kmartin", "pjohnson"}}, "status": "failed", "message": "There were 2 association errors."}
	if code != 400 || !jsonEqual(body, want) {
		t.Errorf("group to users: %d %v, want %v", code, body, want)
	}
	code, body, _ = c.send("POST", base+"/users/jdoe/groups", `{"groupNames":["Developers","Nope"]}`)
	want = map[string]any{"failures": map[string]any{"jdoe": []any{"Nope"}}, "status": "failed", "message": "There were 1 association errors."}
	if code != 400 || !jsonEqual(body, want) {
		t.Errorf("user to groups: %d %v, want %v", code, body, want)
	}
	got := c.sim.Groups()
	if len(got) != 2 || got[0].Name != "Developers" || strings.Join(got[0].MemberTargetIDs, ",") != "jdoe" ||
		strings.Join(got[1].MemberTargetIDs, ",") != "jdoe,jsmith" {
		t.Errorf("groups = %+v", got)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestDelete(t *testing.T) {
	c := newClient(t, Options{AllowDelete: true})
	c.mustCreate("jdoe")
	c.send("POST", base+"/users/jdoe/groups/Admins", "")
	if code, body, _ := c.send("DELETE", base+"/users/", `{"user_id":"jdoe","deleteAllRelatedData":true}`); code != 400 {
		t.Errorf("without domain: %d %v", code, body)
	}
	if code, body, _ := c.send("DELETE", base+"/users/", `{"user_id":"jdoe","deleteAllRelatedData":true,"domain":""}`); code != 200 || body["status"] != "success" {
		t.Errorf("delete: %d %v", code, body)
	}
	if code, body, _ := c.send("DELETE", base+"/users/", `{"user_id":"jdoe","deleteAllRelatedData":true,"domain":""}`); code != 404 || body["status"] != "not_found" {
		t.Errorf("delete again: %d %v", code, body)
	}
	if len(c.sim.Users()) != 0 || len(c.sim.Groups()[0].MemberTargetIDs) != 0 {
		t.Errorf("after delete: %+v %+v", c.sim.Users(), c.sim.Groups())
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault      connectortest.Fault
		code       int
		status     string
		retryAfter string
	}{
		{connectortest.Fault429, 429, "error", ""},
		{connectortest.Fault429RetryAfter, 429, "error", "1"},
		{connectortest.Fault5xx, 500, "server_error", ""},
		{connectortest.FaultPermanent, 400, "failed", ""},
	}
	for _, tc := range tests {
		c := newClient(t, Options{})
		c.sim.FailNext(tc.fault, 1)
		code, body, h := c.send("GET", base+"/users/x", "")
		if code != tc.code || body["status"] != tc.status || h.Get("Retry-After") != tc.retryAfter {
			t.Errorf("fault %d: %d %v Retry-After %q", tc.fault, code, body, h.Get("Retry-After"))
		}
		if code, _, _ := c.send("GET", base+"/users/x", ""); code != 404 {
			t.Errorf("fault %d: next request %d, want 404", tc.fault, code)
		}
		if c.sim.Calls() != 2 {
			t.Errorf("calls = %d, want 2", c.sim.Calls())
		}
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Now()
	var mu atomic.Int64
	clock := func() time.Time { return now.Add(time.Duration(mu.Load())) }
	c := newClient(t, Options{Faults: simkit.Faults{RateLimit: 2, RateWindow: time.Minute, RetryAfter: time.Second}, Now: clock})
	c.now = clock
	for i, want := range []int{404, 404, 429} {
		code, _, h := c.send("GET", base+"/users/x", "")
		if code != want {
			t.Fatalf("request %d: %d, want %d", i, code, want)
		}
		if code == 429 && h.Get("Retry-After") != "60" {
			t.Errorf("Retry-After %q, want 60", h.Get("Retry-After"))
		}
	}
	mu.Store(int64(time.Minute))
	if code, _, _ := c.send("GET", base+"/users/x", ""); code != 404 {
		t.Errorf("next window: %d", code)
	}
}

func TestErrorRateDeterministic(t *testing.T) {
	run := func() string {
		c := newClient(t, Options{Faults: simkit.Faults{ErrorRate: 0.5, Seed: 7}})
		var b strings.Builder
		for range 20 {
			code, _, _ := c.send("GET", base+"/users/x", "")
			b.WriteString(http.StatusText(code)[:1])
		}
		return b.String()
	}
	a, b := run(), run()
	if a != b || !strings.Contains(a, "I") || !strings.Contains(a, "N") {
		t.Errorf("fail pattern %q then %q: want the same mix of 500s and 404s", a, b)
	}
}

func TestTamper(t *testing.T) {
	c := newClient(t, Options{})
	c.sim.TamperNext(1)
	req, _ := http.NewRequest("GET", c.srv.URL+base+"/users/x", nil)
	ts := time.Now().UTC().Format(extDateLayout)
	req.Header.Set("X-SA-Ext-Date", ts)
	req.Header.Set("Authorization", c.auth("GET", ts, base+"/users/x", ""))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(resp.Header.Get("X-SA-Date") + "\n" + c.appID + "\n" + string(raw)))
	if base64.StdEncoding.EncodeToString(m.Sum(nil)) == resp.Header.Get("X-SA-Signature") {
		t.Errorf("tampered answer %s still verifies", raw)
	}
}

func TestCredentialsAndBasePath(t *testing.T) {
	s := NewDefault()
	if s.BasePath() != "/secureauth2/api/v2" || s.Credentials()["app_id"] != DefaultAppID || s.Credentials()["app_key"] != DefaultAppKey {
		t.Errorf("BasePath %q Credentials %v", s.BasePath(), s.Credentials())
	}
}

func FuzzAuthorization(f *testing.F) {
	s := New(Options{})
	f.Add("Basic "+base64.StdEncoding.EncodeToString([]byte(DefaultAppID+":abc")), "Wed, 08 Apr 2015 21:37:33.123 GMT", []byte(`{}`))
	f.Add("Basic", "", []byte(nil))
	f.Fuzz(func(t *testing.T, auth, date string, body []byte) {
		r := httptest.NewRequest("POST", base+"/users/", strings.NewReader(string(body)))
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-SA-Ext-Date", date)
		s.mu.Lock()
		msg := s.authenticate(r, body)
		s.mu.Unlock()
		if msg == "" {
			t.Errorf("forged Authorization %q accepted", auth)
		}
	})
}

func FuzzProfile(f *testing.F) {
	f.Add([]byte(`{"properties":{"firstName":"a","email1":"a@b"},"knowledgeBase":{"kbq1":{"question":"q","answer":"a"}}}`))
	f.Add([]byte(`{"properties":{"auxId10":""}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, p, msg := decodeProfile(body)
		if msg != "" {
			return
		}
		for k, v := range p.Properties {
			if !writable(k) || v == nil {
				t.Errorf("accepted property %q = %v", k, v)
			}
		}
	})
}
