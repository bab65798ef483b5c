// Package testconn is an in-memory target with fault injection and its
// connector, used to test the dispatcher on its own and, served over HTTP
// by `scimbridge simulate`, by the crash test.
//
// The target keys users by userName (case-insensitive, unique: a second
// create answers 409) and groups by displayName, like the real targets, so
// a re-delivered create must adopt the existing object.
package testconn

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// Fault is what the target does to one call instead of serving it: the
// simulators' one fault type (simkit).
type Fault = simkit.Fault

// Faults.
const (
	FaultNone          = simkit.FaultNone
	Fault429           = simkit.Fault429           // 429 without Retry-After
	Fault429RetryAfter = simkit.Fault429RetryAfter // 429 with Retry-After
	Fault5xx           = simkit.Fault5xx           // 503
	FaultPermanent     = simkit.FaultPermanent     // 400 for every op of the call
	FaultReset         = simkit.FaultReset         // connection reset (HTTP) / network error (in memory)
	FaultApplyThenDrop = simkit.FaultApplyThenDrop // apply the call, then lose the answer (crash between call and ack)
)

// Options are the target's behaviour; the zero value is a perfect target.
type Options struct {
	Latency      time.Duration // per call
	SpikeRate    float64       // share of calls that take SpikeLatency
	SpikeLatency time.Duration
	ErrorRate    float64 // share of calls answered 503 (simkit's name)
	ResetRate    float64 // share of calls whose connection is reset
	DropRate     float64 // share of calls applied whose answer is lost
	// Rate, if > 0, is the target's own limit (calls per second, token
	// bucket with burst Burst): calls above it are answered 429.
	Rate       float64
	Burst      int
	RetryAfter time.Duration // sent with rate-limit 429s when > 0 (a queued Fault429RetryAfter sends at least 1s)
	// AllOrNothing fails every op of a call with the first op's 400 (like
	// a bulk endpoint with failOnErrors=1): the dispatcher must split.
	AllOrNothing bool
}

// Op is one change in a call.
type Op struct {
	Kind     string         `json:"kind"` // "upsert", "delete", "lookup"
	Type     string         `json:"type"` // "User", "Group"
	ID       string         `json:"id"`   // SCIM id
	TargetID string         `json:"targetId,omitempty"`
	Fields   map[string]any `json:"fields,omitempty"`
	Key      string         `json:"key,omitempty"` // userName / displayName for lookup and keyless deletes
	Add      []string       `json:"add,omitempty"` // member target ids
	Remove   []string       `json:"remove,omitempty"`
}

// OpResult is the target's answer to one Op.
type OpResult struct {
	Status   int               `json:"status"` // 200, 201, 404, 409, 400
	TargetID string            `json:"targetId,omitempty"`
	Msg      string            `json:"msg,omitempty"`
	Members  map[string]string `json:"members,omitempty"` // member target id -> error message
}

// User is a user as the target holds it.
type User struct {
	TargetID   string         `json:"targetId"`
	ExternalID string         `json:"externalId"` // the SCIM id the connector sent
	UserName   string         `json:"userName"`
	Active     bool           `json:"active"`
	Fields     map[string]any `json:"fields"`
}

// Group is a group as the target holds it.
type Group struct {
	TargetID   string         `json:"targetId"`
	ExternalID string         `json:"externalId"`
	Name       string         `json:"name"`
	Members    []string       `json:"members"` // user target ids, sorted
	Fields     map[string]any `json:"fields"`
}

// Stats count what the target saw.
type Stats struct {
	Calls        int `json:"calls"`        // every call, rejected or not
	Ops          int `json:"ops"`          // ops in calls that were served
	Rejected429  int `json:"rejected429"`  // calls answered 429
	Rejected5xx  int `json:"rejected5xx"`  // calls answered 503
	Resets       int `json:"resets"`       // connections reset
	Creates      int `json:"creates"`      // objects created
	Conflicts    int `json:"conflicts"`    // creates answered 409
	Dropped      int `json:"dropped"`      // calls applied whose answer was lost
	MaxBatchSeen int `json:"maxBatchSeen"` // largest call
}

// Target is the in-memory target. It is safe for concurrent use.
type Target struct {
	mu       sync.Mutex
	opts     Options
	users    map[string]*User  // by target id
	groups   map[string]*Group // by target id
	next     *simkit.Injector  // faults queued by FailNext
	poison   map[string]string // SCIM id -> permanent error message
	stats    Stats
	tokens   float64
	lastFill time.Time
	rng      *rand.Rand
}

// NewTarget returns an empty target.
func NewTarget(o Options) *Target {
	return &Target{opts: o, users: map[string]*User{}, groups: map[string]*Group{},
		poison: map[string]string{}, next: simkit.NewInjector(simkit.Faults{}), rng: rand.New(rand.NewPCG(1, 2)), tokens: float64(max(o.Burst, 1))}
}

// SetOptions replaces the target's behaviour.
func (t *Target) SetOptions(o Options) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.opts = o
}

// FailNext queues n faults f for the next calls.
func (t *Target) FailNext(f Fault, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next.FailNext(f, n)
}

// Poison makes every op for the SCIM id fail permanently with msg ("" heals it).
func (t *Target) Poison(scimID, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if msg == "" {
		delete(t.poison, scimID)
		return
	}
	t.poison[scimID] = msg
}

// Stats returns the counters.
func (t *Target) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// Users returns a copy of the users, sorted by userName.
func (t *Target) Users() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]User, 0, len(t.users))
	for _, u := range t.users {
		c := *u
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.UserName, b.UserName) })
	return out
}

// Groups returns a copy of the groups, sorted by name.
func (t *Target) Groups() []Group {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Group, 0, len(t.groups))
	for _, g := range t.groups {
		c := *g
		c.Members = slices.Clone(g.Members)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// fault decides, under the lock, what happens to the next call.
func (t *Target) fault() Fault {
	t.stats.Calls++
	if f, _ := t.next.Queued(); f != FaultNone {
		return f
	}
	if t.opts.Rate > 0 {
		now := time.Now()
		if !t.lastFill.IsZero() {
			t.tokens = min(float64(max(t.opts.Burst, 1)), t.tokens+now.Sub(t.lastFill).Seconds()*t.opts.Rate)
		}
		t.lastFill = now
		if t.tokens < 1 {
			return Fault429
		}
		t.tokens--
	}
	switch r := t.rng.Float64(); {
	case r < t.opts.ErrorRate:
		return Fault5xx
	case r < t.opts.ErrorRate+t.opts.ResetRate:
		return FaultReset
	case r < t.opts.ErrorRate+t.opts.ResetRate+t.opts.DropRate:
		return FaultApplyThenDrop
	}
	return FaultNone
}

// latency is how long the next call takes.
func (t *Target) latency() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.opts.SpikeRate > 0 && t.rng.Float64() < t.opts.SpikeRate {
		return t.opts.SpikeLatency
	}
	return t.opts.Latency
}

// Call serves one call: it sleeps the latency, then either fails the whole
// call (the returned Fault) or applies every op.
func (t *Target) Call(ops []Op) ([]OpResult, Fault, time.Duration) {
	if d := t.latency(); d > 0 {
		time.Sleep(d)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.fault()
	switch f {
	case Fault429, Fault429RetryAfter:
		t.stats.Rejected429++
		ra := t.opts.RetryAfter
		if f == Fault429RetryAfter && ra == 0 {
			ra = time.Second
		}
		return nil, f, ra
	case Fault5xx:
		t.stats.Rejected5xx++
		return nil, f, 0
	case FaultReset:
		t.stats.Resets++
		return nil, f, 0
	case FaultPermanent:
		return nil, f, 0
	}
	t.stats.Ops += len(ops)
	t.stats.MaxBatchSeen = max(t.stats.MaxBatchSeen, len(ops))
	res := make([]OpResult, len(ops))
	if t.opts.AllOrNothing {
		for _, op := range ops {
			if msg, ok := t.poison[op.ID]; ok {
				for i := range res {
					res[i] = OpResult{Status: 400, Msg: "batch rejected: " + msg}
				}
				return res, FaultNone, 0
			}
		}
	}
	for i, op := range ops {
		res[i] = t.apply(op)
	}
	if f == FaultApplyThenDrop {
		t.stats.Dropped++
		return nil, f, 0
	}
	return res, FaultNone, 0
}

func (t *Target) apply(op Op) OpResult {
	if msg, ok := t.poison[op.ID]; ok && op.Kind != "lookup" {
		return OpResult{Status: 400, Msg: msg}
	}
	if op.Type == "Group" {
		return t.applyGroup(op)
	}
	switch op.Kind {
	case "lookup":
		for _, u := range t.users {
			if strings.EqualFold(u.UserName, op.Key) {
				return OpResult{Status: 200, TargetID: u.TargetID}
			}
		}
		return OpResult{Status: 404, Msg: "no user " + op.Key}
	case "delete":
		u := t.users[op.TargetID]
		if u == nil && op.TargetID == "" {
			for _, c := range t.users {
				if strings.EqualFold(c.UserName, op.Key) {
					u = c
				}
			}
		}
		if u == nil {
			return OpResult{Status: 404, Msg: "no such user"}
		}
		delete(t.users, u.TargetID)
		for _, g := range t.groups {
			g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == u.TargetID })
		}
		return OpResult{Status: 200}
	}
	name, _ := op.Fields["userName"].(string)
	if name == "" {
		return OpResult{Status: 400, Msg: "userName is required"}
	}
	active := true
	if a, ok := op.Fields["active"].(bool); ok {
		active = a
	}
	if op.TargetID == "" {
		for _, u := range t.users {
			if strings.EqualFold(u.UserName, name) {
				t.stats.Conflicts++
				return OpResult{Status: 409, Msg: "user " + name + " already exists"}
			}
		}
		u := &User{TargetID: "tu-" + uuid.NewString(), ExternalID: op.ID, UserName: name, Active: active, Fields: op.Fields}
		t.users[u.TargetID] = u
		t.stats.Creates++
		return OpResult{Status: 201, TargetID: u.TargetID}
	}
	u := t.users[op.TargetID]
	if u == nil {
		return OpResult{Status: 404, Msg: "no such user " + op.TargetID}
	}
	u.UserName, u.Active, u.Fields, u.ExternalID = name, active, op.Fields, op.ID
	return OpResult{Status: 200, TargetID: u.TargetID}
}

func (t *Target) applyGroup(op Op) OpResult {
	switch op.Kind {
	case "lookup":
		for _, g := range t.groups {
			if strings.EqualFold(g.Name, op.Key) {
				return OpResult{Status: 200, TargetID: g.TargetID}
			}
		}
		return OpResult{Status: 404, Msg: "no group " + op.Key}
	case "delete":
		g := t.groups[op.TargetID]
		if g == nil && op.TargetID == "" {
			for _, c := range t.groups {
				if strings.EqualFold(c.Name, op.Key) {
					g = c
				}
			}
		}
		if g == nil {
			return OpResult{Status: 404, Msg: "no such group"}
		}
		delete(t.groups, g.TargetID)
		return OpResult{Status: 200}
	}
	name, _ := op.Fields["displayName"].(string)
	if name == "" {
		return OpResult{Status: 400, Msg: "displayName is required"}
	}
	var g *Group
	status := 200
	if op.TargetID == "" {
		for _, c := range t.groups {
			if strings.EqualFold(c.Name, name) {
				t.stats.Conflicts++
				return OpResult{Status: 409, Msg: "group " + name + " already exists"}
			}
		}
		g = &Group{TargetID: "tg-" + uuid.NewString(), Name: name}
		t.groups[g.TargetID] = g
		t.stats.Creates++
		status = 201
	} else if g = t.groups[op.TargetID]; g == nil {
		return OpResult{Status: 404, Msg: "no such group " + op.TargetID}
	}
	g.Name, g.Fields, g.ExternalID = name, op.Fields, op.ID
	res := OpResult{Status: status, TargetID: g.TargetID}
	for _, m := range op.Add {
		if t.users[m] == nil {
			if res.Members == nil {
				res.Members = map[string]string{}
			}
			res.Members[m] = "no such user " + m
			continue
		}
		if !slices.Contains(g.Members, m) {
			g.Members = append(g.Members, m)
		}
	}
	g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return slices.Contains(op.Remove, m) })
	slices.Sort(g.Members)
	return res
}
