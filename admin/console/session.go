package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Session limits.
const (
	idleTimeout = 30 * time.Minute
	maxLifetime = 12 * time.Hour
	maxSessions = 256 // the oldest is dropped beyond this
	cookieName  = "scimbridge_console"
	cookiePath  = "/admin/ui"
)

// session is one signed-in browser. The cookie carries a random id; the
// server keeps only its SHA-256, so a memory dump does not hand out
// sessions either. tokenSum binds the session to the admin token it was
// opened with: when the token changes, the session ends.
type session struct {
	csrf      string
	created   time.Time
	seen      time.Time
	tokenSum  [32]byte
	cookieSum [32]byte
}

type sessions struct {
	mu   sync.Mutex
	byID map[[32]byte]*session
}

func newSessions() *sessions { return &sessions{byID: map[[32]byte]*session{}} }

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// open starts a session and returns its cookie value.
func (s *sessions) open(now time.Time, token string) (string, *session) {
	value := randomString()
	ses := &session{csrf: randomString(), created: now, seen: now, tokenSum: sha256.Sum256([]byte(token)),
		cookieSum: sha256.Sum256([]byte(value))}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.byID { // expired ones first
		if expired(v, now) {
			delete(s.byID, k)
		}
	}
	if len(s.byID) >= maxSessions {
		var oldest [32]byte
		var at time.Time
		for k, v := range s.byID {
			if at.IsZero() || v.seen.Before(at) {
				oldest, at = k, v.seen
			}
		}
		delete(s.byID, oldest)
	}
	s.byID[ses.cookieSum] = ses
	return value, ses
}

func expired(s *session, now time.Time) bool {
	return now.Sub(s.seen) > idleTimeout || now.Sub(s.created) > maxLifetime
}

// get returns the request's live session, or nil. touch says whether the
// request counts as the operator's activity (an auto-refresh does not, so
// an unattended page still signs out after idleTimeout).
func (s *sessions) get(r *http.Request, now time.Time, token string, touch bool) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	key := sha256.Sum256([]byte(c.Value))
	s.mu.Lock()
	defer s.mu.Unlock()
	ses := s.byID[key]
	if ses == nil {
		return nil
	}
	tok := sha256.Sum256([]byte(token))
	if token == "" || expired(ses, now) || subtle.ConstantTimeCompare(tok[:], ses.tokenSum[:]) != 1 {
		delete(s.byID, key)
		return nil
	}
	if touch {
		ses.seen = now
	}
	return ses
}

func (s *sessions) close(ses *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, ses.cookieSum)
}

// throttle bounds sign-in attempts: a few in a burst per client address,
// then one every few seconds, and a ceiling over all addresses together.
type throttle struct {
	mu     sync.Mutex
	perIP  map[string]*rate.Limiter
	global *rate.Limiter
}

const (
	attemptsBurst = 5
	attemptsEvery = 10 * time.Second // per address, after the burst
	maxTracked    = 10000
)

func newThrottle() *throttle {
	return &throttle{perIP: map[string]*rate.Limiter{}, global: rate.NewLimiter(rate.Every(time.Second), 30)}
}

// allow takes one attempt for the request's client address.
func (t *throttle) allow(r *http.Request, now time.Time) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.perIP[host]
	if l == nil {
		if len(t.perIP) >= maxTracked {
			t.perIP = map[string]*rate.Limiter{} // forget, rather than grow without bound
		}
		l = rate.NewLimiter(rate.Every(attemptsEvery), attemptsBurst)
		t.perIP[host] = l
	}
	return l.AllowN(now, 1) && t.global.AllowN(now, 1)
}

// tokenMatches compares what was typed with the admin token in constant
// time (SHA-256 sums, so the length does not leak either).
func tokenMatches(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func csrfMatches(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
