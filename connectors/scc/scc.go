// Package scc is the connector for Cisco Security Cloud Control (Platform
// Management API), written against ../shared/contracts/scc.md.
//
// SCC has no user create: a new user is invited by email, and the invite
// answer carries no id, so the connector finds the id by listing users.
// Every user write except a name change is keyed by email, and admin-group
// membership is patched by email in batches of at most 100. The API key's
// tokens rotate on refresh; the newest pair is kept durably in Deps.State.
package scc

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

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
	"github.com/scimbridge/scimbridge/mapping"
)

// DefaultBaseURL is SCC's US endpoint; regional hosts are a setting.
const DefaultBaseURL = "https://api.security.cisco.com/v1"

// Target field names produced by the default mapping.
const (
	fieldEmail       = "email"
	fieldFirstName   = "firstName"
	fieldLastName    = "lastName"
	fieldActive      = "active"
	fieldName        = "name"
	fieldDescription = "description"
)

// DefaultMapping maps SCIM onto SCC's user and admin-group fields.
var DefaultMapping = mapping.Spec{
	User: map[string]string{
		fieldEmail:     `lower(default(emails[primary eq true].value, emails[type eq "work"].value, userName))`,
		fieldFirstName: `name.givenName`,
		fieldLastName:  `name.familyName`,
		fieldActive:    `active`,
	},
	Group: map[string]string{
		fieldName: `displayName`,
	},
}

// Registration makes the scc connector type known to the program.
var Registration = connectors.Registration{
	Type:            "scc",
	New:             New,
	NewSimulator:    sccsim.NewDefault,
	DefaultMapping:  DefaultMapping,
	DefaultOnDelete: onDeleteRemove,
	Credentials:     Credentials{},
	Options:         Options{},
}

// Credentials are the keys config.yaml may set under credentials.
type Credentials struct {
	OrgID        string `setting:"org_id"`
	AccessToken  string `setting:"access_token"`
	RefreshToken string `setting:"refresh_token"` // with api_key_id, enables refresh
	APIKeyID     string `setting:"api_key_id"`
}

// Options: SCC takes none; the struct makes any key under options an error.
type Options struct {
	// DriftCheckInterval runs check-targets for this connector periodically,
	// report only (0: off; connectors.OptDriftCheckInterval).
	DriftCheckInterval time.Duration `setting:"drift_check_interval"`
}

// On-delete settings: SCIM DELETE removes the user (PATCH remove) or only
// disables it.
const (
	onDeleteRemove  = "delete"
	onDeleteDisable = "deactivate"
)

var (
	userFields  = []string{fieldEmail, fieldFirstName, fieldLastName, fieldActive}
	groupFields = []string{fieldName, fieldDescription}
)

// Connector talks to one SCC organization.
type Connector struct {
	name     string
	base     string // .../v1/organizations/{orgId}
	hc       *http.Client
	log      zerolog.Logger
	tokens   *tokenSource
	onDelete string
	limits   connectors.Limits
	pageSize int // max per list page

	// requests paces every request (listings and PUTs too) at the
	// target's rate; the dispatcher's limiter counts Apply calls.
	requests interface{ Wait(context.Context) error }

	// intents are the names admin groups may have been created under
	// before their target id was recorded (intent.go).
	intents *groupIntents

	mu    sync.Mutex
	cache map[string]string // lower-cased email -> user id, learned from listings
	// owners are the SCIM users this process invited or adopted each
	// address for (lower-cased email -> SCIM id): a retried invite never
	// deprovisions an earlier address another user has since taken.
	owners map[string]string
}

// New validates s and builds the connector. Credentials: org_id and
// access_token are required; refresh_token with api_key_id enable refresh.
func New(s connectors.Settings, d connectors.Deps) (connectors.Connector, error) {
	return newConnector(s, d)
}

func newConnector(s connectors.Settings, d connectors.Deps) (*Connector, error) {
	name := s.Name
	if name == "" {
		name = "scc"
	}
	bad := func(err error) error { return connectors.NewConfigError("scc", name, err) }
	var cr Credentials
	if err := connectors.DecodeSettings(s, &cr, &Options{}); err != nil {
		return nil, bad(err)
	}
	org, access, refresh, keyID := cr.OrgID, cr.AccessToken, cr.RefreshToken, cr.APIKeyID
	switch {
	case org == "":
		return nil, bad(errors.New("credentials.org_id is required"))
	case access == "" && refresh == "":
		return nil, bad(errors.New("credentials.access_token is required (an API key access token from the SCC console)"))
	case refresh != "" && keyID == "":
		return nil, bad(errors.New("credentials.api_key_id is required with credentials.refresh_token"))
	}
	base, err := baseURL(s.BaseURL)
	if err != nil {
		return nil, bad(fmt.Errorf("base_url: %w", err))
	}
	onDelete := s.OnDelete
	if onDelete == "" {
		onDelete = onDeleteRemove
	}
	if onDelete != onDeleteRemove && onDelete != onDeleteDisable {
		return nil, bad(fmt.Errorf("on_delete must be %q or %q, got %q", onDeleteRemove, onDeleteDisable, onDelete))
	}
	if err := checkMapping(s.Mapping); err != nil {
		return nil, bad(err)
	}
	hc := d.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	orgBase := base + "/organizations/" + url.PathEscape(org)
	log := d.Log.With().Str("connector", name).Logger()
	ts, err := newTokenSource(tokenConfig{
		hc:         hc,
		log:        log,
		refreshURL: orgBase + "/apiKeys/" + url.PathEscape(keyID) + "/token",
		access:     access,
		refresh:    refresh,
		state:      d.State,
		stateKey:   "scc/tokens/" + org + "/" + keyID,
	})
	if err != nil {
		return nil, bad(err)
	}
	limits := connectors.Limits{BatchSize: maxUsersPerPatch, Rate: 10, Burst: 1, Timeout: 2 * time.Minute}
	if s.BatchSize > 0 {
		limits.BatchSize = s.BatchSize
	}
	if s.RateLimit > 0 {
		limits.Rate = s.RateLimit
	}
	return &Connector{name: name, base: orgBase, hc: hc, log: log, tokens: ts, onDelete: onDelete,
		limits: limits, pageSize: pageSize, cache: map[string]string{}, owners: map[string]string{}, intents: newGroupIntents(d.State, org),
		requests: connectors.RequestLimiter(limits.Rate)}, nil
}

// baseURL defaults the base and adds /v1 when only a host is given.
func baseURL(raw string) (string, error) {
	if raw == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", raw)
	}
	b := strings.TrimRight(raw, "/")
	if strings.Trim(u.Path, "/") == "" {
		b += "/v1"
	}
	return b, nil
}

// checkMapping rejects override fields SCC does not have, at start-up.
func checkMapping(m mapping.Spec) error {
	for f, expr := range m.User {
		if expr != "" && !slices.Contains(userFields, f) {
			return fmt.Errorf("mapping.user.%s: SCC users have no such field (fields: %s)", f, strings.Join(userFields, ", "))
		}
	}
	for f, expr := range m.Group {
		if expr != "" && !slices.Contains(groupFields, f) {
			return fmt.Errorf("mapping.group.%s: SCC admin groups have no such field (fields: %s)", f, strings.Join(groupFields, ", "))
		}
	}
	return nil
}

// Name is the connector's configured name.
func (c *Connector) Name() string { return c.name }

// Limits: SCC's rate limits are undocumented, so the rate is a cautious
// guess (overridable with rate_limit); a batch lets several invites share
// one id lookup.
func (c *Connector) Limits() connectors.Limits { return c.limits }

// Apply delivers a batch, one Result per Change in order. User changes
// go together: invites, enables, disables and removes in bulk PATCH
// /users calls (by email, per-item results), then the name changes, which
// alone need SCC's id. Groups follow one by one (their members go by
// email in batches of 100). After a 429 no more calls are made for the
// batch: its unsent changes answer the same error.
func (c *Connector) Apply(ctx context.Context, batch []connectors.Change) []connectors.Result {
	results := make([]connectors.Result, len(batch))
	// touched are the addresses the batch's user changes name: a
	// retried invite leaves those to their own changes.
	touched := map[string]bool{}
	for _, ch := range batch {
		if ch.Type == connectors.User {
			touched[email(ch.Fields)], touched[email(ch.Prev)] = true, true
			if isEmailID(ch.TargetID) {
				touched[strings.ToLower(ch.TargetID)] = true
			}
		}
	}
	var work []*userWork
	for i, ch := range batch {
		switch ch.Type {
		case connectors.User:
			if w := c.planUser(ctx, ch, touched, &results[i]); w != nil {
				w.index = i
				work = append(work, w)
			}
		case connectors.Group:
		default:
			results[i].Err = connectors.NewUnsupported("SCC has no resource type " + ch.Type)
		}
	}
	if len(work) > 0 {
		c.applyUsers(ctx, work, results)
	}
	var throttled error
	for _, r := range results {
		if isThrottle(r.Err) {
			throttled = r.Err
		}
	}
	for i, ch := range batch {
		if ch.Type != connectors.Group {
			continue
		}
		if throttled != nil {
			// The target is throttling: do not spend more calls on this batch.
			results[i].Err = throttled
			continue
		}
		results[i] = c.applyGroup(ctx, ch)
		if isThrottle(results[i].Err) {
			throttled = results[i].Err
		}
	}
	return results
}

func isThrottle(err error) bool {
	var e *connectors.Error
	return errors.As(err, &e) && e.Status == http.StatusTooManyRequests
}

// str reads a mapped field as a string (mapping yields strings, but a
// hand-built Change may carry other scalars).
func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case []any:
		if len(v) > 0 {
			return str(map[string]any{k: v[0]}, k)
		}
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// active reads the mapped active flag; absent means active (SCIM default).
func active(m map[string]any) bool {
	switch v := m[fieldActive].(type) {
	case bool:
		return v
	case string:
		return !strings.EqualFold(strings.TrimSpace(v), "false")
	case []any:
		if len(v) > 0 {
			return active(map[string]any{fieldActive: v[0]})
		}
	}
	return true
}

func email(m map[string]any) string { return strings.ToLower(str(m, fieldEmail)) }
