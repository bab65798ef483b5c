package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// FieldChecker is what the field check needs from the dispatcher
// (*connectors.Dispatcher has it; a Dispatcher without it answers
// ErrFieldCheckUnavailable).
type FieldChecker interface {
	CheckFields(ctx context.Context, typ, id string, repair bool) ([]connectors.FieldCheck, error)
}

// ErrFieldCheckUnavailable is CheckFields' answer without a FieldChecker
// or a store.
var ErrFieldCheckUnavailable = errors.New("field check not available")

// FieldReport is one resource's field check: per connector, in sync,
// drifted (field, target value, SCIM value), missing, error or not
// available, and whether SCIM's values were queued again.
type FieldReport struct {
	Type       string                  `json:"type"`
	ID         string                  `json:"id"`
	Repair     bool                    `json:"repair"`
	At         time.Time               `json:"at"`
	Connectors []connectors.FieldCheck `json:"connectors"`
}

// Drifted reports whether any connector found the resource drifted or
// missing (what Repair would fix).
func (r FieldReport) Drifted() bool {
	for _, c := range r.Connectors {
		if c.State == connectors.FieldsDrifted || c.State == connectors.FieldsMissing {
			return true
		}
	}
	return false
}

// ParseType reads a resource type as the admin API's paths name it
// (Users, users, User...).
func ParseType(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "user", "users":
		return store.TypeUser, true
	case "group", "groups":
		return store.TypeGroup, true
	}
	return "", false
}

// CheckFields reads the stored resource typ/id from every target whose
// connector can read one object, compares the fields each connector maps
// with SCIM's, and with repair queues SCIM's values again through the
// outbox (connectors.Dispatcher.CheckFields, which also records it in the
// activity log). An unknown resource is connectors.ErrNotFound.
func (s *Service) CheckFields(ctx context.Context, typ, id string, repair bool) (FieldReport, error) {
	fc, ok := s.Dispatcher.(FieldChecker)
	if !ok || s.DB == nil {
		return FieldReport{}, ErrFieldCheckUnavailable
	}
	var exists bool
	if err := s.DB.View(func(tx *store.Tx) error { exists = tx.ResourceExists(typ, id); return nil }); err != nil {
		return FieldReport{}, err
	}
	if !exists {
		return FieldReport{}, fmt.Errorf("%s %q: %w", typ, id, connectors.ErrNotFound)
	}
	checks, err := fc.CheckFields(ctx, typ, id, repair)
	return FieldReport{Type: typ, ID: id, Repair: repair, At: s.now().UTC(), Connectors: checks}, err
}

// checkFields serves POST /admin/resources/{type}/{id}/check-fields[?repair=true].
func (a *api) checkFields(w http.ResponseWriter, r *http.Request) {
	typ, ok := ParseType(r.PathValue("type"))
	if !ok {
		writeError(w, http.StatusBadRequest, "type must be Users or Groups")
		return
	}
	repair, ok := repairParam(w, r)
	if !ok {
		return
	}
	rep, err := a.svc.CheckFields(r.Context(), typ, r.PathValue("id"), repair)
	switch {
	case errors.Is(err, ErrFieldCheckUnavailable):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		writeErr(w, err)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}
