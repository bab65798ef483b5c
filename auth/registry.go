package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Config is what a Reload reads: the named clients and the top-level
// tokens (the unnamed bearer client).
type Config struct {
	Clients []Client
	Tokens  []string
	// Literal lists the keys whose secret is written in the file itself
	// (neither ${ENV}, ${file:} nor a hash), for a warning.
	Literal []string
}

// Source reads the current configuration (config.yaml again, on Reload).
type Source func() (Config, error)

// AccessTokens verifies OAuth access tokens; auth/oauth implements it.
type AccessTokens interface {
	// VerifyAccessToken returns the name of the client the token was
	// issued to, still configured with the secret it was issued under,
	// and the token's expiry.
	VerifyAccessToken(token string) (client string, exp time.Time, err error)
}

// Options configure a Registry.
type Options struct {
	// AdminToken is never accepted as a SCIM credential.
	AdminToken string
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// MaxHashing bounds concurrent hash verifications (default GOMAXPROCS/2, at least 1).
	MaxHashing int
	// HashWait is how long a request waits for a verification slot
	// before 503 (default 5 s).
	HashWait time.Duration
	// FailureLimit failures from one address within a minute make its
	// further failures 429 (default 20).
	FailureLimit int
	Log          zerolog.Logger
	Registerer   prometheus.Registerer
	Now          func() time.Time
}

// Registry holds the configured clients and authenticates requests.
type Registry struct {
	opts     Options
	source   Source
	cur      atomic.Pointer[snapshot]
	tokens   atomic.Pointer[accessTokensBox]
	sem      chan struct{}
	throttle *throttle
	metrics  *metrics
	adminSum [32]byte
	reloadMu sync.Mutex
}

type accessTokensBox struct{ v AccessTokens }

// client is a configured client, compiled.
type client struct {
	name     string
	readOnly bool
	bearer   []secret
	basic    *Basic
	basicPw  secret
	oauth    *OAuth
	secrets  []secret // oauth client secrets
	internal bool     // added by the program (Client.Internal): never advertised
}

type snapshot struct {
	clients  []*client
	byName   map[string]*client
	byUser   map[string]*client
	byID     map[string]*client
	literal  []bearerEntry // bearer tokens compared by SHA-256
	hashed   []bearerEntry // bearer tokens kept as hashes
	bearerOn bool
	basicOn  bool
	oauthOn  bool

	mu   sync.RWMutex        // readers: the lookups of every request
	good map[[32]byte]cached // verified credentials
	bad  map[[32]byte]struct{}
}

type bearerEntry struct {
	sum    [32]byte
	secret *secret
	client *client
}

type cached struct {
	client *client
	exp    time.Time // zero: until the next reload
	fp     [32]byte  // oauth client secrets: which one matched
}

// maxCache bounds each cache; past it the cache starts over.
const maxCache = 10000

// ErrBusy means too many hash verifications are waiting.
var ErrBusy = errors.New("too many credential verifications in progress")

var errInvalid = errors.New("invalid credentials")

// NewRegistry loads the clients from source.
func NewRegistry(source Source, opts Options) (*Registry, error) {
	if opts.MaxHashing <= 0 {
		opts.MaxHashing = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if opts.HashWait <= 0 {
		opts.HashWait = 5 * time.Second
	}
	if opts.FailureLimit <= 0 {
		opts.FailureLimit = 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Registry{
		opts:     opts,
		source:   source,
		sem:      make(chan struct{}, opts.MaxHashing),
		throttle: newThrottle(opts.FailureLimit, time.Minute),
		metrics:  newMetrics(opts.Registerer),
	}
	if opts.AdminToken != "" {
		r.adminSum = sha256.Sum256([]byte(opts.AdminToken))
	}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// SetAccessTokens installs the OAuth access token verifier.
func (r *Registry) SetAccessTokens(v AccessTokens) { r.tokens.Store(&accessTokensBox{v}) }

// Reload reads the source again and replaces the clients and the caches,
// so a removed client or rotated-out secret stops working now. On error
// the current clients stay.
func (r *Registry) Reload() error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	cfg, err := r.source()
	if err != nil {
		return err
	}
	if err := Validate(cfg.Clients); err != nil {
		return err
	}
	s, err := compile(cfg, r.opts.AdminToken)
	if err != nil {
		return err
	}
	for _, key := range cfg.Literal {
		r.opts.Log.Warn().Str("key", key).Msg("secret written literally in the config file: prefer ${ENV}, ${file:/path} or a hash (scimbridge hash-secret)")
	}
	names := make([]string, 0, len(s.clients))
	for _, c := range s.clients {
		names = append(names, c.name)
	}
	r.cur.Store(s)
	r.opts.Log.Info().Strs("clients", names).Msg("SCIM clients loaded")
	return nil
}

func compile(cfg Config, adminToken string) (*snapshot, error) {
	s := &snapshot{
		byName: map[string]*client{}, byUser: map[string]*client{}, byID: map[string]*client{},
		good: map[[32]byte]cached{}, bad: map[[32]byte]struct{}{},
	}
	add := func(c *client) {
		s.clients = append(s.clients, c)
		s.byName[c.name] = c
	}
	var tokens []string
	for _, t := range cfg.Tokens {
		if t = strings.TrimSpace(t); t != "" {
			tokens = append(tokens, t)
		}
	}
	if len(tokens) > 0 {
		c := &client{name: LegacyClient}
		for _, t := range tokens {
			sec, err := parseSecret(t)
			if err != nil {
				return nil, errors.New("tokens: " + err.Error())
			}
			c.bearer = append(c.bearer, sec)
		}
		add(c)
	}
	for _, cc := range cfg.Clients {
		c := &client{name: cc.Name, readOnly: cc.ReadOnly, basic: cc.Basic, oauth: cc.OAuth, internal: cc.Internal}
		for _, b := range cc.Bearer {
			sec, _ := parseSecret(strings.TrimSpace(b)) // Validate checked it
			c.bearer = append(c.bearer, sec)
		}
		if cc.Basic != nil {
			c.basicPw, _ = parseSecret(cc.Basic.Password)
			s.byUser[cc.Basic.Username] = c
			s.basicOn = true
		}
		if cc.OAuth != nil {
			o := *cc.OAuth
			if o.AccessTokenTTL == 0 {
				o.AccessTokenTTL = DefaultAccessTokenTTL
			}
			c.oauth = &o
			for _, x := range o.ClientSecrets {
				sec, _ := parseSecret(x)
				c.secrets = append(c.secrets, sec)
			}
			s.byID[o.ClientID] = c
			s.oauthOn = true
		}
		add(c)
	}
	for _, c := range s.clients {
		for i := range c.bearer {
			sec := &c.bearer[i]
			s.bearerOn = s.bearerOn || !c.internal
			if sec.expensive() {
				s.hashed = append(s.hashed, bearerEntry{secret: sec, client: c})
			} else {
				s.literal = append(s.literal, bearerEntry{sum: sec.sum, client: c})
			}
		}
	}
	if adminToken != "" {
		for _, e := range s.literal {
			if subtle.ConstantTimeCompare(e.sum[:], sha(adminToken)) == 1 {
				return nil, errors.New("a SCIM bearer token equals the admin token: the admin token must never be a SCIM credential")
			}
		}
	}
	return s, nil
}

func sha(s string) []byte {
	b := sha256.Sum256([]byte(s))
	return b[:]
}

// lookup reads the clock (now) only for an entry that expires.
func (s *snapshot) lookup(key [32]byte, now func() time.Time) (*client, bool, bool) {
	s.mu.RLock()
	e, ok := s.good[key]
	_, bad := s.bad[key]
	s.mu.RUnlock()
	if !ok {
		return nil, false, bad
	}
	if e.exp.IsZero() {
		return e.client, true, false
	}
	t := now()
	if t.Before(e.exp) {
		return e.client, true, false
	}
	s.mu.Lock()
	if e, ok := s.good[key]; ok && !e.exp.IsZero() && !t.Before(e.exp) { // not renewed meanwhile
		delete(s.good, key)
	}
	_, bad = s.bad[key]
	s.mu.Unlock()
	return nil, false, bad
}

func (s *snapshot) remember(key [32]byte, c *client, exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c == nil {
		if len(s.bad) >= maxCache {
			clear(s.bad)
		}
		s.bad[key] = struct{}{}
		return
	}
	if len(s.good) >= maxCache {
		clear(s.good)
	}
	s.good[key] = cached{client: c, exp: exp}
}

// FlushCache forgets every verified credential (after a revocation).
func (r *Registry) FlushCache() {
	s := r.cur.Load()
	s.mu.Lock()
	clear(s.good)
	s.mu.Unlock()
}

// hashing runs fn while holding one of the verification slots.
func (r *Registry) hashing(ctx context.Context, fn func() bool) (bool, error) {
	t := time.NewTimer(r.opts.HashWait)
	defer t.Stop()
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return false, ErrBusy
	}
	defer func() { <-r.sem }()
	r.metrics.hashes.Inc()
	return fn(), nil
}

// authenticate finds the client of a parsed credential. The error is
// errInvalid, ErrBusy or the context's; the client name is known for a
// Basic user name that exists (to count its failures).
func (r *Registry) authenticate(ctx context.Context, s *snapshot, cred Credential) (*client, string, error) {
	var key [32]byte
	switch cred.Scheme {
	case SchemeBasic:
		key = sha256.Sum256([]byte("basic\x00" + cred.Username + "\x00" + cred.Password))
	default:
		key = sha256.Sum256([]byte("bearer\x00" + cred.Token))
	}
	if c, ok, bad := s.lookup(key, r.opts.Now); ok {
		return c, c.name, nil
	} else if bad {
		return nil, r.knownName(s, cred), errInvalid
	}
	c, exp, err := r.verify(ctx, s, cred)
	if errors.Is(err, errInvalid) {
		s.remember(key, nil, time.Time{})
		return nil, r.knownName(s, cred), err
	}
	if err != nil {
		return nil, r.knownName(s, cred), err
	}
	s.remember(key, c, exp)
	return c, c.name, nil
}

func (r *Registry) knownName(s *snapshot, cred Credential) string {
	if cred.Scheme == SchemeBasic {
		if c := s.byUser[cred.Username]; c != nil {
			return c.name
		}
	}
	return ""
}

func (r *Registry) verify(ctx context.Context, s *snapshot, cred Credential) (*client, time.Time, error) {
	if cred.Scheme == SchemeBasic {
		c := s.byUser[cred.Username]
		if c == nil {
			return nil, time.Time{}, errInvalid
		}
		if !c.basicPw.expensive() {
			if c.basicPw.verify(cred.Password) {
				return c, time.Time{}, nil
			}
			return nil, time.Time{}, errInvalid
		}
		ok, err := r.hashing(ctx, func() bool { return c.basicPw.verify(cred.Password) })
		if err != nil {
			return nil, time.Time{}, err
		}
		if ok {
			return c, time.Time{}, nil
		}
		return nil, time.Time{}, errInvalid
	}
	tok := cred.Token
	if r.opts.AdminToken != "" && subtle.ConstantTimeCompare(sha(tok), r.adminSum[:]) == 1 {
		return nil, time.Time{}, errInvalid
	}
	// Every literal is compared, so the time does not tell which matched.
	got := sha256.Sum256([]byte(tok))
	var match *client
	for _, e := range s.literal {
		if subtle.ConstantTimeCompare(got[:], e.sum[:]) == 1 {
			match = e.client
		}
	}
	if match != nil {
		return match, time.Time{}, nil
	}
	if cred.Scheme == SchemeBearer && s.oauthOn && strings.Count(tok, ".") == 2 {
		if box := r.tokens.Load(); box != nil {
			name, exp, err := box.v.VerifyAccessToken(tok)
			if err == nil {
				if c := s.byName[name]; c != nil && c.oauth != nil {
					return c, exp, nil
				}
			}
			// Not one of ours: it may still be a hashed static token.
		}
	}
	if len(s.hashed) == 0 {
		return nil, time.Time{}, errInvalid
	}
	ok, err := r.hashing(ctx, func() bool {
		for _, e := range s.hashed {
			if e.secret.verify(tok) {
				match = e.client
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	if !ok {
		return nil, time.Time{}, errInvalid
	}
	return match, time.Time{}, nil
}

// OAuthClient is what the authorization server knows of a client.
type OAuthClient struct {
	Name         string
	ClientID     string
	TTL          time.Duration
	RedirectURIs []string
	RequirePKCE  bool
}

func (c *client) oauthClient() OAuthClient {
	return OAuthClient{Name: c.name, ClientID: c.oauth.ClientID, TTL: c.oauth.AccessTokenTTL,
		RedirectURIs: c.oauth.RedirectURIs, RequirePKCE: c.oauth.RequirePKCE}
}

// OAuthClient returns the client with this client_id.
func (r *Registry) OAuthClient(clientID string) (OAuthClient, bool) {
	c := r.cur.Load().byID[clientID]
	if c == nil {
		return OAuthClient{}, false
	}
	return c.oauthClient(), true
}

// AuthenticateOAuthClient checks a client secret and returns the client
// and the fingerprint of the secret that matched (to bind tokens to it).
// The error is ErrBusy, the context's, or else means invalid credentials.
// Verdicts are cached like SCIM credentials, until the next reload.
func (r *Registry) AuthenticateOAuthClient(ctx context.Context, clientID, clientSecret string) (OAuthClient, [32]byte, error) {
	s := r.cur.Load()
	c := s.byID[clientID]
	if c == nil || clientSecret == "" {
		return OAuthClient{}, [32]byte{}, errInvalid
	}
	key := sha256.Sum256([]byte("oauth\x00" + clientID + "\x00" + clientSecret))
	s.mu.Lock()
	e, hit := s.good[key]
	_, bad := s.bad[key]
	s.mu.Unlock()
	switch {
	case hit && e.client == c:
		return c.oauthClient(), e.fp, nil
	case bad:
		return OAuthClient{}, [32]byte{}, errInvalid
	}
	idx := -1
	for i := range c.secrets { // every literal, in constant time each
		if !c.secrets[i].expensive() && c.secrets[i].verify(clientSecret) {
			idx = i
		}
	}
	if idx < 0 && slices.ContainsFunc(c.secrets, func(x secret) bool { return x.expensive() }) {
		_, err := r.hashing(ctx, func() bool {
			for i := range c.secrets {
				if c.secrets[i].expensive() && c.secrets[i].verify(clientSecret) {
					idx = i
					return true
				}
			}
			return false
		})
		if err != nil {
			return OAuthClient{}, [32]byte{}, err
		}
	}
	if idx < 0 {
		s.remember(key, nil, time.Time{})
		return OAuthClient{}, [32]byte{}, errInvalid
	}
	fp := c.secrets[idx].fp
	s.mu.Lock()
	if len(s.good) >= maxCache {
		clear(s.good)
	}
	s.good[key] = cached{client: c, fp: fp}
	s.mu.Unlock()
	return c.oauthClient(), fp, nil
}

// SecretFingerprints returns the client's name and the fingerprints of
// its configured secrets (none: the client is gone).
func (r *Registry) SecretFingerprints(clientID string) (string, [][32]byte) {
	c := r.cur.Load().byID[clientID]
	if c == nil {
		return "", nil
	}
	fps := make([][32]byte, len(c.secrets))
	for i := range c.secrets {
		fps[i] = c.secrets[i].fp
	}
	return c.name, fps
}
