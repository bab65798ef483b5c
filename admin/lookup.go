package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/scimbridge/scimbridge/store"
)

// Resource is a stored SCIM resource as the lookup shows it: a summary of
// the document (never a password) and what each connector holds for it.
type Resource struct {
	Type        string         `json:"type"`
	ID          string         `json:"id"`
	Name        string         `json:"name"` // userName or displayName
	DisplayName string         `json:"displayName,omitempty"`
	Emails      []string       `json:"emails,omitempty"`
	ExternalID  string         `json:"externalId,omitempty"`
	Active      *bool          `json:"active,omitempty"`
	Members     int            `json:"members,omitempty"` // groups
	Modified    string         `json:"lastModified,omitempty"`
	MatchedBy   string         `json:"matchedBy"` // id, userName, email, displayName
	Targets     []TargetState  `json:"targets"`
	Attributes  map[string]any `json:"-"`
}

// Target states of a resource in one connector.
const (
	TargetDelivered  = "delivered"    // the target holds it (TargetID)
	TargetQueued     = "queued"       // a change is waiting to be delivered
	TargetOutOfScope = "out of scope" // the connector's scope leaves it out
	TargetNone       = "not delivered"
)

// TargetState is what one connector holds for a resource.
type TargetState struct {
	Connector string `json:"connector"`
	TargetID  string `json:"targetId,omitempty"`
	InScope   bool   `json:"inScope"`
	Pending   bool   `json:"pending"` // changes queued
	State     string `json:"state"`
}

// ErrNoStore is Lookup's answer when the Service has no DB.
var ErrNoStore = errors.New("resource lookup not available")

// maxFound bounds a lookup's answer (a displayName or email can be shared).
const maxFound = 20

// Lookup finds the stored resources q names: a SCIM id (user or group),
// a userName, an email address or a group's displayName, compared as SCIM
// compares them (case-insensitively but for ids). One read transaction.
func (s *Service) Lookup(q string) ([]Resource, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	if s.DB == nil {
		return nil, ErrNoStore
	}
	names := s.Dispatcher.Connectors()
	var out []Resource
	err := s.DB.View(func(tx *store.Tx) error {
		seen := map[string]bool{}
		add := func(typ, id, by string) error {
			if len(out) >= maxFound || seen[typ+"/"+id] {
				return nil
			}
			r, err := loadResource(tx, names, typ, id)
			if err != nil || r == nil {
				return err
			}
			seen[typ+"/"+id] = true
			r.MatchedBy = by
			out = append(out, *r)
			return nil
		}
		for _, typ := range []string{store.TypeUser, store.TypeGroup} {
			if tx.ResourceExists(typ, q) {
				if err := add(typ, q, "id"); err != nil {
					return err
				}
			}
		}
		if id := tx.LookupUserName(q); id != "" {
			if err := add(store.TypeUser, id, "userName"); err != nil {
				return err
			}
		}
		for _, id := range tx.LookupIndex(store.IndexEmail, store.TypeUser, q) {
			if err := add(store.TypeUser, id, "email"); err != nil {
				return err
			}
		}
		for _, id := range tx.LookupIndex(store.IndexDisplayName, store.TypeGroup, q) {
			if err := add(store.TypeGroup, id, "displayName"); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func loadResource(tx *store.Tx, connectors []string, typ, id string) (*Resource, error) {
	doc, _, err := tx.GetResource(typ, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // an index pointing nowhere: store.Verify reports it
	}
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("resource %s/%s: %w", typ, id, err)
	}
	delete(m, "password")
	r := &Resource{Type: typ, ID: id, Attributes: m}
	r.DisplayName, _ = m["displayName"].(string)
	r.ExternalID, _ = m["externalId"].(string)
	if typ == store.TypeUser {
		r.Name, _ = m["userName"].(string)
		if a, ok := m["active"].(bool); ok {
			r.Active = &a
		}
		emails, _ := m["emails"].([]any)
		for _, e := range emails {
			if em, ok := e.(map[string]any); ok {
				if v, ok := em["value"].(string); ok {
					r.Emails = append(r.Emails, v)
				}
			}
		}
	} else {
		r.Name = r.DisplayName
		ids, err := tx.MemberIDs(id)
		if err != nil {
			return nil, err
		}
		r.Members = len(ids)
	}
	if meta, ok := m["meta"].(map[string]any); ok {
		r.Modified, _ = meta["lastModified"].(string)
	}
	for _, c := range connectors {
		t := TargetState{Connector: c, Pending: tx.HasPending(c, typ, id)}
		mp, err := store.Optional(tx.GetMapping(c, typ, id))
		if err != nil {
			return nil, err
		}
		sh, err := store.Optional(tx.GetShadow(c, typ, id))
		if err != nil {
			return nil, err
		}
		if mp != nil {
			t.TargetID = mp.TargetID
		}
		t.InScope = sh != nil && sh.InScope
		switch {
		case t.Pending:
			t.State = TargetQueued
		case sh != nil && !sh.InScope:
			t.State = TargetOutOfScope
		case mp != nil:
			t.State = TargetDelivered
		default:
			t.State = TargetNone
		}
		r.Targets = append(r.Targets, t)
	}
	return r, nil
}
