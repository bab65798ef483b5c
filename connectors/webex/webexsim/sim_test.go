package webexsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/simkit"
	"github.com/scimbridge/scimbridge/internal/testkit"
)

const base = "/identity/scim/sim-org/v2"

type client struct {
	t   *testing.T
	url string
}

func newSim(t *testing.T, opts Options) (*Server, client) {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, client{t, ts.URL}
}

// req sends body (a string of JSON, or "") and returns status, headers and
// the decoded answer.
func (c client) req(method, path, body string, hdr ...string) (int, http.Header, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, _ := http.NewRequest(method, c.url+path, rd)
	r.Header.Set("Authorization", "Bearer sim-access-token")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			r.Header.Del(hdr[i])
		} else {
			r.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, b)
		}
	}
	return resp.StatusCode, resp.Header, m
}

func userJSON(userName string) string {
	return fmt.Sprintf(`{"schemas":[%q],"userName":%q,"emails":[{"value":%q,"type":"work","primary":true}]}`, schemaUser, userName, userName)
}

func patchJSON(ops string) string {
	return fmt.Sprintf(`{"schemas":[%q],"Operations":[%s]}`, schemaPatchOp, ops)
}

// checkError asserts the contract's error body.
func checkError(t *testing.T, status int, body map[string]any) {
	t.Helper()
	schemas, _ := body["schemas"].([]any)
	if len(schemas) != 2 || schemas[0] != schemaError || schemas[1] != schemaCiscoError {
		t.Errorf("error schemas = %v", body["schemas"])
	}
	if body["status"] != fmt.Sprint(status) {
		t.Errorf("error status = %v, want %q", body["status"], fmt.Sprint(status))
	}
	ext, _ := body[schemaCiscoError].(map[string]any)
	if ext["trackingId"] == "" || ext["trackingId"] == nil || ext["errorCode"] == nil {
		t.Errorf("Cisco error extension = %v", ext)
	}
}

func TestContract(t *testing.T) {
	s, c := newSim(t, Options{})
	alice := s.AddUser("alice@example.com")
	s.AddUser("bob@example.com")
	s.AddGroup("Sales", alice)

	tests := []struct {
		name         string
		method, path string
		body         string
		hdr          []string
		want         int
	}{
		{"no token", "GET", base + "/Users", "", []string{"Authorization", ""}, 401},
		{"wrong token", "GET", base + "/Users", "", []string{"Authorization", "Bearer nope"}, 401},
		{"basic auth", "GET", base + "/Users", "", []string{"Authorization", "Basic c2ltOnNpbQ=="}, 401},
		{"other org", "GET", "/identity/scim/other/v2/Users", "", nil, 403},
		{"no v2", "GET", "/identity/scim/sim-org/v1/Users", "", nil, 404},
		{"unknown resource", "GET", base + "/Devices", "", nil, 404},
		{"trailing segment", "GET", base + "/Users/x/y", "", nil, 404},
		{"method not allowed", "PUT", base + "/Users", userJSON("c@example.com"), nil, 405},
		{"text/plain", "POST", base + "/Users", userJSON("c@example.com"), []string{"Content-Type", "text/plain"}, 415},
		{"no content type", "POST", base + "/Users", userJSON("c@example.com"), []string{"Content-Type", ""}, 415},
		{"unknown attribute", "POST", base + "/Users", `{"schemas":["` + schemaUser + `"],"userName":"c@example.com","favouriteColour":"red"}`, nil, 400},
		{"unknown nested attribute", "POST", base + "/Users", `{"schemas":["` + schemaUser + `"],"userName":"c@example.com","name":{"nick":"c"}}`, nil, 400},
		{"attribute in the wrong case", "POST", base + "/Users", `{"schemas":["` + schemaUser + `"],"UserName":"c@example.com"}`, nil, 400},
		{"sub-attribute in the wrong case", "POST", base + "/Users", `{"schemas":["` + schemaUser + `"],"userName":"c@example.com","name":{"GivenName":"c"}}`, nil, 400},
		{"bulk op key in the wrong case", "POST", base + "/Bulk", `{"schemas":["` + schemaBulkReq + `"],"Operations":[{"Method":"DELETE","bulkId":"1","path":"/Users/nope"}]}`, nil, 400},
		{"null attribute", "POST", base + "/Users", `{"schemas":["` + schemaUser + `"],"userName":"c@example.com","title":null}`, nil, 400},
		{"no core schema", "POST", base + "/Users", `{"schemas":["` + schemaEnterprise + `"],"userName":"c@example.com"}`, nil, 400},
		{"extension without its schema", "POST", base + "/Users", `{"schemas":["` + schemaUser + `"],"userName":"c@example.com","` + schemaEnterprise + `":{"department":"x"}}`, nil, 400},
		{"userName not an email", "POST", base + "/Users", userJSON("carol"), nil, 400},
		{"primary email differs", "POST", base + "/Users", `{"schemas":["` + schemaUser + `"],"userName":"c@example.com","emails":[{"value":"d@example.com","type":"work","primary":true}]}`, nil, 400},
		{"malformed JSON", "POST", base + "/Users", `{"schemas":`, nil, 400},
		{"duplicate userName, other case", "POST", base + "/Users", userJSON("ALICE@example.com"), nil, 409},
		{"unknown user", "GET", base + "/Users/nope", "", nil, 404},
		{"patch op upper-case", "PATCH", base + "/Users/" + alice, patchJSON(`{"op":"Replace","path":"title","value":"x"}`), nil, 400},
		{"patch lower-case operations key", "PATCH", base + "/Users/" + alice, `{"schemas":["` + schemaPatchOp + `"],"operations":[{"op":"replace","path":"title","value":"x"}]}`, nil, 400},
		{"patch wrong schema", "PATCH", base + "/Users/" + alice, `{"schemas":["` + schemaUser + `"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`, nil, 400},
		{"patch null value", "PATCH", base + "/Users/" + alice, patchJSON(`{"op":"replace","path":"title","value":null}`), nil, 400},
		{"patch unknown attribute", "PATCH", base + "/Users/" + alice, patchJSON(`{"op":"replace","path":"shoeSize","value":"9"}`), nil, 400},
		{"patch userName without email", "PATCH", base + "/Users/" + alice, patchJSON(`{"op":"replace","path":"userName","value":"alice2@example.com"}`), nil, 400},
		{"patch userName onto another user", "PATCH", base + "/Users/" + alice, patchJSON(`{"op":"replace","path":"userName","value":"bob@example.com"},{"op":"replace","path":"emails","value":[{"value":"bob@example.com","type":"work","primary":true}]}`), nil, 409},
		{"patch filter without match", "PATCH", base + "/Users/" + alice, patchJSON(`{"op":"replace","path":"emails[type eq \"home\"].value","value":"x@example.com"}`), nil, 400},
		{"patch unknown user", "PATCH", base + "/Users/nope", patchJSON(`{"op":"replace","path":"title","value":"x"}`), nil, 404},
		{"group without displayName", "POST", base + "/Groups", `{"schemas":["` + schemaGroup + `"],"displayName":""}`, nil, 400},
		{"group duplicate name", "POST", base + "/Groups", `{"schemas":["` + schemaGroup + `"],"displayName":"sales"}`, nil, 409},
		{"group unknown member", "POST", base + "/Groups", `{"schemas":["` + schemaGroup + `"],"displayName":"X","members":[{"value":"nope","type":"user"}]}`, nil, 400},
		{"group member type upper-case", "POST", base + "/Groups", `{"schemas":["` + schemaGroup + `"],"displayName":"X","members":[{"value":"` + alice + `","type":"User"}]}`, nil, 400},
		{"group patch unknown member", "PATCH", base + "/Groups/" + s.Groups()[0].TargetID, patchJSON(`{"op":"add","path":"members","value":[{"value":"nope","type":"user"}]}`), nil, 400},
		{"members of unknown group", "GET", base + "/Groups/nope/Members", "", nil, 404},
		{"bad startIndex", "GET", base + "/Users?startIndex=x", "", nil, 400},
		{"unsupported filter", "GET", base + "/Users?filter=" + url.QueryEscape(`title co "x"`), "", nil, 400},
		{"filter on unknown attribute", "GET", base + "/Users?filter=" + url.QueryEscape(`shoeSize eq "9"`), "", nil, 400},
		{"bulk wrong schema", "POST", base + "/Bulk", `{"schemas":["x"],"Operations":[{"method":"DELETE","bulkId":"1","path":"/Users/nope"}]}`, nil, 400},
		{"bulk without operations", "POST", base + "/Bulk", `{"schemas":["` + schemaBulkReq + `"]}`, nil, 400},
		{"bulk both casings", "POST", base + "/Bulk", `{"schemas":["` + schemaBulkReq + `"],"Operations":[],"operations":[]}`, nil, 400},
		{"bulk unknown key", "POST", base + "/Bulk", `{"schemas":["` + schemaBulkReq + `"],"Ops":[]}`, nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := c.req(tt.method, tt.path, tt.body, tt.hdr...)
			if status != tt.want {
				t.Fatalf("status = %d, want %d (%v)", status, tt.want, body)
			}
			checkError(t, status, body)
		})
	}
	if got := len(s.Users()); got != 2 {
		t.Errorf("rejected requests changed state: %d users", got)
	}
}

func TestUserLifecycle(t *testing.T) {
	s, c := newSim(t, Options{})
	status, _, u := c.req("POST", base+"/Users", userJSON("Carol@Example.com"), "Content-Type", "application/scim+json; charset=utf-8")
	if status != 201 || u["id"] == nil {
		t.Fatalf("create: %d %v", status, u)
	}
	id := u["id"].(string)
	if meta, _ := u["meta"].(map[string]any); meta["location"] != c.url+base+"/Users/"+id {
		t.Errorf("meta.location = %v", meta["location"])
	}
	ops := patchJSON(`{"op":"replace","path":"userName","value":"carol2@example.com"},` +
		`{"op":"replace","path":"emails","value":[{"value":"carol2@example.com","type":"work","primary":true}]},` +
		`{"op":"replace","path":"name.givenName","value":"Carol"},` +
		`{"op":"replace","path":"` + schemaEnterprise + `:department","value":"Sales"},` +
		`{"op":"replace","path":"active","value":false}`)
	status, _, u = c.req("PATCH", base+"/Users/"+id, ops)
	if status != 200 {
		t.Fatalf("patch: %d %v", status, u)
	}
	if u["userName"] != "carol2@example.com" || u["active"] != false {
		t.Errorf("patched user = %v", u)
	}
	if ent, _ := u[schemaEnterprise].(map[string]any); ent["department"] != "Sales" || !strings.Contains(fmt.Sprint(u["schemas"]), schemaEnterprise) {
		t.Errorf("extension not set with its schema: %v", u)
	}
	status, _, u = c.req("PATCH", base+"/Users/"+id, patchJSON(`{"op":"remove","path":"name.givenName"}`))
	if status != 200 || u["name"] != nil {
		t.Errorf("remove: %d %v", status, u)
	}
	if got := s.Users(); len(got) != 1 || got[0].Active || got[0].UserName != "carol2@example.com" {
		t.Errorf("Users() = %+v", got)
	}
	if status, _, _ := c.req("DELETE", base+"/Users/"+id, ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status, _, _ := c.req("DELETE", base+"/Users/"+id, ""); status != 404 {
		t.Errorf("second delete: %d", status)
	}
}

func TestGroupMembers(t *testing.T) {
	s, c := newSim(t, Options{})
	var ids []string
	for i := range 600 {
		ids = append(ids, s.AddUser(fmt.Sprintf("u%03d@example.com", i)))
	}
	g := s.AddGroup("Big", ids...)

	tests := []struct {
		query            string
		wantStart, wantN int
		wantFirst        string
	}{
		{"", 1, 500, ids[0]},
		{"?startIndex=501", 501, 100, ids[500]},
		{"?startIndex=11&count=5", 11, 5, ids[10]},
		{"?count=1000", 1, 500, ids[0]},
		{"?startIndex=0&count=1", 1, 1, ids[0]},
		{"?startIndex=601", 601, 0, ""},
		{"?memberType=group", 1, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, _, body := c.req("GET", base+"/Groups/"+g+"/Members"+tt.query, "")
			if status != 200 {
				t.Fatalf("status %d %v", status, body)
			}
			members, _ := body["members"].([]any)
			if len(members) != tt.wantN || body["itemsPerPage"] != float64(tt.wantN) || body["startIndex"] != float64(tt.wantStart) {
				t.Errorf("got %d members, itemsPerPage %v, startIndex %v", len(members), body["itemsPerPage"], body["startIndex"])
			}
			if want := 600.0; tt.query != "?memberType=group" && body["memberSize"] != want {
				t.Errorf("memberSize = %v", body["memberSize"])
			}
			if fmt.Sprint(body["schemas"]) != "["+schemaMembers+"]" || body["displayName"] != "Big" {
				t.Errorf("shape: %v %v", body["schemas"], body["displayName"])
			}
			if tt.wantN > 0 {
				if m := members[0].(map[string]any); m["value"] != tt.wantFirst || m["type"] != "user" || m["display"] == "" {
					t.Errorf("first member = %v", m)
				}
			}
		})
	}
	status, _, body := c.req("GET", base+"/Groups/"+g, "")
	if members, _ := body["members"].([]any); status != 200 || len(members) != 500 {
		t.Errorf("GET group returns %d members, want 500", len(members))
	}
	_, _, body = c.req("GET", base+"/Groups?filter="+url.QueryEscape(`displayName Eq "big"`), "")
	res, _ := body["Resources"].([]any)
	if len(res) != 1 || res[0].(map[string]any)["members"] != nil {
		t.Errorf("list without includeMembers: %v", body)
	}
	remove := patchJSON(fmt.Sprintf(`{"op":"remove","path":"members[value eq \"%s\"]"}`, ids[3]))
	if status, _, body := c.req("PATCH", base+"/Groups/"+g, remove); status != 200 {
		t.Fatalf("member remove: %d %v", status, body)
	}
	if n := len(s.Groups()[0].MemberTargetIDs); n != 599 {
		t.Errorf("members after remove: %d", n)
	}
}

func TestListPaging(t *testing.T) {
	s, c := newSim(t, Options{})
	for i := range 7 {
		s.AddUser(fmt.Sprintf("p%d@example.com", i))
	}
	tests := []struct {
		query         string
		total, n, idx int
	}{
		{"", 7, 7, 1},
		{"?startIndex=3&count=2", 7, 2, 3},
		{"?startIndex=7&count=5", 7, 1, 7},
		{"?startIndex=8", 7, 0, 8},
		{"?count=0", 7, 0, 1},
		{"?filter=" + url.QueryEscape(`userName eq "P3@example.com" or userName eq "p5@example.com"`), 2, 2, 1},
		{"?filter=" + url.QueryEscape(`userName eq "nobody@example.com"`), 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, _, body := c.req("GET", base+"/Users"+tt.query, "")
			res, ok := body["Resources"].([]any)
			if status != 200 || !ok {
				t.Fatalf("%d %v", status, body)
			}
			if body["totalResults"] != float64(tt.total) || len(res) != tt.n || body["itemsPerPage"] != float64(tt.n) || body["startIndex"] != float64(tt.idx) {
				t.Errorf("totalResults %v itemsPerPage %v startIndex %v len %d", body["totalResults"], body["itemsPerPage"], body["startIndex"], len(res))
			}
			if fmt.Sprint(body["schemas"]) != "["+schemaList+"]" {
				t.Errorf("schemas %v", body["schemas"])
			}
		})
	}
}

func TestBulk(t *testing.T) {
	for _, key := range []string{"Operations", "operations"} {
		t.Run(key, func(t *testing.T) {
			s, c := newSim(t, Options{})
			existing := s.AddUser("dup@example.com")
			body := fmt.Sprintf(`{"schemas":[%q],%q:[
				{"method":"POST","bulkId":"a","path":"/Users","data":%s},
				{"method":"POST","bulkId":"b","path":"/Users","data":%s},
				{"method":"POST","bulkId":"c","path":"/Users","data":%s},
				{"method":"PATCH","bulkId":"d","path":"/Users/%s","data":%s},
				{"method":"DELETE","bulkId":"e","path":"/Users/nope"},
				{"method":"PUT","bulkId":"f","path":"/Users/%s","data":%s}]}`,
				schemaBulkReq, key, userJSON("new@example.com"), userJSON("DUP@example.com"), userJSON("bad"),
				existing, patchJSON(`{"op":"replace","path":"title","value":"Boss"}`), existing, userJSON("dup@example.com"))
			status, _, resp := c.req("POST", base+"/Bulk", body)
			if status != 200 {
				t.Fatalf("bulk: %d %v", status, resp)
			}
			ops, _ := resp["Operations"].([]any)
			want := []string{"201", "409", "400", "200", "404", "400"}
			if len(ops) != len(want) {
				t.Fatalf("got %d results: %v", len(ops), resp)
			}
			for i, o := range ops {
				o := o.(map[string]any)
				if o["status"] != want[i] {
					t.Errorf("op %d status %v, want %s", i, o["status"], want[i])
				}
				if want[i] >= "400" {
					checkError(t, atoi(want[i]), o["response"].(map[string]any))
				}
			}
			loc := ops[0].(map[string]any)["location"].(string)
			id := loc[strings.LastIndex(loc, "/")+1:]
			if u := s.Users(); len(u) != 2 || u[1].TargetID != id || u[1].UserName != "new@example.com" {
				t.Errorf("users after bulk = %+v, location %s", u, loc)
			}
			if s.Calls() != 1 {
				t.Errorf("Calls() = %d, want 1", s.Calls())
			}
		})
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func TestBulkLimit(t *testing.T) {
	_, c := newSim(t, Options{})
	var ops []string
	for i := range MaxBulkOperations + 1 {
		ops = append(ops, fmt.Sprintf(`{"method":"POST","bulkId":"%d","path":"/Users","data":%s}`, i, userJSON(fmt.Sprintf("b%d@example.com", i))))
	}
	status, _, body := c.req("POST", base+"/Bulk", fmt.Sprintf(`{"schemas":[%q],"Operations":[%s]}`, schemaBulkReq, strings.Join(ops, ",")))
	if status != 413 {
		t.Fatalf("101 operations: %d", status)
	}
	checkError(t, status, body)
	status, _, body = c.req("POST", base+"/Bulk", fmt.Sprintf(`{"schemas":[%q],"Operations":[%s]}`, schemaBulkReq, strings.Join(ops[:100], ",")))
	if status != 200 || len(body["Operations"].([]any)) != 100 {
		t.Fatalf("100 operations: %d", status)
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTokens(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, c := newSim(t, Options{TokenLifetime: time.Minute, RotateRefreshToken: true, Now: clk.Now})
	if status, _, _ := c.req("GET", base+"/Users", ""); status != 200 {
		t.Fatalf("fresh token: %d", status)
	}
	clk.Add(time.Minute)
	if status, _, _ := c.req("GET", base+"/Users", ""); status != 401 {
		t.Fatalf("expired token: %d", status)
	}

	refresh := func(form url.Values) (int, map[string]any) {
		resp, err := http.PostForm(c.url+"/v1/access_token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	good := url.Values{"grant_type": {"refresh_token"}, "client_id": {"sim-client"}, "client_secret": {"sim-secret"}, "refresh_token": {"sim-refresh-token"}}
	for _, tt := range []struct {
		name, key, value string
		want             int
	}{
		{"wrong grant", "grant_type", "client_credentials", 400},
		{"wrong secret", "client_secret", "nope", 401},
		{"wrong refresh token", "refresh_token", "nope", 400},
	} {
		f := url.Values{}
		for k, v := range good {
			f[k] = v
		}
		f.Set(tt.key, tt.value)
		if status, body := refresh(f); status != tt.want || body["message"] == nil {
			t.Errorf("%s: %d %v", tt.name, status, body)
		}
	}
	status, tok := refresh(good)
	if status != 200 || tok["access_token"] == nil || tok["expires_in"] != 60.0 || tok["refresh_token"] == "sim-refresh-token" {
		t.Fatalf("refresh: %d %v", status, tok)
	}
	if status, _, _ := c.req("GET", base+"/Users", "", "Authorization", "Bearer "+tok["access_token"].(string)); status != 200 {
		t.Errorf("refreshed token: %d", status)
	}
	if status, _ := refresh(good); status != 400 {
		t.Errorf("rotated-out refresh token accepted: %d", status)
	}
	s.ExpireTokens()
	if status, _, _ := c.req("GET", base+"/Users", "", "Authorization", "Bearer "+tok["access_token"].(string)); status != 401 {
		t.Errorf("after ExpireTokens: %d", status)
	}
	if s.TokenRequests() != 5 || s.Calls() != 4 {
		t.Errorf("TokenRequests %d Calls %d", s.TokenRequests(), s.Calls())
	}
	if cr := s.Credentials(); cr["refresh_token"] != tok["refresh_token"] || cr["token_url"] != "/v1/access_token" || cr["org_id"] != "sim-org" {
		t.Errorf("Credentials() = %v", cr)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		fault      connectortest.Fault
		want       []int
		retryAfter string
	}{
		{"FailNext 429", Options{}, connectortest.Fault429, []int{429, 429, 200}, ""},
		{"FailNext 429 Retry-After", Options{}, connectortest.Fault429RetryAfter, []int{429, 429, 200}, "1"},
		{"FailNext 5xx", Options{}, connectortest.Fault5xx, []int{503, 503, 200}, ""},
		{"FailNext permanent", Options{}, connectortest.FaultPermanent, []int{400, 400, 200}, ""},
		{"rate limit", Options{Faults: simkit.Faults{RateLimit: 2, RateWindow: time.Hour, RetryAfter: time.Second}}, 0, []int{200, 200, 429}, "3600"},
		{"rate limit without Retry-After", Options{Faults: simkit.Faults{RateLimit: 1, RateWindow: time.Hour}}, 0, []int{200, 429, 429}, ""},
		{"error rate", Options{Faults: simkit.Faults{ErrorRate: 1}}, 0, []int{503, 503, 503}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newSim(t, tt.opts)
			if tt.fault != 0 {
				s.FailNext(tt.fault, 2)
			}
			var got []int
			var ra string
			for range tt.want {
				status, h, body := c.req("GET", base+"/Users", "")
				got = append(got, status)
				if status >= 400 {
					checkError(t, status, body)
					if status == 429 {
						ra = h.Get("Retry-After")
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || ra != tt.retryAfter {
				t.Errorf("statuses %v Retry-After %q, want %v %q", got, ra, tt.want, tt.retryAfter)
			}
			if s.Calls() != len(tt.want) {
				t.Errorf("Calls() = %d", s.Calls())
			}
		})
	}
}

func TestTrackingIDEchoed(t *testing.T) {
	_, c := newSim(t, Options{})
	_, h, body := c.req("GET", base+"/Users/nope", "", "TrackingID", "TEST_123")
	ext, _ := body[schemaCiscoError].(map[string]any)
	if ext["trackingId"] != "TEST_123" || h.Get("TrackingID") != "TEST_123" {
		t.Errorf("trackingId %v header %q", ext["trackingId"], h.Get("TrackingID"))
	}
}

func FuzzPatch(f *testing.F) {
	f.Add(patchJSON(`{"op":"replace","path":"title","value":"x"}`))
	f.Add(patchJSON(`{"op":"remove","path":"emails[type eq \"work\"].value"}`))
	f.Add(patchJSON(`{"op":"add","value":{"nickName":"n"}}`))
	f.Add(`{"schemas":[],"Operations":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		s := New(Options{})
		id := s.AddUser("f@example.com")
		s.mu.Lock()
		r := s.patchUser(id, []byte(body), "http://x")
		s.mu.Unlock()
		if r.status == 0 {
			t.Fatal("no status")
		}
		if u := s.Users(); len(u) != 1 || !strings.Contains(u[0].UserName, "@") {
			t.Fatalf("state broken: %+v", u)
		}
	})
}

// TestGoldenAnswers pins the JSON shapes the simulator answers with.
func TestGoldenAnswers(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, c := newSim(t, Options{Now: clk.Now})
	alice := s.AddUser("alice@example.com")
	steps := []struct{ method, path, body string }{
		{"POST", base + "/Users", `{"schemas":["` + schemaUser + `","` + schemaEnterprise + `"],"userName":"bob@example.com","active":true,` +
			`"name":{"givenName":"Bob","familyName":"Lee"},"emails":[{"value":"bob@example.com","type":"work","primary":true}],"` + schemaEnterprise + `":{"department":"R&D"}}`},
		{"POST", base + "/Users", userJSON("ALICE@example.com")},
		{"GET", base + "/Users?filter=" + url.QueryEscape(`userName eq "alice@example.com"`), ""},
		{"POST", base + "/Groups", `{"schemas":["` + schemaGroup + `"],"displayName":"Eng","members":[{"value":"` + alice + `","type":"user"}]}`},
		{"GET", base + "/Groups/00000002-5eb0-4a1e-8000-000000000005/Members?count=1", ""},
		{"POST", base + "/Bulk", `{"schemas":["` + schemaBulkReq + `"],"Operations":[{"method":"POST","bulkId":"1","path":"/Users","data":` + userJSON("carl@example.com") +
			`},{"method":"DELETE","bulkId":"2","path":"/Users/nope"}]}`},
	}
	var b strings.Builder
	for _, st := range steps {
		status, _, body := c.req(st.method, st.path, st.body, "TrackingID", "GOLDEN_1")
		out, _ := json.MarshalIndent(body, "", "  ")
		fmt.Fprintf(&b, "%s %s -> %d\n%s\n", st.method, st.path, status, strings.ReplaceAll(string(out), c.url, "http://sim"))
	}
	testkit.Golden(t, "answers.golden", []byte(b.String()))
}

// Group writes inside /Bulk follow the contract (method POST, PATCH or
// DELETE; path /Groups or /Groups/{id}): the same strict shapes, the same
// errors per operation as the single endpoints, the location of a created
// group, and no response body on success. (A null anywhere refuses the
// whole request, as for users.)
func TestBulkGroups(t *testing.T) {
	s, c := newSim(t, Options{})
	u1, u2 := s.AddUser("bg1@example.com"), s.AddUser("bg2@example.com")
	existing := s.AddGroup("Taken")
	doomed := s.AddGroup("Doomed", u1)
	group := func(name string, members ...string) string {
		var ms []string
		for _, m := range members {
			ms = append(ms, fmt.Sprintf(`{"value":%q,"type":"user"}`, m))
		}
		return fmt.Sprintf(`{"schemas":[%q],"displayName":%q,"members":[%s]}`, schemaGroup, name, strings.Join(ms, ","))
	}
	tests := []struct {
		name, method, path, data string
		status                   string
	}{
		{"create with members", "POST", "/Groups", group("Fresh", u1, u2), "201"},
		{"create duplicate displayName", "POST", "/Groups", group("taken"), "409"},
		{"create with unknown member", "POST", "/Groups", group("Stray", "not-a-user"), "400"},
		{"create with unknown attribute", "POST", "/Groups", `{"schemas":["` + schemaGroup + `"],"displayName":"X","Members":[]}`, "400"},
		{"create without schemas", "POST", "/Groups", `{"displayName":"Z"}`, "400"},
		{"add members", "PATCH", "/Groups/" + existing, patchJSON(fmt.Sprintf(`{"op":"add","path":"members","value":[{"value":%q,"type":"user"}]}`, u2)), "200"},
		{"add unknown member", "PATCH", "/Groups/" + existing, patchJSON(`{"op":"add","path":"members","value":[{"value":"nope","type":"user"}]}`), "400"},
		{"upper-case op", "PATCH", "/Groups/" + existing, patchJSON(`{"op":"Add","path":"members","value":[]}`), "400"},
		{"patch unknown group", "PATCH", "/Groups/nope", patchJSON(`{"op":"replace","path":"displayName","value":"N"}`), "404"},
		{"remove member", "PATCH", "/Groups/" + doomed, patchJSON(fmt.Sprintf(`{"op":"remove","path":"members[value eq \"%s\"]"}`, u1)), "200"},
		{"delete", "DELETE", "/Groups/" + doomed, "", "204"},
		{"delete again", "DELETE", "/Groups/" + doomed, "", "404"},
		{"members path", "PATCH", "/Groups/" + existing + "/Members", patchJSON(`{"op":"add","path":"members","value":[]}`), "400"},
		{"put", "PUT", "/Groups/" + existing, group("Taken"), "400"},
		{"delete with data", "DELETE", "/Groups/" + existing, group("Taken"), "400"},
	}
	var ops []string
	for i, tt := range tests {
		op := fmt.Sprintf(`{"method":%q,"bulkId":"b%d","path":%q`, tt.method, i, tt.path)
		if tt.data != "" {
			op += `,"data":` + tt.data
		}
		ops = append(ops, op+"}")
	}
	status, _, resp := c.req("POST", base+"/Bulk", fmt.Sprintf(`{"schemas":[%q],"Operations":[%s]}`, schemaBulkReq, strings.Join(ops, ",")))
	if status != 200 {
		t.Fatalf("bulk: %d %v", status, resp)
	}
	got, _ := resp["Operations"].([]any)
	if len(got) != len(tests) {
		t.Fatalf("%d answers for %d operations: %v", len(got), len(tests), resp)
	}
	var freshLoc string
	for i, tt := range tests {
		o := got[i].(map[string]any)
		if o["bulkId"] != fmt.Sprintf("b%d", i) || o["method"] != tt.method || o["status"] != tt.status {
			t.Errorf("%s: answer %v, want status %s", tt.name, o, tt.status)
			continue
		}
		if tt.status >= "400" {
			checkError(t, atoi(tt.status), o["response"].(map[string]any))
		} else if o["response"] != nil {
			t.Errorf("%s: success carries a response body %v", tt.name, o["response"])
		}
		if tt.name == "create with members" {
			freshLoc, _ = o["location"].(string)
		}
	}
	groups := s.Groups()
	if len(groups) != 2 || groups[0].TargetID != existing || groups[1].Name != "Fresh" {
		t.Fatalf("groups after bulk = %+v", groups)
	}
	if want := "http://" + strings.TrimPrefix(c.url, "http://") + base + "/Groups/" + groups[1].TargetID; freshLoc != want {
		t.Errorf("location %q, want %q", freshLoc, want)
	}
	if fmt.Sprint(groups[1].MemberTargetIDs) != fmt.Sprint([]string{u1, u2}) || fmt.Sprint(groups[0].MemberTargetIDs) != fmt.Sprint([]string{u2}) {
		t.Errorf("members after bulk = %+v", groups)
	}
}

// 100 group creates fit in one /Bulk; 101 are refused whole with 413 and
// nothing is created.
func TestBulkGroupsLimit(t *testing.T) {
	s, c := newSim(t, Options{})
	var ops []string
	for i := range MaxBulkOperations + 1 {
		ops = append(ops, fmt.Sprintf(`{"method":"POST","bulkId":"%d","path":"/Groups","data":{"schemas":[%q],"displayName":"G%03d"}}`, i, schemaGroup, i))
	}
	status, _, body := c.req("POST", base+"/Bulk", fmt.Sprintf(`{"schemas":[%q],"Operations":[%s]}`, schemaBulkReq, strings.Join(ops, ",")))
	if status != 413 || len(s.Groups()) != 0 {
		t.Fatalf("101 operations: %d, %d groups", status, len(s.Groups()))
	}
	checkError(t, status, body)
	status, _, body = c.req("POST", base+"/Bulk", fmt.Sprintf(`{"schemas":[%q],"Operations":[%s]}`, schemaBulkReq, strings.Join(ops[:100], ",")))
	if status != 200 || len(body["Operations"].([]any)) != 100 || len(s.Groups()) != 100 {
		t.Fatalf("100 operations: %d, %d groups", status, len(s.Groups()))
	}
}

// TestNoTargetOnRemove: a remove of a member who is not one is a no-op by
// default and 400 noTarget with NoTargetOnRemove (RFC 7644 §3.12).
func TestNoTargetOnRemove(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprint(strict), func(t *testing.T) {
			s, c := newSim(t, Options{NoTargetOnRemove: strict})
			a, b := s.AddUser("a@example.com"), s.AddUser("b@example.com")
			g := s.AddGroup("G", a)
			status, _, body := c.req("PATCH", base+"/Groups/"+g, patchJSON(`{"op":"remove","path":"members[value eq \"`+b+`\"]"}`))
			switch {
			case !strict && status != 200:
				t.Errorf("lenient: %d %v", status, body)
			case strict && (status != 400 || body["scimType"] != "noTarget"):
				t.Errorf("strict: %d %v, want 400 noTarget", status, body)
			}
			if strict {
				checkError(t, status, body)
			}
			if status, _, body := c.req("PATCH", base+"/Groups/"+g, patchJSON(`{"op":"remove","path":"members[value eq \"`+a+`\"]"}`)); status != 200 {
				t.Errorf("remove of a member: %d %v", status, body)
			}
		})
	}
}
