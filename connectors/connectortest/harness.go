// Package connectortest is the conformance suite every connector passes
// against its simulator (dex's storage/conformance is the model). A
// connector package's test builds an Instance per subtest and calls Run.
package connectortest

import (
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/simkit"
	"github.com/scimbridge/scimbridge/mapping"
)

// The simulator view lives in simkit (a non-test package, so the
// simulators can ship without linking testing); these names keep the
// suite's tests reading as before.
type (
	Fault    = simkit.Fault
	SimUser  = simkit.SimUser
	SimGroup = simkit.SimGroup
	Sim      = simkit.Sim
)

// The faults the suite injects.
const (
	Fault429           = simkit.Fault429
	Fault429RetryAfter = simkit.Fault429RetryAfter
	Fault5xx           = simkit.Fault5xx
	FaultPermanent     = simkit.FaultPermanent
)

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
