package store

import (
	"context"
)

// ResourceType names a SCIM resource type. It is the one declaration of
// "User" and "Group": connectors and mapping refer to these constants. An
// alias of string, so it travels unchanged through queue entries, the
// connector API and JSON.
type ResourceType = string

// The resource types.
const (
	TypeUser  ResourceType = "User"
	TypeGroup ResourceType = "Group"
)

// Change is one committed write to one SCIM resource, as the outbox sees it.
//
// Before and After are the resource as a GET would return it (users with
// their derived "groups", groups WITHOUT "members", no password); nil means
// the resource did not exist before (create) or does not exist after
// (delete). For groups the membership change is carried as a delta, so a
// 100-member add to a 10,000-member group costs 100, not 10,000.
//
// A write that changes other resources reports them too: adding members to
// a group also reports each added user (its "groups" changed); deleting a
// user reports each group it left (MembersRemoved) before the user itself.
type Change struct {
	Type           string // TypeUser or TypeGroup
	ID             string // SCIM id
	Before, After  map[string]any
	MembersAdded   []string // SCIM ids of members added (groups only)
	MembersRemoved []string // SCIM ids of members removed (groups only)
}

// Sink receives every Change inside the transaction that commits it: the
// connectors' dispatcher implements it to append its queue entries, so the
// write and the work it owes commit together (a transactional outbox).
// An error aborts the whole write.
type Sink interface {
	Enqueue(tx *Tx, c Change) error
}

// NopSink discards changes (no connectors configured).
type NopSink struct{}

// Enqueue implements Sink.
func (NopSink) Enqueue(*Tx, Change) error { return nil }

// Awaiter is implemented by a Sink that can wait for the delivery of a
// resource's committed changes (connectors in synchronous mode). The SCIM
// layer calls it after the commit of a write and before it answers; an
// error is reported to the IdP as a SCIM error (the write stays stored).
type Awaiter interface {
	Await(ctx context.Context, typ, id string) error
}
