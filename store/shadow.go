package store

import (
	"encoding/json"
	"fmt"
)

// Shadow is what the queue last promised one connector about one resource:
// whether it is in the connector's scope and its mapped fields. Enqueue
// compares a write with it to skip no-op changes and to detect a resource
// entering or leaving scope; start-up reconciliation compares it with the
// current mapping and scope.
type Shadow struct {
	InScope bool           `json:"inScope"`
	Fields  map[string]any `json:"fields,omitempty"`
}

func shadowBucket(connector string) []byte { return []byte("shadow/" + connector) }

// GetShadow returns the resource's shadow for the connector, or ErrNotFound.
func (tx *Tx) GetShadow(connector, typ, id string) (*Shadow, error) {
	b := tx.btx.Bucket(shadowBucket(connector))
	if b == nil {
		return nil, ErrNotFound
	}
	v := b.Get([]byte(typ + "/" + id))
	if v == nil {
		return nil, ErrNotFound
	}
	var s Shadow
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("store: decode shadow: %w", err)
	}
	return &s, nil
}

// PutShadow records the resource's shadow for the connector.
func (tx *Tx) PutShadow(connector, typ, id string, s Shadow) error {
	b, err := tx.btx.CreateBucketIfNotExists(shadowBucket(connector))
	if err != nil {
		return err
	}
	v, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("store: encode shadow: %w", err)
	}
	return b.Put([]byte(typ+"/"+id), v)
}

// DeleteShadow forgets the resource for the connector.
func (tx *Tx) DeleteShadow(connector, typ, id string) error {
	b := tx.btx.Bucket(shadowBucket(connector))
	if b == nil {
		return nil
	}
	return b.Delete([]byte(typ + "/" + id))
}

// Shadows calls fn for every shadowed resource of the connector.
func (tx *Tx) Shadows(connector string, fn func(typ, id string, s Shadow) error) error {
	b := tx.btx.Bucket(shadowBucket(connector))
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		var s Shadow
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("store: decode shadow: %w", err)
		}
		typ, id, _ := cut(string(k))
		return fn(typ, id, s)
	})
}

func cut(key string) (typ, id string, ok bool) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:], true
		}
	}
	return key, "", false
}
