package simkit

// Fault is an error a simulator can be told to inject.
type Fault int

// Faults. The first four are what every simulator serves; FaultReset and
// FaultApplyThenDrop are served by testconn only (an HTTP simulator answers
// them as Fault5xx).
const (
	FaultNone          Fault = iota
	Fault429                 // 429 without Retry-After
	Fault429RetryAfter       // 429 with Retry-After: 1
	Fault5xx                 // the target's 5xx
	FaultPermanent           // a 400 with the target's error body
	FaultReset               // the connection is reset (testconn)
	FaultApplyThenDrop       // the call is applied, then its answer lost (testconn)
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

// Sim is the view into a simulator that the conformance suite and
// `scimbridge simulate` use.
type Sim interface {
	Users() []SimUser
	Groups() []SimGroup
	// FailNext queues n faults f: the next n resource requests (not token
	// endpoints) fail with f, after any faults already queued.
	FailNext(f Fault, n int)
	// Calls counts resource requests served so far (not token endpoints).
	Calls() int
}
