package secureauthsim

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// The guide's answers to a request whose Authorization cannot be validated.
const (
	msgMissing  = "Missing authentication header."
	msgSkew     = "Clock skew of message is outside threshold."
	msgEmpty    = "Authentication header value is empty."
	msgFormat   = "Authentication header value's format should be 'appId:hash'."
	msgScheme   = "Unknown authentication scheme."
	msgAppID    = "AppId is unknown."
	msgReplay   = "Authentication header has been seen before."
	msgBadCreds = "Invalid credentials."
)

// Date formats: X-SA-Ext-Date carries milliseconds, X-SA-Date and Date
// whole seconds; all are GMT (time.RFC1123's "UTC" is refused).
const (
	extDateLayout = "Mon, 02 Jan 2006 15:04:05.000 GMT"
	dateLayout    = http.TimeFormat
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		panic("secureauthsim: app key must be 64 hex characters")
	}
	return b
}

// requestDate returns the date the request was signed with: X-SA-Ext-Date
// first, then X-SA-Date, then Date.
func requestDate(h http.Header) (raw string, t time.Time, ok bool) {
	for _, c := range []struct{ name, layout string }{
		{"X-SA-Ext-Date", extDateLayout},
		{"X-SA-Date", dateLayout},
		{"Date", dateLayout},
	} {
		if v := h.Get(c.name); v != "" {
			t, err := time.Parse(c.layout, v)
			return v, t, err == nil
		}
	}
	return "", time.Time{}, false
}

// authenticate checks the request's signature and returns "" or the
// guide's message. It must be called with s.mu held: it records the
// accepted Authorization value so a replay is refused.
func (s *Server) authenticate(r *http.Request, body []byte) string {
	vals, present := r.Header["Authorization"]
	if !present {
		return msgMissing
	}
	v := strings.TrimSpace(strings.Join(vals, ""))
	if v == "" {
		return msgEmpty
	}
	scheme, cred, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return msgScheme
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return msgFormat
	}
	appID, hash, ok := strings.Cut(string(dec), ":")
	if !ok || appID == "" || hash == "" {
		return msgFormat
	}
	if appID != s.opts.AppID {
		return msgAppID
	}
	ts, t, ok := requestDate(r.Header)
	now := s.clock()
	if !ok || t.Before(now.Add(-s.opts.Skew)) || t.After(now.Add(s.opts.Skew)) {
		return msgSkew
	}
	if _, dup := s.seen[v]; dup {
		return msgReplay
	}
	want := s.mac(requestString(r.Method, ts, appID, r.URL.EscapedPath(), body))
	got, err := base64.StdEncoding.DecodeString(hash)
	if err != nil || !hmac.Equal(got, want) {
		return msgBadCreds
	}
	s.remember(v, now)
	return ""
}

// remember records an accepted Authorization value. Values older than the
// skew window are dropped: their dates are refused anyway.
func (s *Server) remember(v string, now time.Time) {
	if len(s.seen) >= 4096 {
		for k, at := range s.seen {
			if now.Sub(at) > 2*s.opts.Skew {
				delete(s.seen, k)
			}
		}
	}
	s.seen[v] = now
}

func requestString(method, ts, appID, path string, body []byte) string {
	s := method + "\n" + ts + "\n" + appID + "\n" + path
	if len(body) > 0 {
		s += "\n" + string(body)
	}
	return s
}

func (s *Server) mac(msg string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// signResponse sets X-SA-Date and X-SA-Signature for body.
func (s *Server) signResponse(h http.Header, body []byte) {
	date := s.clock().UTC().Format(cmp.Or(s.opts.AnswerDateLayout, dateLayout))
	h.Set("X-SA-Date", date)
	h.Set("X-SA-Signature", base64.StdEncoding.EncodeToString(s.mac(date+"\n"+s.opts.AppID+"\n"+string(body))))
}
