// Package secureauthsim is an in-memory SecureAuth Identity Platform
// Identity Management API (../../../../shared/contracts/secureauth.md) for
// tests, demos and simulate: true. It checks every request signature
// exactly, refuses replays and clock skew, signs every answer, and enforces
// the request shapes the contract lists.
package secureauthsim

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// Default credentials of a simulator built with zero Options: the contract's
// test vector app.
const (
	DefaultAppID  = "af1b351845ec47968b27debd9cd4ce53"
	DefaultAppKey = "101db0347fdf71dab63cd965b8782ff6ba0f8f1c91e8cf52f970d1267e0fb453"
	DefaultRealm  = "secureauth2"
)

// Options configure a Server. The zero value is a deterministic simulator
// with the default app, no latency and no injected faults.
type Options struct {
	AppID  string // default DefaultAppID
	AppKey string // 64 hex characters; default DefaultAppKey
	Realm  string // first path segment; default DefaultRealm

	// Skew is the accepted distance between a request's date and the
	// simulator's clock (default 5 minutes).
	Skew time.Duration
	// Now is the simulator's clock (default time.Now).
	Now func() time.Time

	// AllowDelete enables DELETE /users/ (only one vendor SDK shows it).
	AllowDelete bool
	// StrictGroups makes an association with a group not in Groups fail,
	// as AD does; by default a group comes into being on first use.
	StrictGroups bool
	// Groups exist from the start.
	Groups []string

	// Stricter readings of the guide, which an independent target may
	// have (all off by default):
	//
	// StrictMembership refuses to associate a user already in the group,
	// as Active Directory does ("Failed to add user to group.", or the
	// user listed in the list form's failures).
	StrictMembership bool
	// UniqueEmails answers "Duplicate email." to a create or update whose
	// email1-4 another user holds; a create checks it before the userId.
	UniqueEmails bool
	// VagueNotFound answers an update of an unknown user with the guide's
	// {"status":"error","message":"Not_Found"} (HTTP 404) and a password
	// reset of one with {"status":"failed","message":""} (HTTP 400),
	// instead of "User Id was not found".
	VagueNotFound bool

	// UnsignedErrors leaves 401, 429 and 5xx answers unsigned: a server
	// cannot sign for an app id it does not know, and a gateway in front
	// of it throttles or fails without the key.
	UnsignedErrors bool

	// AnswerDateLayout is the layout of the answers' X-SA-Date (default
	// http.TimeFormat). The guide asks only for "a second-precision
	// timestamp"; another server may write time.RFC1123's "UTC" or add
	// milliseconds, and a client must still verify and accept it.
	AnswerDateLayout string

	// Latency delays every answer.
	Latency time.Duration
	// Faults are the shared fault knobs (simkit): ErrorRate answers 500
	// server_error, ThrottleRate and RateLimit answer 429 (Retry-After when
	// RetryAfter > 0).
	simkit.Faults
}

// Server is the simulator: an http.Handler with in-memory state.
type Server struct {
	opts  Options
	key   []byte
	base  string // "/<realm>/api/"
	clock func() time.Time

	mu     sync.Mutex
	users  map[string]*user  // lower-cased userId -> user
	groups map[string]*group // lower-cased name -> group
	seen   map[string]time.Time
	calls  int
	faults *simkit.Injector
	tamper int
}

type user struct {
	id         string
	password   string
	props      map[string]string
	kb         map[string]kbEntry
	scrambled  bool // an administrator reset the password
	passwordAt int  // number of password writes, for tests
}

type kbEntry struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

type group struct {
	name    string
	members map[string]bool // lower-cased userId
}

// New builds a Server.
func New(opts Options) *Server {
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.AppKey == "" {
		opts.AppKey = DefaultAppKey
	}
	if opts.Realm == "" {
		opts.Realm = DefaultRealm
	}
	if opts.Skew == 0 {
		opts.Skew = 5 * time.Minute
	}
	s := &Server{
		opts:   opts,
		key:    mustHex(opts.AppKey),
		base:   "/" + opts.Realm + "/api/",
		clock:  opts.Now,
		users:  map[string]*user{},
		groups: map[string]*group{},
		seen:   map[string]time.Time{},
		faults: simkit.NewInjector(opts.Faults),
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	for _, g := range opts.Groups {
		s.groups[strings.ToLower(g)] = &group{name: g, members: map[string]bool{}}
	}
	return s
}

// NewDefault is the simulator behind simulate: true: the default app,
// deletes allowed, groups created on first use.
func NewDefault() connectors.Simulator { return New(Options{AllowDelete: true}) }

// Credentials are the app id and key a connector needs.
func (s *Server) Credentials() map[string]string {
	return map[string]string{"app_id": s.opts.AppID, "app_key": s.opts.AppKey}
}

// BasePath is the realm's v2 API root.
func (s *Server) BasePath() string { return s.base + "v2" }

// Users lists the users held, sorted by userId.
func (s *Server) Users() []simkit.SimUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]simkit.SimUser, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, simkit.SimUser{TargetID: u.id, UserName: u.id, Active: !u.scrambled})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TargetID < out[j].TargetID })
	return out
}

// Groups lists the groups held, sorted by name, with member userIds.
func (s *Server) Groups() []simkit.SimGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]simkit.SimGroup, 0, len(s.groups))
	for _, g := range s.groups {
		sg := simkit.SimGroup{TargetID: g.name, Name: g.name, MemberTargetIDs: []string{}}
		for k := range g.members {
			sg.MemberTargetIDs = append(sg.MemberTargetIDs, s.users[k].id)
		}
		slices.Sort(sg.MemberTargetIDs)
		out = append(out, sg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FailNext queues n faults f for the next authenticated requests.
func (s *Server) FailNext(f simkit.Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.FailNext(f, n)
}

// TamperNext makes the next n answers carry a body other than the one
// signed (a forged success), to test that clients verify signatures.
func (s *Server) TamperNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper += n
}

// Calls counts the API requests received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// User reports a user's properties and whether it exists, for tests.
func (s *Server) User(userID string) (props map[string]string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[strings.ToLower(userID)]
	if !ok {
		return nil, false
	}
	props = make(map[string]string, len(u.props))
	for k, v := range u.props {
		props[k] = v
	}
	return props, true
}

// PasswordWrites counts the passwords set for a user (create and resets),
// so tests can see a scramble without reading a password.
func (s *Server) PasswordWrites(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[strings.ToLower(userID)]; ok {
		return u.passwordAt
	}
	return 0
}
