// Package activity holds the types of the provisioning activity log as its
// readers see them: one Event per thing that happened to a resource (a
// SCIM write, a delivery step, an operator's action) and the Source that
// answers timelines and the recent feed.
//
// This package is types only. The log itself (its buckets, the events the
// SCIM writes and the dispatcher commit) implements Source elsewhere; the
// admin API (GET /admin/activity) and the console (/admin/ui/) read it only
// through Source, so the page, the JSON answer and `scimbridge history`
// always show the same events. Until a Source is wired in (admin.WithActivity),
// both say the activity log is not available.
package activity

import (
	"context"
	"errors"
	"time"
)

// Kinds of event. A Source may add kinds; readers show unknown kinds as
// they are.
const (
	KindSCIM        = "scim"        // a SCIM client's write (Method, Status)
	KindQueued      = "queued"      // a change queued for a connector
	KindCoalesced   = "coalesced"   // folded into a later change
	KindSent        = "sent"        // native calls made
	KindDelivered   = "delivered"   // the target holds it (TargetID)
	KindRetry       = "retry"       // transient failure, retry scheduled (NextAttempt)
	KindDead        = "dead"        // dead-lettered (Detail: the reason)
	KindUnsupported = "unsupported" // the target cannot do it
	KindRetried     = "retried"     // an operator retried a dead letter
	KindDiscarded   = "discarded"   // an operator discarded a dead letter
	KindDrift       = "drift"       // drift found by a target check
	KindRepaired    = "repaired"    // drift repaired
	KindOperator    = "operator"    // another operator action (reconcile, verify...)
	KindWarning     = "warning"     // a connector's finding about the resource in its target (duplicates)
)

// Outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeFailed  = "failed"  // retry, dead, a SCIM write answered 4xx/5xx
	OutcomePending = "pending" // queued, sent
)

// Event is one line of a timeline. Fields that do not apply are zero.
type Event struct {
	Time        time.Time     `json:"time"`
	Kind        string        `json:"kind"`
	Outcome     string        `json:"outcome,omitempty"`
	Connector   string        `json:"connector,omitempty"` // delivery events
	Client      string        `json:"client,omitempty"`    // the SCIM or admin client that acted
	RequestID   string        `json:"requestId,omitempty"`
	Method      string        `json:"method,omitempty"` // SCIM writes: POST, PUT, PATCH, DELETE
	Status      int           `json:"status,omitempty"` // SCIM writes: the HTTP status answered
	Type        string        `json:"type"`             // store.TypeUser or store.TypeGroup
	ID          string        `json:"id"`               // SCIM id
	Name        string        `json:"name,omitempty"`   // userName or displayName at the time
	Op          string        `json:"op,omitempty"`     // upsert, delete, ...
	TargetID    string        `json:"targetId,omitempty"`
	Duration    time.Duration `json:"duration,omitempty"`
	Calls       int           `json:"calls,omitempty"` // native calls the delivery made (its whole batch's)
	NextAttempt time.Time     `json:"nextAttempt,omitzero"`
	// Changes are the attributes a write changed with their new values
	// (never password nor a redacted attribute's value).
	Changes map[string]any `json:"changes,omitempty"`
	// Detail is free text for people: the target's message, the dead
	// letter's reason, a member delta ("+3 -1: u1, u2, ...").
	Detail string `json:"detail,omitempty"`
}

// Failed says whether the event is a failure.
func (e Event) Failed() bool { return e.Outcome == OutcomeFailed }

// Filter selects events of the recent feed.
type Filter struct {
	Connector string    // only this connector's events (and none of the SCIM writes)
	Kind      string    // only this kind
	Failed    bool      // only failures
	Since     time.Time // only events at or after
	Cursor    string    // from a previous Page.Next
	Limit     int       // at most; a Source caps it
}

// Page is a page of events, newest first. Next, when not empty, fetches
// the following (older) page.
type Page struct {
	Events []Event `json:"events"`
	Next   string  `json:"next,omitempty"`
}

// Source answers questions about the activity log.
type Source interface {
	// Timeline is one resource's events, newest first. resource is a
	// SCIM id, a userName, an email or a group's displayName, current or
	// held before a rename or delete.
	Timeline(ctx context.Context, resource, cursor string, limit int) (Page, error)
	// Recent is every resource's events, newest first.
	Recent(ctx context.Context, f Filter) (Page, error)
}

// ErrUnavailable is what readers answer when no Source is wired in (or
// the log is disabled in config.yaml).
var ErrUnavailable = errors.New("activity log not available")

// ErrBadCursor is a Source's answer to a cursor it did not make.
var ErrBadCursor = errors.New("bad cursor")
