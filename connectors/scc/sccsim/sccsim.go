// Package sccsim simulates the Security Cloud Control Platform Management
// API as ../shared/contracts/scc.md describes it: bearer tokens that a
// refresh rotates, users created only by invite and written by email, admin
// groups whose membership is patched by email with per-item results, the
// SCC error body, max/cursor paging, and knobs for latency and faults.
//
// The simulator is strict on purpose: it rejects unknown fields, nulls,
// wrong content types and unknown query parameters, so a connector that
// passes against it sends exactly what the contract lists.
package sccsim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// Options are the simulator's identity and knobs. The zero value is a
// deterministic, fault-free simulator with random initial tokens.
type Options struct {
	OrgID    string // default "7d3f0c52-0000-4000-8000-000000000001"
	APIKeyID string // default "a1b2c3d4-0000-4000-8000-000000000002"
	// Initial tokens; random when empty (so a restarted built-in simulator
	// never matches tokens a connector stored for the previous one).
	AccessToken  string
	RefreshToken string
	// TokenLifetime is how long an access token is accepted; 0 means until
	// the next refresh. It is also the expires_in of a refresh answer
	// (3600 s when 0).
	TokenLifetime time.Duration

	Latency time.Duration // added to every request

	// SingleUserOps makes PATCH /users take only the contract's decided
	// form, one operation object, and refuse the SDK's bulk forms (an
	// array, {"users":[…]}) with 400, as a target built from the
	// contract alone may.
	SingleUserOps bool

	// Faults are the shared fault knobs (simkit): ErrorRate answers 500,
	// ThrottleRate and RateLimit answer 429 (Retry-After when RetryAfter > 0),
	// a FailNext Fault5xx answers 503.
	simkit.Faults

	Now func() time.Time // default time.Now
}

// Server is the simulator: an http.Handler with in-memory state.
type Server struct {
	opts Options

	mu            sync.Mutex
	access        string
	refresh       string
	accessExpires time.Time // zero: no expiry
	tokenSeq      int
	refreshes     int

	seq     int // creation sequence for ids and stable cursors
	users   []*user
	byEmail map[string]*user // lower-cased email
	byID    map[string]*user
	groups  []*group
	groupID map[string]*group

	calls    int
	faults   *simkit.Injector
	tracking int
}

type user struct {
	seq       int
	ID        string
	Email     string
	FirstName string
	LastName  string
	Status    string // ACTIVE, DISABLE, PENDING, SHARED
	accepted  bool   // the invite was accepted (enable returns to ACTIVE, not PENDING)
}

type group struct {
	seq         int
	ID          string
	Name        string
	Description string
	AppliesTo   string
	Created     string
	members     []string // user ids, in the order added
}

var (
	_ connectors.Simulator = (*Server)(nil)
	_ simkit.Sim           = (*Server)(nil)
)

// New returns a simulator with opts.
func New(opts Options) *Server {
	if opts.OrgID == "" {
		opts.OrgID = "7d3f0c52-0000-4000-8000-000000000001"
	}
	if opts.APIKeyID == "" {
		opts.APIKeyID = "a1b2c3d4-0000-4000-8000-000000000002"
	}
	if opts.AccessToken == "" {
		opts.AccessToken = "sccsim-at-" + randomHex()
	}
	if opts.RefreshToken == "" {
		opts.RefreshToken = "sccsim-rt-" + randomHex()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:    opts,
		faults:  simkit.NewInjector(opts.Faults),
		access:  opts.AccessToken,
		refresh: opts.RefreshToken,
		byEmail: map[string]*user{},
		byID:    map[string]*user{},
		groupID: map[string]*group{},
	}
	if opts.TokenLifetime > 0 {
		s.accessExpires = opts.Now().Add(opts.TokenLifetime)
	}
	return s
}

// NewDefault is the built-in simulator for simulate: true.
func NewDefault() connectors.Simulator { return New(Options{}) }

func randomHex() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// Credentials are the settings a connector needs for this simulator.
func (s *Server) Credentials() map[string]string {
	return map[string]string{
		"org_id":        s.opts.OrgID,
		"api_key_id":    s.opts.APIKeyID,
		"access_token":  s.opts.AccessToken,
		"refresh_token": s.opts.RefreshToken,
	}
}

// BasePath is the API version prefix; the org is in Credentials.
func (s *Server) BasePath() string { return "/v1" }

// Users lists the users as the target holds them. A user's TargetID is
// its email in lower case: SCC writes users by email, and that is the id
// the connector records (SCC's own id, UserID, is needed only to rename).
func (s *Server) Users() []simkit.SimUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]simkit.SimUser, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, simkit.SimUser{TargetID: strings.ToLower(u.Email), UserName: u.Email, Active: u.Status != "DISABLE"})
	}
	return out
}

// UserID is SCC's own id for the user with email mail ("" if none).
func (s *Server) UserID(mail string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.byEmail[strings.ToLower(mail)]; u != nil {
		return u.ID
	}
	return ""
}

// Groups lists the admin groups with their members' target ids (emails,
// as Users reports them).
func (s *Server) Groups() []simkit.SimGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]simkit.SimGroup, 0, len(s.groups))
	for _, g := range s.groups {
		members := make([]string, 0, len(g.members))
		for _, id := range g.members {
			if u := s.byID[id]; u != nil {
				members = append(members, strings.ToLower(u.Email))
			}
		}
		out = append(out, simkit.SimGroup{TargetID: g.ID, Name: g.Name, MemberTargetIDs: members})
	}
	return out
}

// FailNext queues n faults f for the next resource requests.
func (s *Server) FailNext(f simkit.Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.FailNext(f, n)
}

// Calls counts resource requests served so far (not the token endpoint).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Refreshes counts successful token refreshes.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Tokens returns the current access and refresh tokens (for tests).
func (s *Server) Tokens() (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access, s.refresh
}

// ExpireAccessToken makes the current access token stop working, as if
// its lifetime had passed; the refresh token stays valid.
func (s *Server) ExpireAccessToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access = "expired-" + s.access
}

// AddUser puts a user in the target directly (status ACTIVE unless given),
// as if it had been created outside the bridge. It returns the user's id.
func (s *Server) AddUser(email, firstName, lastName, status string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == "" {
		status = "ACTIVE"
	}
	u := s.addUser(email, firstName, lastName, status)
	u.accepted = status != "PENDING"
	return u.ID
}

// AddGroup puts an admin group in the target directly and returns its id.
func (s *Server) AddGroup(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addGroup(name, "", "ALL").ID
}

func (s *Server) nextID() (int, string) {
	s.seq++
	return s.seq, fmt.Sprintf("5cc00000-0000-4000-8000-%012d", s.seq)
}

func (s *Server) addUser(email, first, last, status string) *user {
	seq, id := s.nextID()
	u := &user{seq: seq, ID: id, Email: email, FirstName: first, LastName: last, Status: status}
	s.users = append(s.users, u)
	s.byEmail[strings.ToLower(email)] = u
	s.byID[id] = u
	return u
}

func (s *Server) removeUser(u *user) {
	delete(s.byEmail, strings.ToLower(u.Email))
	delete(s.byID, u.ID)
	for i, x := range s.users {
		if x == u {
			s.users = append(s.users[:i], s.users[i+1:]...)
			break
		}
	}
	for _, g := range s.groups {
		g.removeMember(u.ID)
	}
}

func (s *Server) addGroup(name, description, appliesTo string) *group {
	seq, id := s.nextID()
	g := &group{seq: seq, ID: id, Name: name, Description: description, AppliesTo: appliesTo,
		Created: s.opts.Now().UTC().Format(time.RFC3339)}
	s.groups = append(s.groups, g)
	s.groupID[id] = g
	return g
}

func (s *Server) groupByName(name string) *group {
	for _, g := range s.groups {
		if strings.EqualFold(g.Name, name) {
			return g
		}
	}
	return nil
}

func (g *group) hasMember(id string) bool {
	for _, m := range g.members {
		if m == id {
			return true
		}
	}
	return false
}

func (g *group) removeMember(id string) bool {
	for i, m := range g.members {
		if m == id {
			g.members = append(g.members[:i], g.members[i+1:]...)
			return true
		}
	}
	return false
}
