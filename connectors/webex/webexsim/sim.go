// Package webexsim is an in-memory Webex SCIM 2 service that enforces the
// contract in shared/contracts/webex.md: bearer tokens that expire and are
// refreshed at /v1/access_token, the orgId in the path, strict JSON shapes,
// unique userName and group displayName (409 with Cisco's error body),
// member ids that must name known users, /Groups/{id}/Members, list
// paging with attributes/excludedAttributes, and /Bulk with at most 100
// operations. Knobs add latency, 5xx, and 429 with or without Retry-After;
// with the knobs off it is deterministic.
package webexsim

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// Options are the simulator's knobs. The zero value is a strict,
// deterministic simulator whose tokens never expire.
type Options struct {
	OrgID        string // default "sim-org"
	AccessToken  string // initial access token; default "sim-access-token"
	RefreshToken string // default "sim-refresh-token"
	ClientID     string // default "sim-client"
	ClientSecret string // default "sim-secret"

	// TokenLifetime is how long an access token is accepted (0 = forever).
	// The initial token's lifetime starts at New.
	TokenLifetime time.Duration
	// RotateRefreshToken makes every refresh return a new refresh token and
	// revoke the previous one.
	RotateRefreshToken bool

	Latency time.Duration // added to every resource request

	// Faults are the shared fault knobs (simkit): ErrorRate answers 503,
	// ThrottleRate and RateLimit answer 429 (Retry-After when RetryAfter > 0).
	simkit.Faults

	// NoTargetOnRemove answers a PATCH remove whose value filter matches
	// nothing (members[value eq "…"] of a user who is not a member) with
	// 400 noTarget, as RFC 7644 §3.12 describes ("a filter that yields no
	// match"); by default such a remove is a no-op.
	NoTargetOnRemove bool

	// NoExternalIDFilter refuses filters on externalId (400 invalidFilter),
	// as a service whose search takes the filters the vendor's documents
	// show (userName, displayName, id) may.
	NoExternalIDFilter bool

	// MaxCount caps count on GET /Users and /Groups below the contract's
	// 500 (0 = 500), as a service with a smaller page would.
	MaxCount int

	Now func() time.Time // clock for token expiry and rate windows; default time.Now
}

// Server is the simulator. It implements connectors.Simulator and
// simkit.Sim.
type Server struct {
	opts Options

	mu         sync.Mutex
	users      map[string]*userDoc
	byName     map[string]string // lower-cased userName -> id (uniqueness without a scan)
	userOrder  []string
	groups     map[string]*groupDoc
	groupOrder []string
	seq        int // id and version counter

	tokens        map[string]time.Time // access token -> expiry (zero: never)
	refreshToken  string
	tokenSeq      int
	tokenRequests int

	calls    int
	faults   *simkit.Injector
	tracking int
	tid      string // the current request's tracking id, for /Bulk answers
}

// New returns a simulator with the given knobs.
func New(opts Options) *Server {
	if opts.OrgID == "" {
		opts.OrgID = "sim-org"
	}
	if opts.AccessToken == "" {
		opts.AccessToken = "sim-access-token"
	}
	if opts.RefreshToken == "" {
		opts.RefreshToken = "sim-refresh-token"
	}
	if opts.ClientID == "" {
		opts.ClientID = "sim-client"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "sim-secret"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:         opts,
		users:        map[string]*userDoc{},
		byName:       map[string]string{},
		groups:       map[string]*groupDoc{},
		tokens:       map[string]time.Time{},
		refreshToken: opts.RefreshToken,
		faults:       simkit.NewInjector(opts.Faults),
	}
	s.tokens[opts.AccessToken] = s.expiry()
	return s
}

// NewDefault is the simulator behind `simulate: true`: strict, no faults,
// tokens that last an hour (the connector refreshes them).
func NewDefault() connectors.Simulator { return New(Options{TokenLifetime: time.Hour}) }

var (
	_ connectors.Simulator = (*Server)(nil)
	_ simkit.Sim           = (*Server)(nil)
)

// BasePath implements connectors.Simulator.
func (s *Server) BasePath() string { return "/identity/scim/" + s.opts.OrgID + "/v2" }

// Credentials implements connectors.Simulator. token_url is relative: the
// connector resolves it against its base URL.
func (s *Server) Credentials() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]string{
		"org_id":        s.opts.OrgID,
		"access_token":  s.opts.AccessToken,
		"refresh_token": s.refreshToken,
		"client_id":     s.opts.ClientID,
		"client_secret": s.opts.ClientSecret,
		"token_url":     "/v1/access_token",
	}
}

// Users implements simkit.Sim, in creation order.
func (s *Server) Users() []simkit.SimUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]simkit.SimUser, 0, len(s.userOrder))
	for _, id := range s.userOrder {
		u := s.users[id]
		out = append(out, simkit.SimUser{TargetID: id, UserName: u.UserName, Active: u.Active == nil || *u.Active})
	}
	return out
}

// Groups implements simkit.Sim, in creation order.
func (s *Server) Groups() []simkit.SimGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]simkit.SimGroup, 0, len(s.groupOrder))
	for _, id := range s.groupOrder {
		g := s.groups[id]
		ids := make([]string, len(g.Members))
		for i, m := range g.Members {
			ids[i] = m.Value
		}
		out = append(out, simkit.SimGroup{TargetID: id, Name: g.DisplayName, MemberTargetIDs: ids})
	}
	return out
}

// FailNext implements simkit.Sim.
func (s *Server) FailNext(f simkit.Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.FailNext(f, n)
}

// Calls implements simkit.Sim: resource requests served so far.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// TokenRequests counts requests to the token endpoint.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// ExpireTokens revokes every access token issued so far, as a rotation or
// an early expiry would; the refresh token stays valid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// AddUser stores a user directly (a pre-existing account) and returns its id.
func (s *Server) AddUser(userName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	active := true
	u := &userDoc{Schemas: []string{schemaUser}, UserName: userName, Active: &active,
		Emails: []multiDoc{{Value: userName, Type: "work", Primary: ptr(true)}}}
	id := s.newID("u")
	s.putUser(id, u)
	return id
}

// AddGroup stores a group directly and returns its id; memberIDs must be
// ids AddUser (or a create) returned.
func (s *Server) AddGroup(name string, memberIDs ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &groupDoc{Schemas: []string{schemaGroup}, DisplayName: name}
	for _, m := range memberIDs {
		g.Members = append(g.Members, memberDoc{Value: m, Type: "user"})
	}
	id := s.newID("g")
	s.putGroup(id, g)
	return id
}

// RemoveGroup deletes a group directly, as a Webex administrator would
// behind the bridge's back. It reports whether the group existed.
func (s *Server) RemoveGroup(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteGroup(id).status == http.StatusNoContent
}

// maxCount is the page size cap of GET /Users and /Groups.
func (s *Server) maxCount() int {
	if s.opts.MaxCount > 0 {
		return min(s.opts.MaxCount, maxListCount)
	}
	return maxListCount
}

func (s *Server) expiry() time.Time {
	if s.opts.TokenLifetime <= 0 {
		return time.Time{}
	}
	return s.opts.Now().Add(s.opts.TokenLifetime)
}

// newID returns a deterministic id shaped like Webex's UUIDs.
func (s *Server) newID(kind string) string {
	s.seq++
	prefix := "00000001"
	if kind == "g" {
		prefix = "00000002"
	}
	return fmt.Sprintf("%s-5eb0-4a1e-8000-%012x", prefix, s.seq)
}

func (s *Server) trackingID(r *http.Request) string {
	if t := r.Header.Get("TrackingID"); t != "" {
		return t
	}
	s.tracking++
	return fmt.Sprintf("WEBEXSIM_%08d", s.tracking)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/access_token" {
		s.serveToken(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/identity/scim/")
	if !ok {
		s.mu.Lock()
		tid := s.trackingID(r)
		s.mu.Unlock()
		writeError(w, tid, http.StatusNotFound, "", "no such endpoint")
		return
	}
	if d := s.opts.Latency; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	tid := s.trackingID(r)
	if s.injectFault(w, tid) {
		return
	}
	if !s.authorized(r) {
		writeError(w, tid, http.StatusUnauthorized, "", "The request requires a valid access token.")
		return
	}
	org, rest, _ := strings.Cut(rest, "/")
	if org != s.opts.OrgID {
		writeError(w, tid, http.StatusForbidden, "", "orgId does not match the access token's organization")
		return
	}
	rest, ok = strings.CutPrefix(rest, "v2/")
	if !ok {
		writeError(w, tid, http.StatusNotFound, "", "no such endpoint")
		return
	}
	s.tid = tid
	res := s.route(r, strings.Split(rest, "/"))
	res.write(w, tid)
}

// injectFault answers for FailNext, the rate limit and the random faults;
// s.mu held.
func (s *Server) injectFault(w http.ResponseWriter, tid string) bool {
	f, retryAfter := s.faults.Next(s.opts.Now())
	simkit.SetRetryAfter(w, retryAfter)
	switch f {
	case simkit.FaultNone:
		return false
	case simkit.Fault429, simkit.Fault429RetryAfter:
		writeError(w, tid, http.StatusTooManyRequests, "", "Too many requests")
	case simkit.FaultPermanent:
		writeError(w, tid, http.StatusBadRequest, "invalidValue", "injected permanent failure")
	default:
		writeError(w, tid, http.StatusServiceUnavailable, "", "Service unavailable")
	}
	return true
}

// authorized checks the bearer token; s.mu held.
func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return false
	}
	exp, ok := s.tokens[tok]
	if !ok {
		return false
	}
	return exp.IsZero() || s.opts.Now().Before(exp)
}

// serveToken is the refresh_token grant of POST /v1/access_token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenRequests++
	tid := s.trackingID(r)
	fail := func(status int, msg string) {
		writeJSON(w, status, map[string]any{
			"message":    msg,
			"errors":     []map[string]string{{"description": msg}},
			"trackingId": tid,
		})
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if mt := mediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		fail(http.StatusUnsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "malformed form body")
		return
	}
	f := r.PostForm
	switch {
	case f.Get("grant_type") != "refresh_token":
		fail(http.StatusBadRequest, "unsupported grant_type")
		return
	case f.Get("client_id") != s.opts.ClientID || f.Get("client_secret") != s.opts.ClientSecret:
		fail(http.StatusUnauthorized, "invalid client credentials")
		return
	case f.Get("refresh_token") != s.refreshToken:
		fail(http.StatusBadRequest, "invalid refresh_token")
		return
	}
	s.tokenSeq++
	tok := fmt.Sprintf("sim-access-token-%d", s.tokenSeq)
	s.tokens[tok] = s.expiry()
	if s.opts.RotateRefreshToken {
		s.refreshToken = fmt.Sprintf("sim-refresh-token-%d", s.tokenSeq)
	}
	expiresIn := 1209600 // Webex's 14 days, for tokens that never expire here
	if d := s.opts.TokenLifetime; d > 0 {
		expiresIn = int(math.Ceil(d.Seconds()))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":             tok,
		"expires_in":               expiresIn,
		"refresh_token":            s.refreshToken,
		"refresh_token_expires_in": 7776000,
		"token_type":               "Bearer",
	})
}

// route dispatches a resource request under /v2/; s.mu held.
func (s *Server) route(r *http.Request, seg []string) result {
	base := "http://" + r.Host + s.BasePath()
	var body []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		if !jsonType(r.Header.Get("Content-Type")) {
			return errResult(http.StatusUnsupportedMediaType, "", "Content-Type must be application/json or application/scim+json")
		}
		var err error
		if body, err = readBody(r); err != nil {
			return errResult(http.StatusRequestEntityTooLarge, "tooMany", err.Error())
		}
	}
	q := r.URL.Query()
	switch {
	case len(seg) == 1 && seg[0] == "Users":
		switch r.Method {
		case http.MethodGet:
			return s.listUsers(q, base)
		case http.MethodPost:
			return s.createUser(body, base)
		}
	case len(seg) == 2 && seg[0] == "Users" && seg[1] != "":
		switch r.Method {
		case http.MethodGet:
			return s.getUser(seg[1], base)
		case http.MethodPut:
			return s.putUserReq(seg[1], body, base)
		case http.MethodPatch:
			return s.patchUser(seg[1], body, base)
		case http.MethodDelete:
			return s.deleteUser(seg[1])
		}
	case len(seg) == 1 && seg[0] == "Groups":
		switch r.Method {
		case http.MethodGet:
			return s.listGroups(q, base)
		case http.MethodPost:
			return s.createGroup(body, base)
		}
	case len(seg) == 2 && seg[0] == "Groups" && seg[1] != "":
		switch r.Method {
		case http.MethodGet:
			return s.getGroup(seg[1], base)
		case http.MethodPut:
			return s.putGroupReq(seg[1], body, base)
		case http.MethodPatch:
			return s.patchGroup(seg[1], body, base)
		case http.MethodDelete:
			return s.deleteGroup(seg[1])
		}
	case len(seg) == 3 && seg[0] == "Groups" && seg[1] != "" && seg[2] == "Members":
		if r.Method == http.MethodGet {
			return s.groupMembers(seg[1], q)
		}
	case len(seg) == 1 && seg[0] == "Bulk":
		if r.Method == http.MethodPost {
			return s.bulk(body, base)
		}
	default:
		return errResult(http.StatusNotFound, "", "no such endpoint")
	}
	return errResult(http.StatusMethodNotAllowed, "", "method "+r.Method+" not allowed here")
}

// sortedKeys is for deterministic error messages.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ptr[T any](v T) *T { return &v }
