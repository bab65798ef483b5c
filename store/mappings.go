package store

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Mapping is what one connector's target holds for one SCIM resource: its
// id there and the mapped fields last delivered (the base of the next diff).
type Mapping struct {
	TargetID string         `json:"targetId"`
	Fields   map[string]any `json:"fields,omitempty"`
}

func mapBucket(connector string) []byte  { return []byte("map/" + connector) }
func rmapBucket(connector string) []byte { return []byte("rmap/" + connector) }

// GetMapping returns the resource's mapping for the connector, or ErrNotFound.
func (tx *Tx) GetMapping(connector, typ, id string) (*Mapping, error) {
	b := tx.btx.Bucket(mapBucket(connector))
	if b == nil {
		return nil, ErrNotFound
	}
	v := b.Get([]byte(typ + "/" + id))
	if v == nil {
		return nil, ErrNotFound
	}
	var m Mapping
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("store: decode mapping: %w", err)
	}
	return &m, nil
}

// PutMapping records the resource's target id and delivered fields, and
// the reverse (target id -> "Type/ID").
func (tx *Tx) PutMapping(connector, typ, id string, m Mapping) error {
	b, err := tx.btx.CreateBucketIfNotExists(mapBucket(connector))
	if err != nil {
		return err
	}
	r, err := tx.btx.CreateBucketIfNotExists(rmapBucket(connector))
	if err != nil {
		return err
	}
	key := []byte(typ + "/" + id)
	if old := b.Get(key); old != nil {
		var o Mapping
		if json.Unmarshal(old, &o) == nil && o.TargetID != m.TargetID && o.TargetID != "" {
			if err := r.Delete([]byte(typ + "/" + o.TargetID)); err != nil {
				return err
			}
		}
	}
	v, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encode mapping: %w", err)
	}
	if err := b.Put(key, v); err != nil {
		return err
	}
	if m.TargetID == "" {
		return nil
	}
	return r.Put([]byte(typ+"/"+m.TargetID), []byte(id))
}

// DeleteMapping forgets the resource's mapping for the connector.
func (tx *Tx) DeleteMapping(connector, typ, id string) error {
	b := tx.btx.Bucket(mapBucket(connector))
	if b == nil {
		return nil
	}
	key := []byte(typ + "/" + id)
	if old := b.Get(key); old != nil {
		var o Mapping
		if json.Unmarshal(old, &o) == nil && o.TargetID != "" {
			if r := tx.btx.Bucket(rmapBucket(connector)); r != nil {
				if err := r.Delete([]byte(typ + "/" + o.TargetID)); err != nil {
					return err
				}
			}
		}
	}
	return b.Delete(key)
}

// SCIMID returns the SCIM id of the resource with the target id, or "".
func (tx *Tx) SCIMID(connector, typ, targetID string) string {
	r := tx.btx.Bucket(rmapBucket(connector))
	if r == nil {
		return ""
	}
	return string(r.Get([]byte(typ + "/" + targetID)))
}

// EachMapping calls fn for every mapping of typ the connector holds, in
// SCIM id order, until fn returns false.
func (tx *Tx) EachMapping(connector, typ string, fn func(id string, m Mapping) bool) error {
	b := tx.btx.Bucket(mapBucket(connector))
	if b == nil {
		return nil
	}
	prefix := []byte(typ + "/")
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m Mapping
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("store: decode mapping %s: %w", k, err)
		}
		if !fn(string(k[len(prefix):]), m) {
			return nil
		}
	}
	return nil
}
