// Package webex provisions users and groups into Webex Identity over SCIM 2
// (shared/contracts/webex.md). It turns each connectors.Change into the
// fewest calls: PATCH with only the changed attributes, member add/remove
// by Webex id in chunks, and /Bulk for runs of user writes and of group
// writes. Answers are
// classified with connectors.ClassifyHTTP; 409 on a create adopts the
// existing object; a 401 refreshes the integration token once.
package webex

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/webex/webexsim"
)

// Registration makes the "webex" connector type known to the program.
var Registration = connectors.Registration{
	Type:            "webex",
	New:             New,
	NewSimulator:    webexsim.NewDefault,
	DefaultMapping:  DefaultMapping,
	DefaultOnDelete: OnDeleteDelete,
	Credentials:     Credentials{},
	Options:         Options{},
}

// Credentials are the keys config.yaml may set under credentials.
type Credentials struct {
	AccessToken  string `setting:"access_token"`
	Token        string `setting:"token"` // alias of access_token
	RefreshToken string `setting:"refresh_token"`
	ClientID     string `setting:"client_id"`
	ClientSecret string `setting:"client_secret"`
	OrgID        string `setting:"org_id"`    // required unless base_url is set
	TokenURL     string `setting:"token_url"` // relative resolves against base_url
}

// Options are the keys config.yaml may set under options.
type Options struct {
	Bulk        *bool `setting:"bulk"`         // user writes through /Bulk; default true
	GroupBulk   *bool `setting:"group_bulk"`   // group writes through /Bulk; default: bulk's value
	MemberChunk *int  `setting:"member_chunk"` // member values per group PATCH, 1..500; default 100
	// DriftCheckInterval runs check-targets for this connector periodically,
	// report only (0: off; connectors.OptDriftCheckInterval).
	DriftCheckInterval time.Duration `setting:"drift_check_interval"`
}

// What a SCIM DELETE (or leaving scope) becomes in Webex.
const (
	OnDeleteDelete     = "delete"     // DELETE /Users/{id}
	OnDeleteDeactivate = "deactivate" // PATCH active:false
)

// Defaults of the connector's settings.
const (
	defaultAPIBase     = "https://webexapis.com/identity/scim/"
	maxBulkOps         = 100 // the contract's /Bulk limit
	defaultMemberChunk = 100 // member values per group PATCH
	maxMemberChunk     = 500
)

// Connector is the Webex connector. It is safe for concurrent Apply calls.
type Connector struct {
	requests    interface{ Wait(context.Context) error } // paces every request (connectors.RequestLimiter)
	name        string
	base        string // ends in /v2, no trailing slash
	hc          *http.Client
	log         zerolog.Logger
	tokens      *tokenSource
	onDelete    string
	bulk        bool // user writes through /Bulk
	groupBulk   bool // group writes through /Bulk
	memberChunk int
	listPage    int // count of a List page; tests lower it
	limits      connectors.Limits
	now         func() time.Time
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a Webex connector from its settings.
//
// Credentials: access_token (alias token) and/or refresh_token with
// client_id and client_secret; org_id unless base_url is set; token_url
// (default: /v1/access_token on the base URL's host, which for the default
// base is https://webexapis.com/v1/access_token; a relative one resolves
// against base_url).
// Options: bulk ("true"/"false", default true), group_bulk (default: bulk's
// value), member_chunk (1..500, default 100).
func New(s connectors.Settings, d connectors.Deps) (connectors.Connector, error) {
	return newConnector(s, d)
}

func newConnector(s connectors.Settings, d connectors.Deps) (*Connector, error) {
	name := s.Name
	if name == "" {
		name = "webex"
	}
	bad := func(format string, args ...any) error {
		return connectors.NewConfigError("webex", name, fmt.Errorf(format, args...))
	}
	var cr Credentials
	var op Options
	if err := connectors.DecodeSettings(s, &cr, &op); err != nil {
		return nil, connectors.NewConfigError("webex", name, err)
	}

	base := strings.TrimRight(strings.TrimSpace(s.BaseURL), "/")
	if base == "" {
		if cr.OrgID == "" {
			return nil, bad("credentials.org_id is required (or set base_url)")
		}
		base = defaultAPIBase + url.PathEscape(cr.OrgID) + "/v2"
	}
	bu, err := url.Parse(base)
	if err != nil || bu.Scheme == "" || bu.Host == "" {
		return nil, bad("base_url %q is not an absolute URL", base)
	}

	access := cmp.Or(cr.AccessToken, cr.Token)
	refresh := cr.RefreshToken
	if access == "" && refresh == "" {
		return nil, bad("credentials.access_token or credentials.refresh_token is required")
	}
	// The token endpoint lives on the API host (webexapis.com/v1/access_token):
	// derive it from the base URL so a simulator or proxy needs no setting.
	tokenURL := bu.Scheme + "://" + bu.Host + "/v1/access_token"
	if refresh != "" {
		if cr.ClientID == "" {
			return nil, bad("credentials.client_id is required with credentials.refresh_token")
		}
		if cr.ClientSecret == "" {
			return nil, bad("credentials.client_secret is required with credentials.refresh_token")
		}
		if cr.TokenURL != "" {
			u, err := bu.Parse(cr.TokenURL)
			if err != nil {
				return nil, bad("credentials.token_url is not a URL")
			}
			tokenURL = u.String()
		}
	}

	onDelete := cmp.Or(s.OnDelete, OnDeleteDelete)
	if onDelete != OnDeleteDelete && onDelete != OnDeleteDeactivate {
		return nil, bad("on_delete must be %q or %q, got %q", OnDeleteDelete, OnDeleteDeactivate, onDelete)
	}

	bulk := op.Bulk == nil || *op.Bulk
	groupBulk := bulk
	if op.GroupBulk != nil {
		groupBulk = *op.GroupBulk
	}
	chunk := defaultMemberChunk
	if op.MemberChunk != nil {
		chunk = *op.MemberChunk
	}
	if chunk < 1 || chunk > maxMemberChunk {
		return nil, bad("options.member_chunk must be 1..%d, got %d", maxMemberChunk, chunk)
	}
	for f, expr := range s.Mapping.User {
		if _, ok := userFields[f]; !ok && strings.TrimSpace(expr) != "" {
			return nil, bad("mapping.user.%s is not a Webex user field (known: %s)", f, knownFields(userFields))
		}
	}
	for f, expr := range s.Mapping.Group {
		if _, ok := groupFields[f]; !ok && strings.TrimSpace(expr) != "" {
			return nil, bad("mapping.group.%s is not a Webex group field (known: %s)", f, knownFields(groupFields))
		}
	}

	hc := d.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Connector{
		name:        name,
		base:        base,
		hc:          hc,
		log:         d.Log.With().Str("connector", name).Logger(),
		onDelete:    onDelete,
		bulk:        bulk,
		groupBulk:   groupBulk,
		memberChunk: chunk,
		listPage:    defaultListPage,
		now:         time.Now,
		limits: connectors.Limits{
			BatchSize: maxBulkOps,
			Rate:      10, // undocumented by Webex; conservative, one /Bulk carries 100 users
			Burst:     1,  // a fixed-window limit: a burst would spill into one window
			Timeout:   2 * time.Minute,
		},
	}
	if s.BatchSize > 0 {
		c.limits.BatchSize = s.BatchSize
	}
	if s.RateLimit > 0 {
		c.limits.Rate = s.RateLimit
	}
	c.requests = connectors.RequestLimiter(c.limits.Rate)
	c.tokens = &tokenSource{
		c:            c,
		access:       access,
		refresh:      refresh,
		clientID:     cr.ClientID,
		clientSecret: cr.ClientSecret,
		url:          tokenURL,
		state:        d.State,
		stateKey:     "webex/" + name + "/token",
	}
	c.tokens.load()
	return c, nil
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.name }

// Limits implements connectors.Connector.
func (c *Connector) Limits() connectors.Limits { return c.limits }

// Apply implements connectors.Connector. User writes go first (through
// /Bulk when there are two or more), then groups: two or more have their
// writes batched into /Bulk rounds (groupbulk.go), one goes alone.
func (c *Connector) Apply(ctx context.Context, batch []connectors.Change) []connectors.Result {
	results := make([]connectors.Result, len(batch))
	var users []*userCall
	var groups []int
	byExternal, listErr := c.landedCreates(ctx, batch)
	for i, ch := range batch {
		switch ch.Type {
		case connectors.User:
			if ch.Op == connectors.OpUpsert && ch.TargetID == "" && ch.MayExist {
				// The create may have landed unacknowledged: update that
				// user (all fields) rather than create another, even if the
				// userName changed since.
				found, err := "", listErr
				if byExternal != nil {
					found = byExternal[text(ch.Fields, "externalId")]
				} else if err == nil {
					found, err = c.lookupExternal(ctx, "user.lookup", "/Users", ch.Fields)
				}
				if err != nil {
					results[i].Err = err
					continue
				}
				ch.TargetID, ch.Prev = found, nil
			}
			uc, res, done := c.planUser(ch)
			if done {
				results[i] = res
				continue
			}
			uc.idx = i
			users = append(users, uc)
		case connectors.Group:
			groups = append(groups, i)
		default:
			results[i].Err = connectors.NewPermanent("unknown resource type "+strconv.Quote(ch.Type), nil)
		}
	}
	if c.bulk && len(users) >= 2 {
		c.applyBulk(ctx, users, results)
	} else {
		for _, uc := range users {
			results[uc.idx] = c.applyUser(ctx, uc)
		}
	}
	if c.groupBulk && len(groups) >= 2 {
		c.applyGroupsBulk(ctx, batch, groups, results)
	} else {
		for _, i := range groups {
			results[i] = c.applyGroup(ctx, batch[i])
		}
	}
	return results
}

// permanentf is a Permanent error with a message of ours.
func permanentf(format string, args ...any) error {
	return connectors.Errorf(connectors.Permanent, 0, format, args...)
}

// isPermanent says whether err is classified Permanent (nil is not).
func isPermanent(err error) bool {
	var e *connectors.Error
	return errors.As(err, &e) && e.Class == connectors.Permanent
}
