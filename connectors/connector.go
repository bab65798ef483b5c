// Package connectors delivers committed SCIM changes to downstream targets.
//
// A Connector translates changes into one target's native calls; the
// dispatcher (this package) owns everything else: the durable queue, order,
// coalescing, batching, rate limits, retries, id mappings and dead letters.
// Connector packages live in connectors/<name>, each with its simulator in
// connectors/<name>/<name>sim, and never import scim/ or each other.
package connectors

import (
	"context"
	"net/http"
	"time"

	"github.com/rs/zerolog"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/store"
)

// Resource types (store.ResourceType), named here for readable call sites.
const (
	User  = store.TypeUser
	Group = store.TypeGroup
)

// Op is what a change asks of the target.
type Op string

const (
	// OpUpsert creates the resource in the target if it has no target id yet,
	// else updates it. Deactivation is an upsert with active=false.
	OpUpsert Op = "upsert"
	// OpDelete deprovisions the resource (SCIM DELETE, or it left scope);
	// the connector applies its delete setting (delete, deactivate, ...).
	OpDelete Op = "delete"
)

// Change is one (coalesced) change to one resource for one connector.
// Fields are the output of the connector's mapping (target field -> value),
// so a connector compares Prev and Fields to send only what changed.
type Change struct {
	Seq      uint64 // queue sequence of the last entry coalesced into this change
	Type     string // User or Group
	ID       string // SCIM id
	Op       Op
	TargetID string // the target's id from the id mapping; "" if none yet

	Prev   map[string]any // mapped fields before the first coalesced entry; nil if the target has never seen it
	Fields map[string]any // mapped fields after the last coalesced entry; nil on OpDelete

	// Groups only: the net member delta. The dispatcher resolves each
	// member's target id and waits while a member's own create is pending.
	MembersAdded   []Member
	MembersRemoved []Member
	// Members is SCIM's whole membership of a group the target has not
	// acknowledged yet (its first delivery, or a retry of it), resolved as
	// MembersAdded (members without a mapping left out); nil otherwise. A
	// connector that adopts an existing group removes the members the
	// target has beyond these.
	Members []Member

	LeftScope bool // OpDelete because the resource left this connector's scope, not a SCIM DELETE

	// MayExist says an earlier attempt of this upsert may have reached the
	// target unacknowledged (it was tried before, or queued before a
	// restart). A connector creating the resource (TargetID "") first
	// looks it up by what it writes into it (externalId, email, ...), so
	// a create that landed is not made twice.
	MayExist bool
	// Earlier are, when MayExist, the mapped fields of the run's earlier
	// entries that differ from Fields (oldest first): what an unrecorded
	// create may have written. A target keyed by a mapped field (SecureAuth
	// userId, Secure Access authName) looks for those keys too, so a
	// rename between a landed create and its retry does not leave the
	// first object behind.
	Earlier []map[string]any
}

// Member is a group member as the target needs it.
type Member struct {
	ID       string         // SCIM id of the user
	TargetID string         // the user's target id ("" for removals of users the target never had)
	Fields   map[string]any // the user's mapped fields (email, userName, ...) for targets keyed by them
}

// Result is a connector's answer for one Change of a batch.
type Result struct {
	// TargetID is the target's id for the resource after an upsert
	// (created, adopted or unchanged); the dispatcher records it. It is
	// recorded even when Err is set: a create that landed (or an object
	// found by lookup or adopted after a 409) before a later call of the
	// same change failed must not be created again on the retry.
	TargetID string
	// Err is nil on success; otherwise classify it with the Error type
	// (NewTransient, NewPermanent, NewUnsupported, ...). A plain error is
	// treated as transient.
	Err error
	// MemberErrors are per-member failures of an otherwise applied group
	// change (SCIM id -> error); they are dead-lettered per member.
	MemberErrors map[string]error
	// Notes are findings about this resource in the target that an
	// administrator should act on or know of (Secure Access: the person
	// holds more than one registration, which one was kept and which were
	// deactivated). The dispatcher records each as a warning on the
	// resource's activity timeline, in the commit that records the result.
	Notes []string
}

// Limits are what a connector declares about its target.
type Limits struct {
	BatchSize int           // changes per Apply call (1 = no batching)
	Rate      float64       // sustained requests per second the target allows (0 = unlimited)
	Burst     int           // token-bucket burst
	Timeout   time.Duration // per Apply call
}

// Connector is one downstream target.
type Connector interface {
	Name() string
	Limits() Limits
	// Apply delivers a batch (at most Limits().BatchSize changes, never two
	// for the same resource) and answers one Result per change, in order.
	Apply(ctx context.Context, batch []Change) []Result
}

// Lister is implemented by connectors whose target can list what it
// holds, so that drift made behind the bridge's back (an administrator
// deleting a user in the target) can be found and repaired
// (Dispatcher.CheckTargets, `scimbridge check-targets`).
type Lister interface {
	// List calls fn with the target id of every object of typ (User or
	// Group) the target holds, paging through the target's list API as
	// the connector's other calls do (auth, rate limit, retries). The ids
	// are those Apply answers in Result.TargetID. A type the target does
	// not hold (Secure Access has no groups) lists nothing. An error from
	// fn stops the listing and is returned.
	List(ctx context.Context, typ string, fn func(targetID string) error) error
}

// Warner is implemented by connectors that notice something about their
// target an administrator should act on (Secure Access: a person with
// two active registrations); Status shows the warnings.
type Warner interface {
	Warnings() []string
}

// Settings are one connector's configuration, as read from config.yaml
// (secrets already expanded from ${ENV}).
type Settings struct {
	Name        string            `yaml:"-"`
	Type        string            `yaml:"type"`
	Enabled     bool              `yaml:"enabled"`
	Simulate    bool              `yaml:"simulate"`
	BaseURL     string            `yaml:"base_url"`
	Credentials map[string]string `yaml:"credentials"` // connector-specific keys (token, org_id, app_id, ...)
	Options     map[string]string `yaml:"options"`     // connector-specific settings (api_version, ...)
	RateLimit   float64           `yaml:"rate_limit"`  // overrides Limits().Rate when > 0
	BatchSize   int               `yaml:"batch_size"`  // overrides Limits().BatchSize when > 0
	Concurrency int               `yaml:"concurrency"` // workers; default DefaultConcurrency (4)
	// OnDelete is what a SCIM DELETE becomes: "delete" or "deactivate" (and,
	// for SecureAuth, "scramble_password" or "none"). "" = connector default.
	OnDelete    string        `yaml:"on_delete"`
	Sync        bool          `yaml:"sync"`         // SCIM response waits for this connector's delivery
	SyncTimeout time.Duration `yaml:"sync_timeout"` // default DefaultSyncTimeout (10s)
	Mapping     mapping.Spec  `yaml:"mapping"`      // overrides the connector's default mapping, field by field
	Scope       mapping.Scope `yaml:"scope"`
}

// StateStore is durable key/value state a connector keeps for itself
// (SCC's rotating refresh token). Put commits before it returns.
type StateStore interface {
	Get(key string) ([]byte, error) // nil, nil when absent
	Put(key string, value []byte) error
}

// Deps are what the program hands a connector when it builds one.
type Deps struct {
	HTTPClient *http.Client // shared transport; connectors wrap it with auth
	Log        zerolog.Logger
	State      StateStore
}

// Simulator is a target's built-in fake: an http.Handler with in-memory
// state that enforces the target's contract.
type Simulator interface {
	http.Handler
	// Credentials are the settings a connector needs to talk to this
	// simulator (merged into Settings.Credentials when simulate: true).
	Credentials() map[string]string
	// BasePath is appended to the simulator's URL to form Settings.BaseURL
	// (e.g. "/identity/scim/<org>/v2").
	BasePath() string
}

// Registration makes a connector type known to the program.
type Registration struct {
	Type           string
	New            func(s Settings, d Deps) (Connector, error)
	NewSimulator   func() Simulator
	DefaultMapping mapping.Spec
	// DefaultOnDelete is used when Settings.OnDelete is "".
	DefaultOnDelete string
	// Credentials and Options are zero values of the connector's typed
	// settings structs (fields tagged `setting:"key"`, see
	// DecodeSettings): the keys config.yaml may set under credentials and
	// options. CheckSettings decodes them strictly; New decodes the same
	// types.
	Credentials any
	Options     any
}
