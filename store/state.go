package store

import "slices"

// ConnectorState is durable key/value state one connector keeps for itself
// (connectors.StateStore), in bucket state/<connector>.
type ConnectorState struct {
	db        *DB
	connector string
}

// State returns the connector's state store.
func (db *DB) State(connector string) *ConnectorState {
	return &ConnectorState{db: db, connector: connector}
}

// Get returns the value of key, or nil when absent.
func (s *ConnectorState) Get(key string) ([]byte, error) {
	var v []byte
	err := s.db.View(func(tx *Tx) error {
		if b := tx.btx.Bucket([]byte("state/" + s.connector)); b != nil {
			v = slices.Clone(b.Get([]byte(key)))
		}
		return nil
	})
	return v, err
}

// Put stores value under key; it has committed when Put returns.
func (s *ConnectorState) Put(key string, value []byte) error {
	return s.db.Update(func(tx *Tx) error {
		b, err := tx.btx.CreateBucketIfNotExists([]byte("state/" + s.connector))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), value)
	})
}
