// Package secureauth delivers users and group memberships to the
// SecureAuth Identity Platform Identity Management API
// (../../../shared/contracts/secureauth.md): signed requests, signed
// answers, property updates and group associations by name.
//
// SecureAuth cannot delete groups or remove users from groups; those
// changes come back as connectors.Unsupported. A SCIM DELETE follows
// the on_delete setting: scramble_password (default), none or delete.
package secureauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureauth/secureauthsim"
	"github.com/scimbridge/scimbridge/mapping"
)

// Deprovisioning choices (Settings.OnDelete).
const (
	OnDeleteScramble = "scramble_password"
	OnDeleteNone     = "none"
	OnDeleteDelete   = "delete"
)

// DefaultMapping is the SCIM -> SecureAuth mapping: target field names are
// the API's property names, plus userId (the URL key) and active.
var DefaultMapping = mapping.Spec{
	User: map[string]string{
		"userId":    "userName",
		"firstName": "name.givenName",
		"lastName":  "name.familyName",
		"email1":    "nth(emails.value, 1)",
		"email2":    "nth(emails.value, 2)",
		"email3":    "nth(emails.value, 3)",
		"email4":    "nth(emails.value, 4)",
		"phone1":    "nth(phoneNumbers.value, 1)",
		"phone2":    "nth(phoneNumbers.value, 2)",
		"phone3":    "nth(phoneNumbers.value, 3)",
		"phone4":    "nth(phoneNumbers.value, 4)",
		"auxId1":    "externalId",
		"active":    "active",
	},
	Group: map[string]string{
		"name": "displayName",
	},
}

// Registration makes the connector known to the program.
var Registration = connectors.Registration{
	Type:            "secureauth",
	New:             New,
	NewSimulator:    secureauthsim.NewDefault,
	DefaultMapping:  DefaultMapping,
	DefaultOnDelete: OnDeleteScramble,
	Credentials:     Credentials{},
	Options:         Options{},
}

// Credentials are the keys config.yaml may set under credentials.
type Credentials struct {
	AppID  string `setting:"app_id"`
	AppKey string `setting:"app_key"` // 64 hexadecimal digits
}

// Options are the keys config.yaml may set under options.
type Options struct {
	APIVersion       string `setting:"api_version"`       // v1 or v2; default: base_url's, else v2
	Domain           string `setting:"domain"`            // the realm's user domain, when it has one
	AssociationBatch *int   `setting:"association_batch"` // user ids per list-form association; default 100
	DateHeader       string `setting:"date_header"`       // header the signature's date goes in; default X-SA-Ext-Date
	// DriftCheckInterval runs check-targets for this connector periodically,
	// report only (0: off; connectors.OptDriftCheckInterval).
	DriftCheckInterval time.Duration `setting:"drift_check_interval"`
}

// Connector is a SecureAuth realm.
type Connector struct {
	name     string
	base     string // escaped, no trailing slash: https://host/realm/api/v2
	http     *http.Client
	log      zerolog.Logger
	onDelete string
	domain   string
	chunk    int      // user ids per list-form association
	userKeys []string // mapped property names, sorted
	limits   connectors.Limits
	members  *memberState
	// requests paces every HTTP request at the target's rate: an Apply
	// makes one request per user or more, and the dispatcher's limiter
	// counts Apply calls, not requests.
	requests interface{ Wait(context.Context) error }
}

// New validates s and builds the connector. Errors name the setting,
// never its value.
func New(s connectors.Settings, d connectors.Deps) (connectors.Connector, error) {
	var cr Credentials
	var op Options
	err := connectors.DecodeSettings(s, &cr, &op)
	var c connectors.Connector
	if err == nil {
		c, err = build(s, cr, op, d)
		if err != nil {
			err = errors.New(strings.TrimPrefix(err.Error(), "secureauth: "))
		}
	}
	if err != nil {
		// One wording for every connector: `<type> connector "<name>": ...`.
		return nil, connectors.NewConfigError("secureauth", s.Name, err)
	}
	return c, nil
}

func build(s connectors.Settings, cr Credentials, op Options, d connectors.Deps) (connectors.Connector, error) {
	c := &Connector{
		name:   s.Name,
		log:    d.Log,
		domain: op.Domain,
		chunk:  100,
		limits: connectors.Limits{BatchSize: 16, Rate: 20, Burst: 20, Timeout: 2 * time.Minute},
	}
	if c.name == "" {
		c.name = "secureauth"
	}
	if s.RateLimit > 0 {
		c.limits.Rate = s.RateLimit
	}
	// Counted in windows of Burst requests (20 a second as shipped): with
	// rate_limit set, the window is Burst requests at that rate.
	c.requests = connectors.WindowLimiter(c.limits.Burst, c.limits.Rate)
	var err error
	if c.base, err = baseURL(s.BaseURL, op.APIVersion); err != nil {
		return nil, err
	}
	switch s.OnDelete {
	case "", OnDeleteScramble, "deactivate":
		c.onDelete = OnDeleteScramble
	case OnDeleteNone, OnDeleteDelete:
		c.onDelete = s.OnDelete
	default:
		return nil, fmt.Errorf("secureauth: on_delete must be %s, %s or %s", OnDeleteScramble, OnDeleteNone, OnDeleteDelete)
	}
	if op.AssociationBatch != nil {
		if c.chunk = *op.AssociationBatch; c.chunk < 1 {
			return nil, errors.New("secureauth: options.association_batch must be a positive integer")
		}
	}
	if c.userKeys, err = checkMapping(s.Mapping); err != nil {
		return nil, err
	}
	dateHeader := cmp.Or(op.DateHeader, HeaderExtDate)
	hc := d.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	signer, err := NewSigner(cr.AppID, cr.AppKey, hc.Transport, WithDateHeader(dateHeader))
	if err != nil {
		return nil, err
	}
	client := *hc // the shared client stays as it is
	client.Transport = signer
	c.http = &client
	c.members = newMemberState(d.State, c.name)
	return c, nil
}

// baseURL accepts the realm URL or the API root (…/api/v1, …/api/v2) and
// returns the API root for version (default: the URL's own, else v2).
func baseURL(raw, version string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("secureauth: base_url must be an http(s) URL such as https://host/secureauth2/api/v2")
	}
	p := strings.TrimRight(u.EscapedPath(), "/")
	for _, v := range []string{"v1", "v2"} {
		if rest, ok := strings.CutSuffix(p, "/api/"+v); ok {
			p = rest
			if version == "" {
				version = v
			}
		}
	}
	switch version {
	case "":
		version = "v2"
	case "v1", "v2":
	default:
		return "", errors.New("secureauth: options.api_version must be v1 or v2")
	}
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	return u.Scheme + "://" + u.Host + p + "/api/" + version, nil
}

// Properties the API writes; ExtProperty cannot be written.
func isProperty(k string) bool {
	if k == "firstName" || k == "lastName" || k == "pinHash" {
		return true
	}
	for _, p := range []struct {
		prefix string
		max    int
	}{{"email", 4}, {"phone", 4}, {"auxId", 10}} {
		if d, ok := strings.CutPrefix(k, p.prefix); ok {
			n, err := strconv.Atoi(d)
			return err == nil && n >= 1 && n <= p.max && strconv.Itoa(n) == d
		}
	}
	return false
}

// checkMapping refuses fields SecureAuth has no place for and returns the
// property names the effective mapping writes.
func checkMapping(override mapping.Spec) ([]string, error) {
	user := map[string]string{}
	for k, v := range DefaultMapping.User {
		user[k] = v
	}
	for k, v := range override.User {
		if v != "" && k != "userId" && k != "active" && !isProperty(k) {
			return nil, fmt.Errorf("secureauth: mapping.user.%s: SecureAuth has no such property (firstName, lastName, email1-4, phone1-4, pinHash, auxId1-10, userId, active)", k)
		}
		user[k] = v
	}
	for k, v := range override.Group {
		if v != "" && k != "name" {
			return nil, fmt.Errorf("secureauth: mapping.group.%s: groups have only a name", k)
		}
		if k == "name" && v == "" {
			return nil, errors.New("secureauth: mapping.group.name is required")
		}
	}
	if user["userId"] == "" {
		return nil, errors.New("secureauth: mapping.user.userId is required")
	}
	var keys []string
	for k, v := range user {
		if v != "" && isProperty(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// Name is the connector's configured name.
func (c *Connector) Name() string { return c.name }

// Limits: undocumented by the vendor; the rate is a conservative guess for
// an on-premises, AD-backed realm, and Settings.RateLimit overrides it.
func (c *Connector) Limits() connectors.Limits { return c.limits }

// workers bound the calls one Apply runs at once.
const workers = 4

// Apply delivers a batch. Changes are independent (never two for one
// resource), so they run side by side, at most workers at a time.
func (c *Connector) Apply(ctx context.Context, batch []connectors.Change) []connectors.Result {
	out := make([]connectors.Result, len(batch))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, ch := range batch {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = c.apply(ctx, ch)
		}()
	}
	wg.Wait()
	return out
}

func (c *Connector) apply(ctx context.Context, ch connectors.Change) connectors.Result {
	switch {
	case ch.Type == connectors.User && ch.Op == connectors.OpUpsert:
		return c.upsertUser(ctx, ch)
	case ch.Type == connectors.User && ch.Op == connectors.OpDelete:
		return connectors.Result{Err: c.deprovision(ctx, ch.TargetID)}
	case ch.Type == connectors.Group && ch.Op == connectors.OpUpsert:
		return c.upsertGroup(ctx, ch)
	case ch.Type == connectors.Group && ch.Op == connectors.OpDelete:
		return connectors.Result{TargetID: ch.TargetID, Err: connectors.NewUnsupported("SecureAuth cannot delete groups: the group and its associations stay")}
	}
	return connectors.Result{Err: connectors.Errorf(connectors.Permanent, 0, "unknown change %s %s", ch.Type, ch.Op)}
}

func (c *Connector) logCall(op string, attempt int, d time.Duration) *zerolog.Event {
	return c.log.Info().Str("connector", c.name).Str("op", op).Int("attempt", attempt).Dur("duration", d)
}
