package secureaccess

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/scimbridge/scimbridge/connectors"
)

// Keys in Deps.State.
const (
	stateLimiter = "limiter"
	stateToken   = "token"
)

// The rate limiter's log is saved so that a restarted connector knows
// what its predecessor spent: without it, a bridge killed and restarted
// sends into windows the target still counts as full, draws 429s and
// backs off for minutes.
//
// The rule is that a request is saved before it is sent: a crash may
// over-count (a request saved but never sent, an answer whose time was
// not saved yet), never under-count. Saving costs one small bbolt Put per
// request, at most 5 a second and 14 a minute; concurrent requests share
// a Put. A reservation whose answer was not seen before the crash is
// counted from the moment the new process loads the state, which is
// after the target can have counted it.
//
// Format (version 1), all numbers uvarints, times in Unix milliseconds
// rounded up (a stamp may move later, never earlier):
//
//	"sal1" hold pending n first delta*(n-1)
//
// hold is the 429 hold (0: none), pending the number of requests whose
// answer had not arrived, and n answered requests with their answer
// times, oldest first, as the first time and the gaps after it. 350
// entries a few seconds apart take about 2 bytes each.
var limiterMagic = []byte("sal1")

// maxSaved bounds what a decoder allocates for a corrupt count.
const maxSaved = 1 << 16

// savedLimiter is the durable part of a limiter.
type savedLimiter struct {
	hold    time.Time // zero: none
	pending int
	log     []time.Time // answer times, sorted
}

func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

func encodeLimiter(s savedLimiter) []byte {
	b := make([]byte, 0, len(limiterMagic)+3*binary.MaxVarintLen64+3*len(s.log))
	b = append(b, limiterMagic...)
	var hold int64
	if !s.hold.IsZero() {
		hold = max(ceilMilli(s.hold), 0)
	}
	b = binary.AppendUvarint(b, uint64(hold))
	b = binary.AppendUvarint(b, uint64(s.pending))
	b = binary.AppendUvarint(b, uint64(len(s.log)))
	var prev int64
	for i, t := range s.log {
		ms := max(ceilMilli(t), prev) // never negative, never decreasing
		if i == 0 {
			b = binary.AppendUvarint(b, uint64(ms))
		} else {
			b = binary.AppendUvarint(b, uint64(ms-prev))
		}
		prev = ms
	}
	return b
}

var errForeign = errors.New("not a Secure Access rate-limit state (version 1)")

func decodeLimiter(b []byte) (savedLimiter, error) {
	var s savedLimiter
	rest, ok := bytes.CutPrefix(b, limiterMagic)
	if !ok {
		return s, errForeign
	}
	next := func(what string) (uint64, error) {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return 0, fmt.Errorf("truncated or overlong %s", what)
		}
		rest = rest[n:]
		return v, nil
	}
	hold, err := next("hold")
	if err != nil {
		return s, err
	}
	pending, err := next("pending count")
	if err != nil {
		return s, err
	}
	n, err := next("log length")
	if err != nil {
		return s, err
	}
	if pending > maxSaved || n > maxSaved || n > uint64(len(rest)) {
		return s, fmt.Errorf("counts %d and %d do not fit the state", pending, n)
	}
	const maxMilli = 1 << 50 // far beyond any clock, far below overflow
	if hold > maxMilli {
		return s, errors.New("hold out of range")
	}
	if hold > 0 {
		s.hold = time.UnixMilli(int64(hold))
	}
	s.pending = int(pending)
	var ms uint64
	for i := range n {
		d, err := next("log entry")
		if err != nil {
			return s, err
		}
		if ms += d; d > maxMilli || ms > maxMilli {
			return s, fmt.Errorf("log entry %d out of range", i)
		}
		s.log = append(s.log, time.UnixMilli(int64(ms)))
	}
	if len(rest) != 0 {
		return s, fmt.Errorf("%d bytes after the log", len(rest))
	}
	return s, nil
}

// attach loads the limiter's saved state from st, if any, and saves it
// there from now on. State that cannot be read is ignored with a warning:
// the limiter then starts empty, as without a store, and the target's 429
// is what paces it.
func (l *limiter) attach(st connectors.StateStore, key string, log zerolog.Logger) {
	l.warn = func(err error, msg string) { log.Warn().Err(err).Msg(msg) }
	l.save = func(b []byte) error { return st.Put(key, b) }
	b, err := st.Get(key)
	if err != nil {
		l.warn(err, "rate limit: could not read the saved request log; starting empty")
		return
	}
	if b == nil {
		return
	}
	s, err := decodeLimiter(b)
	if err != nil {
		l.warn(err, "rate limit: ignoring the saved request log; starting empty")
		return
	}
	l.restore(s)
}

// restore merges a saved state into the limiter.
func (l *limiter) restore(s savedLimiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	long := l.windows[len(l.windows)-1].Per
	from := now.Add(-long)
	for _, t := range s.log {
		// A stamp after now means the clock went back: count it from now.
		if t = minTime(t, now); t.After(from) {
			l.log = append(l.log, t)
		}
	}
	// Unanswered requests: the target counted them before the crash, at
	// the latest, hence before now.
	for range min(s.pending, maxSaved) {
		l.log = append(l.log, now)
	}
	slices.SortFunc(l.log, time.Time.Compare)
	if s.hold.After(now) {
		l.hold = maxTime(l.hold, minTime(s.hold, now.Add(long)))
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// snapshot is what to save: answered requests within the longest window,
// the count of those still waiting for their answer, and the hold. mu is
// held.
func (l *limiter) snapshot() savedLimiter {
	now := l.now()
	from := now.Add(-l.windows[len(l.windows)-1].Per)
	s := savedLimiter{pending: len(l.pending), log: make([]time.Time, 0, len(l.log))}
	if l.hold.After(now) {
		s.hold = l.hold
	}
	open := slices.Clone(l.pending)
	for _, t := range l.log {
		if i := slices.Index(open, t); i >= 0 {
			open = slices.Delete(open, i, i+1)
			continue
		}
		if t.After(from) {
			s.log = append(s.log, t)
		}
	}
	return s
}

// persist saves the state if the change numbered seq is not saved yet.
// Saves are serialised and each one takes its snapshot after taking
// saveMu, so a later save always contains everything an earlier one did;
// a call whose change an intervening save already covered returns at once
// (concurrent requests share a Put).
func (l *limiter) persist(seq uint64) error {
	if l.save == nil {
		return nil
	}
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	if l.saved >= seq {
		return nil
	}
	l.mu.Lock()
	b := encodeLimiter(l.snapshot())
	upto := l.seq
	l.mu.Unlock()
	if err := l.save(b); err != nil {
		return fmt.Errorf("rate limit: saving the request log: %w", err)
	}
	l.saved = upto
	return nil
}

// savedToken is the token cache's durable form. For names the token
// endpoint and API key it was issued for (hashed: the state is not the
// place for the key), so a changed configuration does not reuse it.
type savedToken struct {
	Version     int       `json:"v"`
	For         string    `json:"for"`
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type,omitempty"`
	Expiry      time.Time `json:"expiry"`
	RenewAt     time.Time `json:"renew_at"`
}

func tokenOwner(tokenURL, clientID string) string {
	h := sha256.Sum256([]byte(tokenURL + "\x00" + clientID))
	return hex.EncodeToString(h[:])
}

// load takes a token saved by a predecessor if it is still good for a
// while. Nothing here logs the token.
func (t *tokens) load() {
	b, err := t.state.Get(stateToken)
	if err != nil || b == nil {
		if err != nil {
			t.log.Warn().Str("connector", t.name).Err(err).Msg("could not read the saved access token; fetching a new one")
		}
		return
	}
	var s savedToken
	if err := json.Unmarshal(b, &s); err != nil || s.Version != 1 {
		t.log.Warn().Str("connector", t.name).Msg("ignoring an unreadable saved access token")
		return
	}
	if s.For != tokenOwner(t.cfg.TokenURL, t.cfg.ClientID) || s.AccessToken == "" || !time.Now().Before(s.RenewAt) {
		return
	}
	t.tok = &oauth2.Token{AccessToken: s.AccessToken, TokenType: s.TokenType, Expiry: s.Expiry}
	t.renewAt = s.RenewAt
}

// store saves a fresh token; the cache is an optimisation, so a failure
// is only a warning. mu is held.
func (t *tokens) store() {
	if t.state == nil || t.tok.Expiry.IsZero() {
		return // a token that never expires is not worth the disk
	}
	b, err := json.Marshal(savedToken{Version: 1, For: tokenOwner(t.cfg.TokenURL, t.cfg.ClientID),
		AccessToken: t.tok.AccessToken, TokenType: t.tok.TokenType, Expiry: t.tok.Expiry, RenewAt: t.renewAt})
	if err == nil {
		err = t.state.Put(stateToken, b)
	}
	if err != nil {
		t.log.Warn().Str("connector", t.name).Err(err).Msg("could not save the access token")
	}
}
