// Package secureaccess delivers SCIM users to Cisco Secure Access as
// identity registrations (../../shared/contracts/secureaccess.md).
//
// Each user in scope is one `device` registration keyed by a UUIDv5 of its
// SCIM id; a SCIM DELETE or leaving scope sets it inactive (the target has
// no delete). Groups are unsupported. The target allows 14 requests a
// minute but takes 250 registrations per PUT, so the connector merges the
// changes of concurrent Apply calls into as few PUTs as it can, sends them
// one at a time through a limiter that respects all three documented rate
// windows, and splits a rejected PUT to find the bad item.
package secureaccess

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureaccess/secureaccesssim"
	"github.com/scimbridge/scimbridge/mapping"
)

// Defaults from the contract.
const (
	DefaultBaseURL  = "https://api.sse.cisco.com/deployments/v2"
	DefaultTokenURL = "https://api.sse.cisco.com/auth/v2/token"
	MaxBatch        = 250 // items per PUT
)

// Settings keys.
const (
	CredAPIKey    = "api_key"
	CredAPISecret = "api_secret"
	OptTokenURL   = "token_url"  // default: DefaultTokenURL, or derived from base_url
	OptRateScale  = "rate_scale" // multiplies the rate windows (tests, simulators); default 1
	OptTimeout    = "request_timeout"
)

// Registration makes the connector type known to the program.
var Registration = connectors.Registration{
	Type:            "secureaccess",
	New:             New,
	NewSimulator:    secureaccesssim.NewDefault,
	DefaultMapping:  DefaultMapping,
	DefaultOnDelete: "deactivate",
	Credentials:     Credentials{},
	Options:         Options{},
}

// Credentials are the keys config.yaml may set under credentials.
type Credentials struct {
	APIKey    string `setting:"api_key"`
	APISecret string `setting:"api_secret"`
}

// Options are the keys config.yaml may set under options.
type Options struct {
	TokenURL       string         `setting:"token_url"`       // default: DefaultTokenURL, or derived from base_url
	RateScale      *float64       `setting:"rate_scale"`      // multiplies the rate windows (tests, simulators); default 1
	RequestTimeout *time.Duration `setting:"request_timeout"` // per HTTP request; default 30s
	// Dedupe deactivates the registrations of a person other than the one
	// the bridge keeps (adopt.go); off, they are only reported.
	Dedupe bool `setting:"dedupe"`
	// DriftCheckInterval runs check-targets for this connector periodically,
	// report only (0: off; connectors.OptDriftCheckInterval).
	DriftCheckInterval time.Duration `setting:"drift_check_interval"`
}

// DefaultMapping maps a SCIM user to a registration's fields. A config
// mapping may also set domainName, samAccountName and guidHash.
var DefaultMapping = mapping.Spec{User: map[string]string{
	fieldAuthName: "userName",
	fieldLabel:    "default(displayName, userName)",
	fieldActive:   "active",
}}

// Connector is the Secure Access registrations connector.
type Connector struct {
	name    string
	regURL  string // .../identities/registrations/device
	client  *http.Client
	log     zerolog.Logger
	tokens  *tokens
	lim     *limiter
	limits  connectors.Limits
	timeout time.Duration // per HTTP request
	state   connectors.StateStore
	adopt   adoption

	// The send queue: Apply calls add entries, and whichever call holds
	// lead sends the next PUT. See send.
	mu        sync.Mutex
	queue     []*entry
	lead      chan struct{}
	more      chan struct{} // signalled when entries are queued
	lingerFor time.Duration
}

// New builds a connector from its settings. It never puts a credential's
// value in an error.
func New(s connectors.Settings, d connectors.Deps) (connectors.Connector, error) {
	name := s.Name
	if name == "" {
		name = "secureaccess"
	}
	fail := func(format string, args ...any) error {
		return connectors.NewConfigError("secureaccess", name, fmt.Errorf(format, args...))
	}
	var cr Credentials
	var op Options
	if err := connectors.DecodeSettings(s, &cr, &op); err != nil {
		return nil, connectors.NewConfigError("secureaccess", name, err)
	}
	key, secret := cr.APIKey, cr.APISecret
	if key == "" {
		return nil, fail("credentials.%s is required", CredAPIKey)
	}
	if secret == "" {
		return nil, fail("credentials.%s is required", CredAPISecret)
	}
	base := strings.TrimRight(s.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	bu, err := url.Parse(base)
	if err != nil || (bu.Scheme != "http" && bu.Scheme != "https") || bu.Host == "" {
		return nil, fail("base_url %q is not an http(s) URL", s.BaseURL)
	}
	tokenURL, err := tokenURLFor(bu, op.TokenURL)
	if err != nil {
		return nil, fail("%v", err)
	}
	scale := 1.0
	if op.RateScale != nil {
		if scale = *op.RateScale; scale <= 0 {
			return nil, fail("options.%s %v is not a positive number", OptRateScale, scale)
		}
	}
	timeout := 30 * time.Second
	if op.RequestTimeout != nil {
		if timeout = *op.RequestTimeout; timeout <= 0 {
			return nil, fail("options.%s %s is not a positive duration", OptTimeout, timeout)
		}
	}
	switch s.OnDelete {
	case "", "deactivate":
	default:
		return nil, fail("on_delete %q is not supported: the target has no delete, a deleted user's registration is set inactive (on_delete: deactivate)", s.OnDelete)
	}
	batch := MaxBatch
	if s.BatchSize > MaxBatch {
		return nil, fail("batch_size %d exceeds the target's %d items per request", s.BatchSize, MaxBatch)
	} else if s.BatchSize > 0 {
		batch = s.BatchSize
	}
	for f, expr := range s.Mapping.User {
		if expr != "" && !slices.Contains(knownFields, f) {
			return nil, fail("mapping.user.%s: a registration has no such field (have %s)", f, strings.Join(knownFields, ", "))
		}
	}

	client := d.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	windows := scaleWindows(defaultWindows, scale)
	minute := windows[1]
	c := &Connector{
		name:   name,
		regURL: base + "/identities/registrations/device",
		client: client,
		log:    d.Log,
		tokens: &tokens{
			cfg: clientcredentials.Config{
				ClientID: key, ClientSecret: secret, TokenURL: tokenURL,
				// The server refuses credentials in the form body; auto-detection
				// would try that after a failure.
				AuthStyle: oauth2.AuthStyleInHeader,
			},
			client: connectors.NoRedirects(client), // the request carries the API secret
			lim:    newLimiter(scaleWindows(tokenWindows, scale)),
			log:    d.Log,
			name:   name,
		},
		lim: newLimiter(windows),
		limits: connectors.Limits{
			BatchSize: batch,
			// The minute window's rate and size. The limiter here enforces
			// all three windows exactly; this only keeps the dispatcher from
			// queueing far more Apply calls than can be sent.
			Rate:    float64(minute.N) / minute.Per.Seconds(),
			Burst:   minute.N,
			Timeout: 2*minute.Per + timeout,
		},
		timeout:   timeout,
		lead:      make(chan struct{}, 1),
		more:      make(chan struct{}, 1),
		lingerFor: min(windows[0].Per/20, 50*time.Millisecond),
		state:     d.State,
		adopt:     adoption{owner: indexOwner(base+"/identities/registrations/device", key), dedupe: op.Dedupe, dups: map[string][]string{}, noted: map[string]string{}},
	}
	c.loadIndex()
	if d.State != nil {
		// Resume with the windows the target still counts, and the token
		// a predecessor fetched (see state.go).
		c.lim.attach(d.State, stateLimiter, d.Log.With().Str("connector", name).Logger())
		c.tokens.state = d.State
		c.tokens.load()
	}
	return c, nil
}

// tokenURLFor is the token_url option, else the token path beside a
// base URL that ends in /deployments/v2 (the real API and the simulator).
func tokenURLFor(base *url.URL, opt string) (string, error) {
	if opt != "" {
		u, err := url.Parse(opt)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("options.%s %q is not an http(s) URL", OptTokenURL, opt)
		}
		return opt, nil
	}
	prefix, ok := strings.CutSuffix(base.Path, secureaccesssim.BasePath)
	if !ok {
		return "", fmt.Errorf("options.%s is required when base_url does not end in %s", OptTokenURL, secureaccesssim.BasePath)
	}
	u := *base
	u.Path = prefix + secureaccesssim.TokenPath
	return u.String(), nil
}

// Name is the connector's configured name.
func (c *Connector) Name() string { return c.name }

// Limits declares batches of up to 250 and the target's rate.
func (c *Connector) Limits() connectors.Limits { return c.limits }

// Apply delivers a batch: every user change becomes one item of a PUT
// (shared with concurrent Apply calls), plus the person's duplicate
// registrations it deactivates (adopt.go); groups are unsupported.
func (c *Connector) Apply(ctx context.Context, batch []connectors.Change) []connectors.Result {
	res := make([]connectors.Result, len(batch))
	users := slices.ContainsFunc(batch, func(ch connectors.Change) bool { return ch.Type == connectors.User })
	if users {
		if err := c.ensureIndex(ctx); err != nil {
			for i, ch := range batch {
				if ch.Type == connectors.User {
					res[i].Err = naming(err, ch)
				} else {
					_, _, r := c.prepare(ch)
					res[i] = *r
				}
			}
			return res
		}
	}
	var (
		es      []*entry
		at      []int // index in batch of es[i]
		unknown []int // deletes whose fields we must look up
		plans   = map[int]plan{}
	)
	add := func(i int, its []item) {
		for _, it := range its {
			es = append(es, &entry{it: it})
			at = append(at, i)
		}
	}
	addPlan := func(i int, p plan) {
		plans[i] = p
		add(i, p.items)
	}
	for i, ch := range batch {
		it, send, r := c.prepare(ch)
		switch {
		case send:
			addPlan(i, c.resolve(ch, it))
		case r == nil:
			if known, ok := c.indexed(keyOf(ch)); ok {
				addPlan(i, c.resolve(ch, itemOf(known, false)))
			} else {
				unknown = append(unknown, i)
			}
		case ch.Type == connectors.User && ch.Op == connectors.OpDelete && ch.TargetID == "" && r.Err == nil:
			// Never mapped: the person may still hold a registration the
			// bridge did not write. Deleted in SCIM means none stays active.
			add(i, c.strays(str(ch.Prev[fieldAuthName])))
		default:
			res[i] = *r
		}
	}
	if len(unknown) > 0 {
		found, err := c.lookup(ctx, batch, unknown)
		for _, i := range unknown {
			it, ok := found[keyOf(batch[i])]
			switch {
			case err != nil:
				res[i].Err = err
			case !ok: // never registered: nothing to deactivate
			default:
				addPlan(i, c.resolve(batch[i], it))
			}
		}
	}
	c.send(ctx, es)
	var landed []item
	c.mu.Lock()
	seen := map[int]bool{}
	for j, e := range es {
		i := at[j]
		if e.res.Err == nil {
			landed = append(landed, e.it)
		}
		if !seen[i] { // the change's own item comes first
			seen[i] = true
			res[i] = e.res
			if batch[i].Op == connectors.OpUpsert {
				// The key is known even when the PUT failed: record it.
				res[i].TargetID = e.it.Key
			}
			continue
		}
		if res[i].Err == nil && e.res.Err != nil {
			res[i].Err = e.res.Err
		}
	}
	c.mu.Unlock()
	c.wrote(landed)
	for i := range res {
		if p, ok := plans[i]; ok && res[i].Err == nil {
			if n := c.note(p); n != "" {
				res[i].Notes = append(res[i].Notes, n)
			}
		}
		res[i].Err = naming(res[i].Err, batch[i])
	}
	return res
}

// indexed returns the registration the index holds under key.
func (c *Connector) indexed(key string) (registration, bool) {
	c.adopt.mu.Lock()
	defer c.adopt.mu.Unlock()
	if c.adopt.idx == nil {
		return registration{}, false
	}
	r, ok := c.adopt.idx.byKey[key]
	return r, ok
}

// naming adds the resource to a final error's message. Besides helping
// whoever reads the dead letter, it keeps the dispatcher from bisecting a
// batch whose changes all failed alike (a 403, a target that has no
// groups): this connector has already split what splitting can fix, and
// each further PUT costs a slot of 14 a minute.
func naming(err error, ch connectors.Change) error {
	var e *connectors.Error
	if !errors.As(err, &e) || (e.Class != connectors.Permanent && e.Class != connectors.Unsupported) {
		return err
	}
	named := *e
	named.Msg = fmt.Sprintf("%s (%s %s)", e.Msg, strings.ToLower(ch.Type), ch.ID)
	return &named
}

func keyOf(ch connectors.Change) string {
	if ch.TargetID != "" {
		return ch.TargetID
	}
	return Key(ch.ID)
}

// prepare turns a change into the item to send (send=true), a finished
// result, or neither (nil result): a delete whose fields must be looked up.
func (c *Connector) prepare(ch connectors.Change) (it item, send bool, r *connectors.Result) {
	switch {
	case ch.Type == connectors.Group:
		return it, false, &connectors.Result{Err: connectors.NewUnsupported("Secure Access has no groups; group changes are not sent")}
	case ch.Type != connectors.User:
		return it, false, &connectors.Result{Err: connectors.NewPermanent("unknown resource type "+ch.Type, nil)}
	}
	key := keyOf(ch)
	switch ch.Op {
	case connectors.OpDelete:
		if ch.TargetID == "" {
			// Created and deleted before it was ever sent: no registration needed.
			return it, false, &connectors.Result{}
		}
		if ch.Prev == nil {
			return it, false, nil
		}
		it, err := newItem(key, ch.Prev, false)
		if err != nil {
			return it, false, &connectors.Result{Err: err}
		}
		return it, true, nil
	case connectors.OpUpsert:
		it, err := newItem(key, ch.Fields, true)
		if err != nil {
			return it, false, &connectors.Result{Err: err}
		}
		if ch.TargetID != "" && ch.Prev != nil {
			// The registration is the whole item: skip the PUT if nothing in it changed.
			if prev, err := newItem(key, ch.Prev, true); err == nil && prev == it {
				return it, false, &connectors.Result{TargetID: key}
			}
		}
		return it, true, nil
	}
	return it, false, &connectors.Result{Err: connectors.NewPermanent("unknown operation "+string(ch.Op), nil)}
}
