// Package oauthtoken keeps a rotating OAuth token pair durable, the one
// rule both Webex and SCC follow: a refresh that returns a new refresh
// token kills the old one, so the new pair is written to the connector's
// state store BEFORE the new access token is used. If the write fails the
// call fails as transient and the next call retries the write first; the
// pair is never used (and never lost) while only memory holds it.
package oauthtoken

import (
	"encoding/json"
	"fmt"

	"github.com/scimbridge/scimbridge/connectors"
)

// Rotation is the durable copy of one connector's token state T (a
// JSON-encodable struct in the connector's own format). It is not safe for
// concurrent use: the connector's token mutex, which makes refreshes
// single-flight, guards it too.
type Rotation[T any] struct {
	state   connectors.StateStore // nil: nothing is durable (tests, dry runs)
	key     string
	pending *T // a pair whose save failed: it must be saved before use
}

// New returns a Rotation stored under key in state (state may be nil).
func New[T any](state connectors.StateStore, key string) *Rotation[T] {
	return &Rotation[T]{state: state, key: key}
}

// Load reads the stored state: ok is false when none is stored (or there
// is no store). A stored value that does not decode is an error; the
// caller decides whether its configured tokens win instead.
func (r *Rotation[T]) Load() (v T, ok bool, err error) {
	if r.state == nil {
		return v, false, nil
	}
	raw, err := r.state.Get(r.key)
	if err != nil {
		return v, false, fmt.Errorf("read stored tokens: %w", err)
	}
	if raw == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, false, fmt.Errorf("stored tokens are corrupt: %w", err)
	}
	return v, true, nil
}

// Save writes v, the state right after a refresh. On failure v stays
// pending and Save returns a transient error: the caller must not use the
// new access token, and Flush (called before every use) retries.
func (r *Rotation[T]) Save(v T) error {
	r.pending = &v
	return r.Flush()
}

// Flush retries a pending save; it is nil when nothing is pending. A
// connector calls it before handing out an access token.
func (r *Rotation[T]) Flush() error {
	if r.pending == nil {
		return nil
	}
	if r.state == nil {
		r.pending = nil
		return nil
	}
	raw, err := json.Marshal(*r.pending)
	if err != nil {
		return connectors.NewTransient("encode rotated tokens", err)
	}
	if err := r.state.Put(r.key, raw); err != nil {
		return connectors.NewTransient("store rotated tokens", err)
	}
	r.pending = nil
	return nil
}

// Pending reports whether a rotated pair is waiting to be saved.
func (r *Rotation[T]) Pending() bool { return r.pending != nil }
