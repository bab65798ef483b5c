package secureauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The contract's test vector.
const (
	vectorAppID  = "af1b351845ec47968b27debd9cd4ce53"
	vectorAppKey = "101db0347fdf71dab63cd965b8782ff6ba0f8f1c91e8cf52f970d1267e0fb453"
	vectorHash   = "DZ3JCF64Fmir8HjWPdjnjDLTc/iXsqXVQkbvSS3fmks="
)

func TestHashVector(t *testing.T) {
	key, _ := hex.DecodeString(vectorAppKey)
	got := Hash(key, "GET", "Wed, 08 Apr 2015 21:37:33 GMT", vectorAppID, "/secureauth2/api/v1/users/jdoe", nil)
	if got != vectorHash {
		t.Errorf("hash = %s, want %s", got, vectorHash)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(vectorAppID+":"+vectorHash))
	if a := Authorization(vectorAppID, got); a != want {
		t.Errorf("Authorization = %s, want %s", a, want)
	}
}

// echo answers 200, signed with the vector app, and records the request.
type echo struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
	sign func(date, body string) string // nil: correct signature
}

func (e *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.reqs = append(e.reqs, r)
	e.body = append(e.body, string(b))
	e.mu.Unlock()
	out := `{"status":"success","message":""}`
	date := time.Now().UTC().Format(http.TimeFormat)
	w.Header().Set("X-SA-Date", date)
	if e.sign != nil {
		w.Header().Set("X-SA-Signature", e.sign(date, out))
	} else {
		w.Header().Set("X-SA-Signature", respSig(date, out))
	}
	io.WriteString(w, out)
}

func respSig(date, body string) string {
	key, _ := hex.DecodeString(vectorAppKey)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(date + "\n" + vectorAppID + "\n" + body))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignerRoundTrip(t *testing.T) {
	at := time.Date(2015, 4, 8, 21, 37, 33, 0, time.UTC)
	tests := []struct {
		name, header, method, path, body, date string
	}{
		{"vector", HeaderSADate, "GET", "/secureauth2/api/v1/users/jdoe", "", "Wed, 08 Apr 2015 21:37:33 GMT"},
		{"Date header", HeaderDate, "GET", "/secureauth2/api/v1/users/jdoe", "", "Wed, 08 Apr 2015 21:37:33 GMT"},
		{"ext date with body", HeaderExtDate, "POST", "/secureauth2/api/v2/users/", `{"userId":"jdoe"}`, "Wed, 08 Apr 2015 21:37:33.000 GMT"},
		{"escaped path", HeaderExtDate, "POST", "/secureauth2/api/v2/groups/Sales%2C%20EMEA/users/j%2Fdoe", "", "Wed, 08 Apr 2015 21:37:33.000 GMT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &echo{}
			srv := httptest.NewServer(e)
			defer srv.Close()
			// A fresh app id per case: stampers are per app id.
			s, err := NewSigner(vectorAppID, vectorAppKey, nil, WithDateHeader(tc.header), WithClock(func() time.Time { return at }))
			if err != nil {
				t.Fatal(err)
			}
			s.clock = &stamper{step: s.clock.step, issued: map[string]bool{}}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, body)
			resp, err := (&http.Client{Transport: s}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := e.reqs[0]
			if got.Header.Get(tc.header) != tc.date {
				t.Errorf("%s = %q, want %q", tc.header, got.Header.Get(tc.header), tc.date)
			}
			key, _ := hex.DecodeString(vectorAppKey)
			want := Authorization(vectorAppID, Hash(key, tc.method, tc.date, vectorAppID, tc.path, []byte(tc.body)))
			if tc.name == "vector" {
				want = "Basic " + base64.StdEncoding.EncodeToString([]byte(vectorAppID+":"+vectorHash))
			}
			if a := got.Header.Get("Authorization"); a != want {
				t.Errorf("Authorization = %s, want %s", a, want)
			}
			if got.URL.EscapedPath() != tc.path || e.body[0] != tc.body {
				t.Errorf("sent %s %q, want %s %q", got.URL.EscapedPath(), e.body[0], tc.path, tc.body)
			}
			if ct := got.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// Two requests in one millisecond with the same method, path and body
// must still differ: the server refuses a replayed Authorization value.
func TestSignerNeverRepeats(t *testing.T) {
	frozen := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	for _, h := range []string{HeaderExtDate, HeaderSADate} {
		t.Run(h, func(t *testing.T) {
			e := &echo{}
			srv := httptest.NewServer(e)
			defer srv.Close()
			s, _ := NewSigner(vectorAppID, vectorAppKey, nil, WithDateHeader(h), WithClock(func() time.Time { return frozen }))
			s.clock = &stamper{step: s.clock.step, issued: map[string]bool{}}
			c := &http.Client{Transport: s}
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					req, _ := http.NewRequest("GET", srv.URL+"/secureauth2/api/v2/users/jdoe", nil)
					if resp, err := c.Do(req); err == nil {
						resp.Body.Close()
					}
				})
			}
			wg.Wait()
			auths, dates := map[string]bool{}, map[string]bool{}
			for _, r := range e.reqs {
				auths[r.Header.Get("Authorization")] = true
				dates[r.Header.Get(h)] = true
			}
			if len(e.reqs) != 20 || len(auths) != 20 {
				t.Errorf("%d requests, %d distinct Authorization values; want 20 and 20", len(e.reqs), len(auths))
			}
			if h == HeaderExtDate && len(dates) != 20 {
				t.Errorf("%d distinct dates at millisecond precision, want 20", len(dates))
			}
		})
	}
}

func TestSecondPrecisionSharesTicks(t *testing.T) {
	// Different paths may share a second: no drift ahead of the clock.
	s := &stamper{step: time.Second, issued: map[string]bool{}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		d, _ := s.next(now, func(t time.Time) (string, string) { return t.Format(dateLayout), "auth" + string(rune('a'+i)) })
		if d != now.Format(dateLayout) {
			t.Errorf("request %d dated %s, want %s", i, d, now.Format(dateLayout))
		}
	}
	same := func(t time.Time) (string, string) { return t.Format(dateLayout), "same " + t.Format(dateLayout) }
	first, _ := s.next(now, same)
	second, _ := s.next(now, same)
	if first != now.Format(dateLayout) || second == first {
		t.Errorf("identical requests in one second dated %s and %s: want the second moved on", first, second)
	}
}

func TestVerifyAnswers(t *testing.T) {
	tests := []struct {
		name string
		sign func(date, body string) string
		want error
	}{
		{"valid", nil, nil},
		{"tampered", func(d, b string) string { return respSig(d, b+" ") }, ErrTampered},
		{"wrong app", func(d, b string) string { return respSig(d+"x", b) }, ErrTampered},
		{"not base64", func(string, string) string { return "%%%" }, ErrTampered},
		{"unsigned", func(string, string) string { return "" }, ErrUnsigned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(&echo{sign: tc.sign})
			defer srv.Close()
			s, _ := NewSigner(vectorAppID, vectorAppKey, nil)
			req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
			resp, err := (&http.Client{Transport: s}).Do(req)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				if string(b) != `{"status":"success","message":""}` {
					t.Errorf("body %q", b)
				}
				return
			}
			var se *SignatureError
			if !errors.Is(err, tc.want) || !errors.As(err, &se) || se.Status != 200 || resp != nil {
				t.Errorf("err = %v, resp %v; want %v with status 200 and no response", err, resp, tc.want)
			}
		})
	}
}

func TestNewSignerErrorsHideSecrets(t *testing.T) {
	tests := []struct{ id, key, header, want string }{
		{"", vectorAppKey, "", "credentials.app_id is required"},
		{vectorAppID, "", "", "credentials.app_key is required"},
		{vectorAppID, "zz" + vectorAppKey[2:], "", "credentials.app_key must be 64 hexadecimal characters"},
		{vectorAppID, vectorAppKey[:62], "", "credentials.app_key must be 64 hexadecimal characters"},
		{vectorAppID, vectorAppKey, "X-Date", "options.date_header must be"},
	}
	for _, tc := range tests {
		var opts []SignerOption
		if tc.header != "" {
			opts = append(opts, WithDateHeader(tc.header))
		}
		_, err := NewSigner(tc.id, tc.key, nil, opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSigner(%q...) = %v, want %q", tc.id, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), vectorAppKey[2:20]) {
			t.Errorf("error shows the key: %v", err)
		}
	}
}

// A correctly signed success answer from long ago is a replay: refused.
// An error answer with an odd date is still heard (it is never applied).
func TestStaleAnswers(t *testing.T) {
	tests := []struct {
		name   string
		age    time.Duration
		status int
		want   error
	}{
		{"fresh success", 0, 200, nil},
		{"success from 10 minutes ago", 10 * time.Minute, 200, ErrStale},
		{"success from 10 minutes ahead", -10 * time.Minute, 200, ErrStale},
		{"old error answer", 10 * time.Minute, 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				out := `{"status":"success","message":""}`
				date := time.Now().Add(-tt.age).UTC().Format(http.TimeFormat)
				w.Header().Set("X-SA-Date", date)
				w.Header().Set("X-SA-Signature", respSig(date, out))
				w.WriteHeader(tt.status)
				io.WriteString(w, out)
			}))
			defer srv.Close()
			s, err := NewSigner(vectorAppID, vectorAppKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", srv.URL+"/secureauth2/api/v2/users/jdoe", nil)
			resp, err := (&http.Client{Transport: s}).Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("answer refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
}
