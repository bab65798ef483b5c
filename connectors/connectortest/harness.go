// Package connectortest is the conformance suite every connector passes
// against its simulator (dex's storage/conformance is the model). A
// connector package's test builds an Instance per subtest and calls Run.
package connectortest

import (
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/mapping"
)

// Fault is an error a simulator can be told to inject.
type Fault int

const (
	Fault429           Fault = iota + 1 // 429 without Retry-After
	Fault429RetryAfter                  // 429 with Retry-After: 1
	Fault5xx                            // 503 (or the target's 5xx)
	FaultPermanent                      // a 400 with the target's error body
)

// SimUser is a user as the target holds it.
type SimUser struct {
	TargetID string
	UserName string // the target's login key (userName, email, userId, authName)
	Active   bool
}

// SimGroup is a group as the target holds it.
type SimGroup struct {
	TargetID        string
	Name            string
	MemberTargetIDs []string // target ids of the member users
}

// Sim is the suite's view into a simulator.
type Sim interface {
	Users() []SimUser
	Groups() []SimGroup
	// FailNext makes the next n resource requests (not token endpoints)
	// fail with f.
	FailNext(f Fault, n int)
	// Calls counts resource requests served so far (not token endpoints).
	Calls() int
}

// Support says which operations the target can perform; the suite expects
// an unsupported operation to come back as connectors.Unsupported, not to
// fail or be retried.
type Support struct {
	Groups       bool // groups at all
	GroupDelete  bool
	MemberRemove bool
	UserDelete   bool // a SCIM DELETE removes the user (else: deactivated / inactive / scrambled)
}

// Instance is one fresh connector wired to one fresh simulator.
type Instance struct {
	Connector connectors.Connector
	Sim       Sim
	Mapping   mapping.Spec // the connector's default mapping
	Support   Support
	// Map, if set, maps a SCIM resource to the connector's fields instead
	// of package mapping with Mapping (useful for tests with fixed fields).
	Map func(typ string, res map[string]any) (map[string]any, error)
}
