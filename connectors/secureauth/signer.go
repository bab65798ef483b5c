package secureauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Date headers the signer can send. X-SA-Ext-Date (milliseconds) is the
// default; X-SA-Date and Date carry whole seconds.
const (
	HeaderExtDate = "X-SA-Ext-Date"
	HeaderSADate  = "X-SA-Date"
	HeaderDate    = "Date"
)

const (
	extDateLayout = "Mon, 02 Jan 2006 15:04:05.000 GMT"
	dateLayout    = http.TimeFormat // "GMT", not time.RFC1123's "UTC"
	maxAnswer     = 8 << 20
)

// ErrTampered is returned (wrapped in a *SignatureError) for an answer whose
// X-SA-Signature does not match its body: it must never be applied.
var ErrTampered = errors.New("response signature mismatch (tampered response, or wrong app_id/app_key)")

// ErrStale is returned (wrapped in a *SignatureError) for a correctly
// signed answer whose X-SA-Date is more than MaxAnswerAge from now: a
// recorded answer replayed later must not be applied either.
var ErrStale = errors.New("response date is too far from now (replayed response?)")

// MaxAnswerAge is how far an answer's X-SA-Date may be from the wall
// clock, the same threshold the server applies to requests.
const MaxAnswerAge = 5 * time.Minute

// ErrUnsigned is returned (wrapped in a *SignatureError) for an answer
// without X-SA-Date or X-SA-Signature.
var ErrUnsigned = errors.New("response is not signed")

// SignatureError is an answer that failed verification. Its body is
// discarded; only the HTTP status is kept.
type SignatureError struct {
	Status int
	Err    error // ErrTampered, ErrUnsigned or ErrStale
	// Message is an unsigned answer's JSON "message", for the error text
	// of a refusal (an unsigned 401 says why), and RetryAfter its
	// Retry-After header (a gateway's 429 or 503 may carry one): they can
	// only fail or delay a call, nothing else of the answer is read.
	Message    string
	RetryAfter string
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("secureauth: HTTP %d: %v", e.Status, e.Err)
}

func (e *SignatureError) Unwrap() error { return e.Err }

// Signer is an http.RoundTripper that signs every request with the app's
// key and verifies the signature of every answer. Each call signs afresh,
// so a retry never resends an Authorization value.
type Signer struct {
	appID      string
	key        []byte
	dateHeader string
	base       http.RoundTripper
	now        func() time.Time
	clock      *stamper
}

// SignerOption configures a Signer.
type SignerOption func(*Signer)

// WithDateHeader picks the date header: HeaderExtDate (default),
// HeaderSADate or HeaderDate.
func WithDateHeader(h string) SignerOption { return func(s *Signer) { s.dateHeader = h } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) SignerOption { return func(s *Signer) { s.now = now } }

// NewSigner builds a Signer for appID and its 64-hex-character appKey over
// base (nil: http.DefaultTransport). Errors name the setting, never its value.
func NewSigner(appID, appKey string, base http.RoundTripper, opts ...SignerOption) (*Signer, error) {
	if appID == "" {
		return nil, errors.New("secureauth: credentials.app_id is required")
	}
	key, err := decodeKey(appKey)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = http.DefaultTransport
	}
	s := &Signer{appID: appID, key: key, dateHeader: HeaderExtDate, base: base, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	switch s.dateHeader {
	case HeaderExtDate:
		s.clock = stamperFor(appID, time.Millisecond)
	case HeaderSADate, HeaderDate:
		s.clock = stamperFor(appID+"\x00s", time.Second)
	default:
		return nil, fmt.Errorf("secureauth: options.date_header must be %s, %s or %s", HeaderExtDate, HeaderSADate, HeaderDate)
	}
	return s, nil
}

func decodeKey(appKey string) ([]byte, error) {
	if appKey == "" {
		return nil, errors.New("secureauth: credentials.app_key is required")
	}
	key, err := hex.DecodeString(appKey)
	if err != nil || len(key) != 32 {
		return nil, errors.New("secureauth: credentials.app_key must be 64 hexadecimal characters")
	}
	return key, nil
}

// Hash is the request hash of the contract: base64(HMAC-SHA256(key,
// METHOD\nts\nappID\npath[\nbody])).
func Hash(key []byte, method, ts, appID, path string, body []byte) string {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, method+"\n"+ts+"\n"+appID+"\n"+path)
	if len(body) > 0 {
		m.Write([]byte("\n"))
		m.Write(body)
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Authorization is the header value for a request hash.
func Authorization(appID, hash string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(appID+":"+hash))
}

// RoundTrip signs req, sends it, and verifies the answer's signature. An
// answer that fails verification is closed and returned as a
// *SignatureError, so no caller can act on it.
func (s *Signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = http.NoBody, 0
	if len(body) > 0 {
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	path := r.URL.EscapedPath()
	date, auth := s.clock.next(s.now(), func(t time.Time) (string, string) {
		date := t.Format(dateLayout)
		if s.dateHeader == HeaderExtDate {
			date = t.Format(extDateLayout)
		}
		return date, Authorization(s.appID, Hash(s.key, r.Method, date, s.appID, path, body))
	})
	r.Header.Set(s.dateHeader, date)
	r.Header.Set("Authorization", auth)
	if r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}

	resp, err := s.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	err = s.Verify(resp.Header, raw)
	if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		err = fresh(resp.Header)
	}
	if err != nil {
		se := &SignatureError{Status: resp.StatusCode, Err: err}
		if errors.Is(err, ErrUnsigned) {
			var m struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(raw, &m) == nil && len(m.Message) <= 300 {
				se.Message = m.Message
			}
			se.RetryAfter = resp.Header.Get("Retry-After")
		}
		return nil, se
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	return resp, nil
}

// Verify checks an answer's X-SA-Signature against its X-SA-Date and body.
func (s *Signer) Verify(h http.Header, body []byte) error {
	date, sig := h.Get("X-SA-Date"), h.Get("X-SA-Signature")
	if date == "" || sig == "" {
		return ErrUnsigned
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return ErrTampered
	}
	m := hmac.New(sha256.New, s.key)
	io.WriteString(m, date+"\n"+s.appID+"\n")
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrTampered
	}
	return nil
}

// fresh checks a verified success answer's X-SA-Date against the wall
// clock (not s.now, which tests skew on purpose). Only success answers
// are checked: a replayed success could make the bridge record a change
// that never happened, while an error answer is never applied (and a
// server whose clock is off should still be heard saying so).
func fresh(h http.Header) error {
	at, err := parseAnswerDate(h.Get("X-SA-Date"))
	if err != nil {
		return ErrTampered
	}
	if age := time.Since(at); age > MaxAnswerAge || age < -MaxAnswerAge {
		return ErrStale
	}
	return nil
}

// answerDateLayouts are the layouts an answer's X-SA-Date is read in. The
// guide says only "a second-precision timestamp": besides RFC 1123 in GMT
// (with or without milliseconds) a server may write time.RFC1123's "UTC",
// a numeric zone, a one-digit day, HTTP's older forms or RFC 3339
// (TestAnswerDateLayouts). RFC 3339 with fractions parses as RFC3339 too.
var answerDateLayouts = []string{
	"Mon, 02 Jan 2006 15:04:05.000 GMT",
	http.TimeFormat,
	time.RFC1123, // any zone abbreviation: UTC, GMT
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 02 Jan 2006 15:04:05.999999999 MST",
	"Mon, 02 Jan 2006 15:04:05.999999999 -0700",
	time.RFC850,
	time.ANSIC,
	time.RFC3339,
}

// parseAnswerDate reads an answer's X-SA-Date in any of answerDateLayouts.
func parseAnswerDate(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	var first error
	for _, l := range answerDateLayouts {
		t, err := time.Parse(l, v)
		if err == nil {
			return t, nil
		}
		if first == nil {
			first = err
		}
	}
	return time.Time{}, first
}

// stamper hands out request times for one app id so that no
// Authorization value is ever sent twice (the server refuses a replay).
// At millisecond precision no time is handed out twice, as the contract
// asks; at second precision that would cap the signer at one request a
// second, so there a time repeats only for requests whose signatures
// differ (different method, path or body).
type stamper struct {
	step   time.Duration
	mu     sync.Mutex
	last   time.Time
	issued map[string]bool // Authorization values issued at last
}

// stampers are shared per app id: two Signers for one app must not
// collide either.
var stampers sync.Map // app id (+ precision) -> *stamper

func stamperFor(key string, step time.Duration) *stamper {
	v, _ := stampers.LoadOrStore(key, &stamper{step: step, issued: map[string]bool{}})
	return v.(*stamper)
}

// next returns the date header and Authorization that sign computes for
// the first acceptable time at or after now.
func (c *stamper) next(now time.Time, sign func(time.Time) (date, auth string)) (string, string) {
	t := now.UTC().Truncate(c.step)
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.last) {
		t = c.last
	}
	for ; ; t = t.Add(c.step) {
		if t.After(c.last) {
			c.last = t
			clear(c.issued)
		}
		date, auth := sign(t)
		fresh := !c.issued[auth]
		if c.step < time.Second {
			fresh = len(c.issued) == 0 // never the same millisecond twice
		}
		if fresh {
			c.issued[auth] = true
			return date, auth
		}
	}
}
