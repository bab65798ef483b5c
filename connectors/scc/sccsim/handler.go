package sccsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/connectors/simkit"
)

const maxBody = 1 << 20

// ServeHTTP routes /v1/organizations/{orgId}/... .
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d := s.opts.Latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/organizations/")
	if !ok {
		s.fail(w, r, http.StatusNotFound, "resource not found")
		return
	}
	seg := strings.Split(rest, "/")
	for _, p := range seg {
		if p == "" {
			s.fail(w, r, http.StatusNotFound, "resource not found")
			return
		}
	}
	if len(seg) == 4 && seg[1] == "apiKeys" && seg[3] == "token" {
		s.serveToken(w, r, seg[0], seg[2])
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		s.fail(w, r, http.StatusBadRequest, "request body unreadable or too large")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.injectFault(w, r) {
		return
	}
	if !s.authorized(r) {
		s.fail(w, r, http.StatusUnauthorized, "invalid or expired access token")
		return
	}
	if seg[0] != s.opts.OrgID {
		s.fail(w, r, http.StatusForbidden, "access to organization denied")
		return
	}
	if len(body) > 0 || r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		if !isJSON(r.Header.Get("Content-Type")) {
			s.fail(w, r, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
			return
		}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodDelete {
		if len(body) > 0 {
			s.fail(w, r, http.StatusBadRequest, "unexpected request body")
			return
		}
	}
	s.route(w, r, seg[1:], body)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, seg []string, body []byte) {
	m := r.Method
	switch {
	case len(seg) == 1 && seg[0] == "users":
		switch m {
		case http.MethodGet:
			s.listUsers(w, r)
		case http.MethodPatch:
			s.patchUsers(w, r, body)
		default:
			s.methodNotAllowed(w, r)
		}
	case len(seg) == 2 && seg[0] == "users":
		switch m {
		case http.MethodGet:
			s.getUser(w, r, seg[1])
		case http.MethodPut:
			s.putUser(w, r, seg[1], body)
		default:
			s.methodNotAllowed(w, r)
		}
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "groups":
		if m != http.MethodGet {
			s.methodNotAllowed(w, r)
			return
		}
		s.userGroups(w, r, seg[1])
	case len(seg) == 1 && seg[0] == "adminGroups":
		switch m {
		case http.MethodGet:
			s.listGroups(w, r)
		case http.MethodPost:
			s.createGroup(w, r, body)
		default:
			s.methodNotAllowed(w, r)
		}
	case len(seg) == 2 && seg[0] == "adminGroups":
		switch m {
		case http.MethodGet:
			s.getGroup(w, r, seg[1])
		case http.MethodPut:
			s.putGroup(w, r, seg[1], body)
		case http.MethodDelete:
			s.deleteGroup(w, r, seg[1])
		case http.MethodPatch:
			s.patchGroup(w, r, seg[1], body)
		default:
			s.methodNotAllowed(w, r)
		}
	case len(seg) == 3 && seg[0] == "adminGroups":
		if m != http.MethodGet {
			s.methodNotAllowed(w, r)
			return
		}
		s.groupSub(w, r, seg[1], seg[2])
	default:
		s.fail(w, r, http.StatusNotFound, "resource not found")
	}
}

// injectFault answers a FailNext fault or a random/rate-limit one. s.mu held.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	f, retryAfter := s.faults.Queued()
	simkit.SetRetryAfter(w, retryAfter)
	switch f {
	case simkit.FaultNone:
	case simkit.Fault429, simkit.Fault429RetryAfter:
		s.fail(w, r, http.StatusTooManyRequests, "too many requests")
		return true
	case simkit.FaultPermanent:
		s.fail(w, r, http.StatusBadRequest, "request rejected (injected fault)")
		return true
	default:
		s.fail(w, r, http.StatusServiceUnavailable, "service unavailable")
		return true
	}
	over, retryAfter := s.faults.Limited(s.opts.Now())
	if !over {
		f, retryAfter = s.faults.Random()
	}
	simkit.SetRetryAfter(w, retryAfter)
	switch {
	case over || f == simkit.Fault429:
		s.fail(w, r, http.StatusTooManyRequests, "rate limit exceeded")
	case f == simkit.Fault5xx:
		s.fail(w, r, http.StatusInternalServerError, "internal server error")
	default:
		return false
	}
	return true
}

// authorized checks the bearer access token. s.mu held.
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := bearer(r)
	if !ok || tok != s.access {
		return false
	}
	return s.accessExpires.IsZero() || s.opts.Now().Before(s.accessExpires)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// serveToken rotates both tokens: the old access and refresh tokens stop
// working at once.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, org, keyID string) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "request body unreadable")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if org != s.opts.OrgID || keyID != s.opts.APIKeyID {
		s.fail(w, r, http.StatusNotFound, "API key not found")
		return
	}
	if tok, ok := bearer(r); !ok || tok != s.refresh {
		s.fail(w, r, http.StatusUnauthorized, "invalid refresh token")
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		s.fail(w, r, http.StatusUnsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || len(form) != 1 || len(form["grant_type"]) != 1 || form.Get("grant_type") != "refresh_token" {
		s.fail(w, r, http.StatusBadRequest, "body must be grant_type=refresh_token")
		return
	}
	s.tokenSeq++
	s.refreshes++
	s.access = fmt.Sprintf("%s.%d", s.opts.AccessToken, s.tokenSeq)
	s.refresh = fmt.Sprintf("%s.%d", s.opts.RefreshToken, s.tokenSeq)
	life := s.opts.TokenLifetime
	if life > 0 {
		s.accessExpires = s.opts.Now().Add(life)
	} else {
		life = time.Hour
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  s.access,
		"refresh_token": s.refresh,
		"expires_in":    int(life / time.Second),
	})
}

// errorBody is SCC's error answer [doc].
type errorBody struct {
	TrackingID string `json:"trackingId"`
	Message    string `json:"message"`
	Timestamp  string `json:"timestamp"`
	StatusCode int    `json:"statusCode"`
	Path       string `json:"path"`
}

// fail writes SCC's error body. Callers may or may not hold s.mu, so the
// tracking id is derived without it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeJSON(w, status, errorBody{
		TrackingID: trackingID(r),
		Message:    msg,
		Timestamp:  s.opts.Now().UTC().Format(time.RFC3339Nano),
		StatusCode: status,
		Path:       r.URL.Path,
	})
}

// trackingID is a stable id per request: deterministic for the same
// request, which is all a tracking id needs in a simulator.
func trackingID(r *http.Request) string {
	var h uint64 = 14695981039346656037
	for _, c := range []byte(r.Method + " " + r.URL.RequestURI()) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(h), uint16(h>>32), uint16(h>>48)&0xfff, uint16(h>>20)&0xfff, h&0xffffffffffff)
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusMethodNotAllowed, "method not allowed")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	simkit.WriteJSON(w, status, "", v)
}

// object decodes a JSON object whose keys must be among allowed and whose
// values must not be null (an absent optional field is omitted, not null).
func object(raw []byte, allowed ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("body must be a JSON object")
	}
	for k, v := range m {
		if !contains(allowed, k) {
			return nil, fmt.Errorf("unknown field %q", k)
		}
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return nil, fmt.Errorf("field %q must not be null (omit it)", k)
		}
	}
	return m, nil
}

// str reads an optional string field; present but not a string is an error.
func str(m map[string]json.RawMessage, key string) (string, bool, error) {
	v, ok := m[key]
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", true, fmt.Errorf("field %q must be a string", key)
	}
	return s, true, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkQuery rejects query parameters other than allowed.
func checkQuery(q url.Values, allowed ...string) error {
	for k := range q {
		if !contains(allowed, k) {
			return fmt.Errorf("unknown query parameter %q", k)
		}
	}
	return nil
}

// page cuts one page out of items (ordered by creation sequence): max
// defaults to 100 and may be at most 500; the cursor names the sequence
// of the next item, so deletions between pages do not skip or repeat.
func page[T any](q url.Values, items []T, seqOf func(T) int) ([]T, string, error) {
	limit := 100
	if v := q.Get("max"); v != "" || q.Has("max") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return nil, "", fmt.Errorf("max must be an integer from 1 to 500")
		}
		limit = n
	}
	from := 0
	if q.Has("cursor") {
		b, err := base64.RawURLEncoding.DecodeString(q.Get("cursor"))
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "seq:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "seq:") || n < 1 {
			return nil, "", fmt.Errorf("invalid cursor")
		}
		from = n
	}
	start := len(items)
	for i, it := range items {
		if seqOf(it) >= from {
			start = i
			break
		}
	}
	start, end := simkit.Page(len(items), start, limit)
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.Itoa(seqOf(items[end]))))
	}
	return items[start:end], next, nil
}
