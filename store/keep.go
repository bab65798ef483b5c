package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/scimbridge/scimbridge/internal/rawjson"
)

// Index upkeep. Every write of a resource through Tx (CreateResource,
// UpdateResource, DeleteResource) moves its index entries from the values
// in the stored record to the values in the new one, so no caller keeps
// the indexes by hand and Verify's index checks hold by construction.

// ErrConflict is what a *ConflictError matches with errors.Is.
var ErrConflict = errors.New("store: unique value already in use")

// ConflictError reports a write refused because another resource holds a
// unique value (a user's userName, compared case-insensitively). Nothing
// was changed.
type ConflictError struct {
	Attr   string // "userName"
	Value  string // as the refused write spelled it
	Holder string // id of the resource that holds it
}

func (e *ConflictError) Error() string {
	return e.Attr + " " + strconv.Quote(e.Value) + " is already in use"
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// indexed are the values of one resource that the indexes key, read from
// its JSON (the fields stay `any` so a value of an unexpected type is
// treated as absent, as Verify treats it).
type indexed struct {
	UserName    any `json:"userName"`
	DisplayName any `json:"displayName"`
	ExternalID  any `json:"externalId"`
	Emails      any `json:"emails"`
}

func indexedOf(typ, id string, doc []byte) (indexed, error) {
	var k indexed
	if doc == nil {
		return k, nil
	}
	// Every write runs this twice (old and new record) inside the
	// serialised commit: only the four values are decoded, the rest of
	// the document is skipped over (a quarter of a PATCH's commit CPU went
	// to decoding whole documents). Anything unusual (an escaped key, a
	// document the scan does not take) goes to json.Unmarshal, whose
	// case-insensitive field matching the switch below mirrors.
	end := -1
	ok := rawjson.ScanObject(doc, func(key []byte, vs, ve int) bool {
		name := key[1 : len(key)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			return false
		}
		var dst *any
		switch {
		case bytes.EqualFold(name, []byte("userName")):
			dst = &k.UserName
		case bytes.EqualFold(name, []byte("displayName")):
			dst = &k.DisplayName
		case bytes.EqualFold(name, []byte("externalId")):
			dst = &k.ExternalID
		case bytes.EqualFold(name, []byte("emails")):
			dst = &k.Emails
		default:
			return true
		}
		raw := doc[vs:ve]
		if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
			*dst = string(raw[1 : len(raw)-1]) // a plain string: nothing to decode
			return true
		}
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return false
		}
		*dst = v
		return true
	}, &end)
	if ok {
		return k, nil
	}
	k = indexed{}
	if err := json.Unmarshal(doc, &k); err != nil {
		return k, fmt.Errorf("store: %s %s: JSON is unreadable: %w", typ, id, err)
	}
	return k, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// emailKeys are a user's addresses as the email index keys them: every
// non-empty emails[].value, of any type, folded.
func (k indexed) emailKeys() map[string]bool {
	list, _ := k.Emails.([]any)
	keys := make(map[string]bool, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		if v, ok := m["value"].(string); ok && v != "" {
			keys[Fold(v)] = true
		}
	}
	return keys
}

// reindex moves typ/id's index entries from the values in old to those in
// next. It refuses (changing nothing) a userName another user holds.
func (tx *Tx) reindex(typ, id string, old, next indexed) error {
	if typ == TypeUser {
		name, prev := str(next.UserName), str(old.UserName)
		if Fold(name) != Fold(prev) {
			if holder := tx.LookupUserName(name); holder != "" && holder != id {
				return &ConflictError{Attr: "userName", Value: name, Holder: holder}
			}
			if prev != "" {
				if err := tx.deleteUserName(prev, id); err != nil {
					return err
				}
			}
			if _, err := tx.putUserName(name, id); err != nil {
				return err
			}
		}
	}
	if typ == TypeGroup {
		name, prev := str(next.DisplayName), str(old.DisplayName)
		if Fold(name) != Fold(prev) {
			if prev != "" {
				if err := tx.deleteIndex(IndexDisplayName, typ, prev, id); err != nil {
					return err
				}
			}
			if err := tx.putIndex(IndexDisplayName, typ, name, id); err != nil {
				return err
			}
		}
	}
	if ext, prev := str(next.ExternalID), str(old.ExternalID); ext != prev {
		if prev != "" {
			if err := tx.deleteIndex(IndexExternalID, typ, prev, id); err != nil {
				return err
			}
		}
		if ext != "" {
			if err := tx.putIndex(IndexExternalID, typ, ext, id); err != nil {
				return err
			}
		}
	}
	if typ == TypeUser {
		before, after := old.emailKeys(), next.emailKeys()
		for e := range before {
			if !after[e] {
				if err := tx.deleteIndex(IndexEmail, typ, e, id); err != nil {
					return err
				}
			}
		}
		for e := range after {
			if !before[e] {
				if err := tx.putIndex(IndexEmail, typ, e, id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// unindex removes a deleted resource's index entries.
func (tx *Tx) unindex(typ, id string, old indexed) error {
	if v, ok := old.UserName.(string); ok && typ == TypeUser {
		if err := tx.deleteUserName(v, id); err != nil {
			return err
		}
	}
	if v, ok := old.DisplayName.(string); ok && typ == TypeGroup {
		if err := tx.deleteIndex(IndexDisplayName, typ, v, id); err != nil {
			return err
		}
	}
	if v := str(old.ExternalID); v != "" {
		if err := tx.deleteIndex(IndexExternalID, typ, v, id); err != nil {
			return err
		}
	}
	if typ == TypeUser {
		for e := range old.emailKeys() {
			if err := tx.deleteIndex(IndexEmail, typ, e, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildEmailIndex indexes every stored user's addresses once, for a data
// file written before the email index existed (Open runs it).
func buildEmailIndex(tx *Tx) error {
	if tx.IndexReady(IndexEmail, TypeUser) {
		return nil
	}
	err := tx.ScanResources(TypeUser, 0, func(id string, raw []byte) (bool, error) {
		k, err := indexedOf(TypeUser, id, raw)
		if err != nil {
			return false, err
		}
		for e := range k.emailKeys() {
			if err := tx.putIndex(IndexEmail, TypeUser, e, id); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	return tx.markIndexReady(IndexEmail, TypeUser)
}
