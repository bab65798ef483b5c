package secureaccesssim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// fast disables the rate limit for tests about other things.
var fast = Options{NoRateLimit: true}

func basic(key, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret))
}

func do(t *testing.T, h http.Handler, method, path, auth, ctype, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func token(t *testing.T, s *Server) string {
	t.Helper()
	w := do(t, s, "POST", TokenPath, basic(s.opts.APIKey, s.opts.APISecret), "application/x-www-form-urlencoded", "grant_type=client_credentials")
	if w.Code != 200 {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.AccessToken == "" {
		t.Fatalf("token body %s: %v", w.Body, err)
	}
	return "Bearer " + v.AccessToken
}

func TestToken(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	good := basic("sim-api-key", "sim-api-secret")
	tests := []struct {
		name, method, auth, ctype, body string
		want                            int
		wantMsg                         string
	}{
		{"ok", "POST", good, form, "grant_type=client_credentials", 200, ""},
		{"no auth", "POST", "", form, "grant_type=client_credentials", 401, "Authentication failed."},
		{"wrong secret", "POST", basic("sim-api-key", "nope"), form, "grant_type=client_credentials", 401, "Authentication failed."},
		{"credentials in body only", "POST", "", form, "grant_type=client_credentials&client_id=sim-api-key&client_secret=sim-api-secret", 401, "Authentication failed."},
		{"credentials in body too", "POST", good, form, "grant_type=client_credentials&client_secret=sim-api-secret", 400, ""},
		{"bearer instead of basic", "POST", "Bearer x", form, "grant_type=client_credentials", 401, ""},
		{"json body", "POST", good, "application/json", `{"grant_type":"client_credentials"}`, 400, ""},
		{"wrong grant", "POST", good, form, "grant_type=password", 400, ""},
		{"GET", "GET", good, "", "", 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(fast)
			w := do(t, s, tc.method, TokenPath, tc.auth, tc.ctype, tc.body)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.want, w.Body)
			}
			var v map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if tc.want == 200 {
				if v["token_type"] != "bearer" || v["expires_in"] != 3600.0 || v["access_token"] == "" {
					t.Errorf("token body %v", v)
				}
				return
			}
			if tc.wantMsg != "" && v["message"] != tc.wantMsg {
				t.Errorf("message %v, want %q", v["message"], tc.wantMsg)
			}
		})
	}
}

func item(key, authName string) string {
	return fmt.Sprintf(`{"key":%q,"label":"L %s","status":"active","authName":%q}`, key, key, authName)
}

func items(n int) string {
	var b []string
	for i := range n {
		b = append(b, item(fmt.Sprint("k", i), fmt.Sprint("u", i)))
	}
	return "[" + strings.Join(b, ",") + "]"
}

func TestPut(t *testing.T) {
	const dev = regPath + Device
	tests := []struct {
		name, path, ctype, body string
		want                    int
	}{
		{"one", dev, "application/json", "[" + item("k1", "a") + "]", 200},
		{"charset", dev, "application/json; charset=utf-8", "[" + item("k1", "a") + "]", 200},
		{"250", dev, "application/json", items(250), 200},
		{"optional fields", dev, "application/json", `[{"key":"k","label":"l","status":"inactive","authName":"a","domainName":"d","samAccountName":"s","guidHash":"g"}]`, 200},
		{"sgt", regPath + SecurityGroupTag, "application/json", `[{"key":"k","label":"l","status":"active","tagId":17}]`, 200},
		{"sgt string tag", regPath + SecurityGroupTag, "application/json", `[{"key":"k","label":"l","status":"active","tagId":"17"}]`, 200},
		{"251", dev, "application/json", items(251), 400},
		{"empty array", dev, "application/json", "[]", 400},
		{"null", dev, "application/json", "null", 400},
		{"object", dev, "application/json", item("k1", "a"), 400},
		{"trailing data", dev, "application/json", "[" + item("k1", "a") + "] []", 400},
		{"text/plain", dev, "text/plain", "[" + item("k1", "a") + "]", 400},
		{"no content type", dev, "", "[" + item("k1", "a") + "]", 400},
		{"unknown field", dev, "application/json", `[{"key":"k","label":"l","status":"active","authName":"a","email":"x"}]`, 400},
		{"null optional", dev, "application/json", `[{"key":"k","label":"l","status":"active","authName":"a","domainName":null}]`, 400},
		{"missing authName", dev, "application/json", `[{"key":"k","label":"l","status":"active"}]`, 400},
		{"empty label", dev, "application/json", `[{"key":"k","label":"","status":"active","authName":"a"}]`, 400},
		{"bad status", dev, "application/json", `[{"key":"k","label":"l","status":"disabled","authName":"a"}]`, 400},
		{"number label", dev, "application/json", `[{"key":"k","label":5,"status":"active","authName":"a"}]`, 400},
		{"key twice", dev, "application/json", "[" + item("k1", "a") + "," + item("k1", "b") + "]", 400},
		{"authName on sgt", regPath + SecurityGroupTag, "application/json", `[{"key":"k","label":"l","status":"active","authName":"a"}]`, 400},
		{"tagId on device", dev, "application/json", `[{"key":"k","label":"l","status":"active","authName":"a","tagId":1}]`, 400},
		{"unknown type", regPath + "user", "application/json", "[" + item("k1", "a") + "]", 404},
		{"extra segment", dev + "/k1", "application/json", "[" + item("k1", "a") + "]", 404},
		{"no version", "/deployments/identities/registrations/device", "application/json", "[" + item("k1", "a") + "]", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(fast)
			w := do(t, s, "PUT", tc.path, token(t, s), tc.ctype, tc.body)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.want, w.Body)
			}
			switch tc.want {
			case 200:
				if got := strings.TrimSpace(w.Body.String()); got != `{"success":true}` {
					t.Errorf("body %s", got)
				}
			case 400:
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || w.Body.String() != "Bad Request" {
					t.Errorf("400 answer %q %q, want text/plain Bad Request", ct, w.Body)
				}
				if len(s.Registrations(Device))+len(s.Registrations(SecurityGroupTag)) != 0 {
					t.Errorf("a rejected PUT stored something")
				}
			}
		})
	}
}

func TestAuthAndMethods(t *testing.T) {
	s := New(fast)
	good := token(t, s)
	dev := regPath + Device
	tests := []struct {
		name, method, path, auth string
		want                     int
	}{
		{"no token", "GET", dev, "", 401},
		{"unknown token", "GET", dev, "Bearer sa-sim-99999999", 401},
		{"basic on resource", "GET", dev, basic("sim-api-key", "sim-api-secret"), 401},
		{"POST", "POST", dev, good, 405},
		{"PATCH", "PATCH", dev, good, 405},
		{"DELETE", "DELETE", dev, good, 405},
		{"outside base", "GET", "/identities/registrations/device", good, 404},
		{"GET ok", "GET", dev, good, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s, tc.method, tc.path, tc.auth, "", "")
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.want, w.Body)
			}
			if tc.want == 401 && !strings.Contains(w.Body.String(), "Authentication failed.") {
				t.Errorf("401 body %s", w.Body)
			}
		})
	}
	s.ExpireTokens()
	if w := do(t, s, "GET", dev, good, "", ""); w.Code != 401 {
		t.Errorf("expired token: %d, want 401", w.Code)
	}
}

func TestTokenLifetime(t *testing.T) {
	s := New(Options{NoRateLimit: true, TokenLifetime: time.Nanosecond})
	auth := token(t, s)
	if w := do(t, s, "GET", regPath+Device, auth, "", ""); w.Code != 401 {
		t.Errorf("token past its lifetime: %d, want 401", w.Code)
	}
}

type listBody struct {
	Total  int            `json:"total"`
	Limit  int            `json:"limit"`
	Offset int            `json:"offset"`
	Data   []Registration `json:"data"`
}

func TestListPaging(t *testing.T) {
	s := New(fast)
	auth := token(t, s)
	if w := do(t, s, "PUT", regPath+Device, auth, "application/json", items(7)); w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	// An upsert of an existing key keeps one registration.
	if w := do(t, s, "PUT", regPath+Device, auth, "application/json", `[{"key":"k3","label":"renamed","status":"inactive","authName":"u3"}]`); w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	tests := []struct {
		query              string
		want               int
		total, lim, off, n int
		firstKey           string
	}{
		{"", 200, 7, 100, 0, 7, "k0"},
		{"?limit=2&offset=3", 200, 7, 2, 3, 2, "k3"},
		{"?offset=6", 200, 7, 100, 6, 1, "k6"},
		{"?offset=7", 200, 7, 100, 7, 0, ""},
		{"?offset=100", 200, 7, 100, 100, 0, ""},
		{"?limit=250", 200, 7, 250, 0, 7, "k0"},
		{"?label=renamed", 200, 1, 100, 0, 1, "k3"},
		{"?label=none", 200, 0, 100, 0, 0, ""},
		{"?limit=0", 400, 0, 0, 0, 0, ""},
		{"?limit=251", 400, 0, 0, 0, 0, ""},
		{"?limit=x", 400, 0, 0, 0, 0, ""},
		{"?offset=-1", 400, 0, 0, 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			w := do(t, s, "GET", regPath+Device+tc.query, auth, "", "")
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.want, w.Body)
			}
			if tc.want != 200 {
				return
			}
			var b listBody
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			if b.Total != tc.total || b.Limit != tc.lim || b.Offset != tc.off || len(b.Data) != tc.n {
				t.Errorf("got total %d limit %d offset %d n %d, want %d %d %d %d", b.Total, b.Limit, b.Offset, len(b.Data), tc.total, tc.lim, tc.off, tc.n)
			}
			if tc.n > 0 && b.Data[0].Key != tc.firstKey {
				t.Errorf("first key %q, want %q", b.Data[0].Key, tc.firstKey)
			}
			if b.Data == nil || !strings.Contains(w.Body.String(), `"data":[`) {
				t.Errorf("data must be an array: %s", w.Body)
			}
			for _, r := range b.Data {
				if r.CreatedAt == 0 || r.ModifiedAt < r.CreatedAt {
					t.Errorf("times of %s: %d %d", r.Key, r.CreatedAt, r.ModifiedAt)
				}
			}
		})
	}
	users := s.Users()
	if len(users) != 7 || users[3].Active || users[3].UserName != "u3" || users[3].TargetID != "k3" {
		t.Errorf("users after upsert: %+v", users)
	}
}

func TestRateLimit(t *testing.T) {
	// Scaled up, so that the one-second window spans the whole test.
	for _, retryAfter := range []bool{false, true} {
		t.Run(fmt.Sprint("RetryAfter=", retryAfter), func(t *testing.T) {
			opts := Options{RateScale: 1000}
			if retryAfter {
				opts.RetryAfter = time.Second
			}
			s := New(opts)
			auth := token(t, s)
			for i := range 5 {
				if w := do(t, s, "GET", regPath+Device, auth, "", ""); w.Code != 200 {
					t.Fatalf("request %d: %d", i, w.Code)
				}
			}
			w := do(t, s, "GET", regPath+Device, auth, "", "")
			if w.Code != 429 {
				t.Fatalf("6th request in a second: %d, want 429", w.Code)
			}
			if got := w.Header().Get("Retry-After") != ""; got != retryAfter {
				t.Errorf("Retry-After present = %v, want %v", got, retryAfter)
			}
			if st := s.Stats(); st.RateLimited != 1 || st.Calls != 6 {
				t.Errorf("stats %+v", st)
			}
		})
	}
	t.Run("per key", func(t *testing.T) {
		s := New(Options{RateScale: 1000, MoreKeys: map[string]string{"second-key": "second-secret"}})
		a := token(t, s)
		w := do(t, s, "POST", TokenPath, basic("second-key", "second-secret"), "application/x-www-form-urlencoded", "grant_type=client_credentials")
		var v struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &v); w.Code != 200 || err != nil {
			t.Fatalf("second key's token: %d %s", w.Code, w.Body)
		}
		b := "Bearer " + v.AccessToken
		for i := range 5 {
			if w := do(t, s, "GET", regPath+Device, a, "", ""); w.Code != 200 {
				t.Fatalf("key A request %d: %d", i, w.Code)
			}
		}
		if w := do(t, s, "GET", regPath+Device, a, "", ""); w.Code != 429 {
			t.Errorf("key A 6th request: %d, want 429", w.Code)
		}
		if w := do(t, s, "GET", regPath+Device, b, "", ""); w.Code != 200 {
			t.Errorf("key B's first request: %d, want 200 (its own windows)", w.Code)
		}
		if w := do(t, s, "POST", TokenPath, basic("second-key", "sim-api-secret"), "application/x-www-form-urlencoded", "grant_type=client_credentials"); w.Code != 401 {
			t.Errorf("key B with key A's secret: %d, want 401", w.Code)
		}
	})
	t.Run("token endpoint", func(t *testing.T) {
		s := New(Options{RateScale: 1000})
		for range 20 {
			token(t, s)
		}
		w := do(t, s, "POST", TokenPath, basic("sim-api-key", "sim-api-secret"), "application/x-www-form-urlencoded", "grant_type=client_credentials")
		if w.Code != 429 {
			t.Errorf("21st token in a minute: %d, want 429", w.Code)
		}
	})
}

// TestWindows checks the three windows on synthetic arrival times.
func TestWindows(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type req struct {
		at   time.Duration
		want bool
	}
	var spread []req // 14 a minute, each in its own second, for 25 minutes
	for m := range 25 {
		for i := range 14 {
			spread = append(spread, req{time.Duration(m)*time.Minute + time.Duration(i)*time.Second, true})
		}
	}
	tests := []struct {
		name string
		reqs []req
	}{
		{"five a second", []req{{0, true}, {0, true}, {0, true}, {0, true}, {0, true}, {0, false}, {time.Second, true}}},
		{"fourteen a minute", func() []req {
			var r []req
			for i := range 14 {
				r = append(r, req{time.Duration(i) * time.Second, true})
			}
			return append(r, req{30 * time.Second, false}, req{59*time.Second + 999*time.Millisecond, false}, req{60 * time.Second, true})
		}()},
		{"350 per 30 minutes", append(spread,
			req{25*time.Minute + 30*time.Second, false}, // 350 in the window already
			req{29*time.Minute + 59*time.Second, false},
			req{30 * time.Minute, true}, // the first has left the window
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			hits := map[string][]time.Time{}
			for i, r := range tc.reqs {
				if got := s.allow(hits, "k", s.resLimits, at(r.at)); got != r.want {
					t.Fatalf("request %d at %v: allowed %v, want %v", i, r.at, got, r.want)
				}
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	tests := []struct {
		f          connectortest.Fault
		want       int
		retryAfter bool
		body       string
	}{
		{connectortest.Fault429, 429, false, `"message"`},
		{connectortest.Fault429RetryAfter, 429, true, `"message"`},
		{connectortest.Fault5xx, 500, false, `{"error":"Internal server error.","success":"false"}`},
		{connectortest.FaultPermanent, 400, false, "Bad Request"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.want, tc.retryAfter), func(t *testing.T) {
			s := New(fast)
			auth := token(t, s)
			s.FailNext(tc.f, 1)
			w := do(t, s, "PUT", regPath+Device, auth, "application/json", items(1))
			if w.Code != tc.want || (w.Header().Get("Retry-After") != "") != tc.retryAfter || !strings.Contains(w.Body.String(), tc.body) {
				t.Fatalf("got %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
			}
			if len(s.Users()) != 0 {
				t.Errorf("a failed request stored something")
			}
			if w := do(t, s, "PUT", regPath+Device, auth, "application/json", items(1)); w.Code != 200 {
				t.Errorf("after the fault: %d", w.Code)
			}
			if s.Calls() != 2 {
				t.Errorf("calls %d, want 2", s.Calls())
			}
		})
	}
}

func TestErrorRateDeterministic(t *testing.T) {
	run := func() []int {
		s := New(Options{NoRateLimit: true, Faults: simkit.Faults{ErrorRate: 0.5, Seed: 7}})
		auth := token(t, s)
		var codes []int
		for range 20 {
			codes = append(codes, do(t, s, "GET", regPath+Device, auth, "", "").Code)
		}
		return codes
	}
	a, b := run(), run()
	fails := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different answers: %v vs %v", a, b)
		}
		if a[i] == 500 {
			fails++
		}
	}
	if fails == 0 || fails == 20 {
		t.Errorf("error rate 0.5 gave %d/20 failures", fails)
	}
}

// TestOverHTTP runs the simulator behind a real listener, as connectors see it.
func TestOverHTTP(t *testing.T) {
	s := New(fast)
	srv := httptest.NewServer(s)
	defer srv.Close()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest("POST", srv.URL+TokenPath, strings.NewReader(form.Encode()))
	req.SetBasicAuth("sim-api-key", "sim-api-secret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	if s.BasePath() != "/deployments/v2" || s.Credentials()["api_key"] != "sim-api-key" {
		t.Errorf("BasePath %q Credentials %v", s.BasePath(), s.Credentials())
	}
}

func FuzzDecodeItems(f *testing.F) {
	f.Add([]byte(items(2)))
	f.Add([]byte(`[{"key":"k","label":"l","status":"active","tagId":1}]`))
	f.Add([]byte(`[{"key":"k","label":null}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, typ := range []string{Device, SecurityGroupTag} {
			its, err := decodeItems(strings.NewReader(string(b)), typ)
			if err != nil {
				continue
			}
			if len(its) < 1 || len(its) > MaxItems {
				t.Fatalf("accepted %d items", len(its))
			}
			seen := map[string]bool{}
			for _, it := range its {
				if it.Key == "" || it.Label == "" || (it.Status != "active" && it.Status != "inactive") || seen[it.Key] {
					t.Fatalf("accepted invalid item %+v", it)
				}
				if typ == Device && it.AuthName == "" {
					t.Fatalf("accepted device without authName %+v", it)
				}
				seen[it.Key] = true
			}
		}
	})
}

// TestListShape: a GET page carries exactly the contract's fields per
// item, pages a larger set with the default limit of 100 and up to 250,
// and counts against the rate windows like a PUT.
func TestListShape(t *testing.T) {
	s := New(Options{RateScale: 1000}) // the one-second window spans the test
	auth := token(t, s)
	var b []string
	for i := range 260 {
		st := "active"
		if i%2 == 1 {
			st = "inactive"
		}
		b = append(b, fmt.Sprintf(`{"key":"k%d","label":"L%d","status":%q,"authName":"u%d"}`, i, i, st, i))
	}
	if w := do(t, s, "PUT", regPath+Device, auth, "application/json", "["+strings.Join(b[:250], ",")+"]"); w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	if w := do(t, s, "PUT", regPath+Device, auth, "application/json", "["+strings.Join(b[250:], ",")+"]"); w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	for _, tc := range []struct {
		query           string
		lim, off, n     int
		first, firstSts string
	}{
		{"", 100, 0, 100, "k0", "active"},
		{"?offset=250&limit=250", 250, 250, 10, "k250", "active"},
		{"?offset=1&limit=1", 1, 1, 1, "k1", "inactive"}, // inactive registrations are listed
	} {
		w := do(t, s, "GET", regPath+Device+tc.query, auth, "", "")
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", tc.query, w.Code, w.Body)
		}
		var raw struct {
			Total, Limit, Offset int
			Data                 []map[string]json.RawMessage
		}
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Total != 260 || raw.Limit != tc.lim || raw.Offset != tc.off || len(raw.Data) != tc.n {
			t.Errorf("%s: total %d limit %d offset %d n %d, want 260 %d %d %d", tc.query, raw.Total, raw.Limit, raw.Offset, len(raw.Data), tc.lim, tc.off, tc.n)
			continue
		}
		var keys []string
		for k := range raw.Data[0] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"authName", "createdAt", "key", "label", "modifiedAt", "status"}; !slices.Equal(keys, want) {
			t.Errorf("%s: item fields %v, want %v", tc.query, keys, want)
		}
		if got := string(raw.Data[0]["key"]); got != `"`+tc.first+`"` {
			t.Errorf("%s: first key %s, want %s", tc.query, got, tc.first)
		}
		if got := string(raw.Data[0]["status"]); got != `"`+tc.firstSts+`"` {
			t.Errorf("%s: first status %s, want %s", tc.query, got, tc.firstSts)
		}
	}
	// 2 PUTs and 3 GETs spent the 5 a second: a sixth request, GET or PUT, is refused.
	if w := do(t, s, "GET", regPath+Device, auth, "", ""); w.Code != 429 {
		t.Errorf("6th request in a second: %d, want 429 (GETs count)", w.Code)
	}
	if st := s.Stats(); st.RateLimited != 1 || st.Calls != 6 {
		t.Errorf("stats %+v, want 6 calls, 1 rate-limited", st)
	}
}

// TestHold: Hold sees a PUT when it arrives (false drops it: nothing
// stored, the handler aborts) and again once it is stored, before the
// answer; a GET only when it arrives.
func TestHold(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		drop   bool
		stages []Stage
		stored int
	}{
		{"put served", "PUT", false, []Stage{Arrived, Applied}, 1},
		{"put dropped", "PUT", true, []Stage{Arrived}, 0},
		{"get served", "GET", false, []Stage{Arrived}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []Stage
			var stored []int
			var s *Server
			s = New(Options{NoRateLimit: true, Hold: func(at Stage, r *http.Request) bool {
				seen = append(seen, at)
				stored = append(stored, len(s.Users()))
				return !tc.drop
			}})
			auth := token(t, s)
			aborted := func() (a bool) {
				defer func() { a = recover() == http.ErrAbortHandler }()
				do(t, s, tc.method, regPath+Device, auth, "application/json", items(1))
				return false
			}()
			if aborted != tc.drop || !slices.Equal(seen, tc.stages) || len(s.Users()) != tc.stored {
				t.Errorf("aborted %v, stages %v, stored %d; want %v, %v, %d", aborted, seen, len(s.Users()), tc.drop, tc.stages, tc.stored)
			}
			if tc.method == "PUT" && !tc.drop && !slices.Equal(stored, []int{0, 1}) {
				t.Errorf("registrations stored when Hold saw the PUT: %v, want [0 1]", stored)
			}
		})
	}
}
