package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// DeadLetter is a change a connector could not deliver: the queue entries
// coalesced into it (or, for a member failure, one member delta) and why.
type DeadLetter struct {
	ID      uint64    `json:"id,string"` // the sequence of its last entry
	Type    string    `json:"type"`
	SCIMID  string    `json:"scimId"`
	Op      string    `json:"op"`
	Entries []Entry   `json:"entries"`
	Member  string    `json:"member,omitempty"` // set for a per-member failure
	Class   string    `json:"class"`
	Status  int       `json:"status,omitempty"`
	Reason  string    `json:"reason"` // the target's message
	At      time.Time `json:"at"`
}

func deadBucket(connector string) []byte { return []byte("dead/" + connector) }

// PutDeadLetter stores d under d.ID (a member failure gets its own key).
func (tx *Tx) PutDeadLetter(connector string, d *DeadLetter) error {
	b, err := tx.btx.CreateBucketIfNotExists(deadBucket(connector))
	if err != nil {
		return err
	}
	if d.ID == 0 || b.Get(seqKey(d.ID)) != nil {
		// Member failures share the group's sequence: give them a fresh one
		// above every queue sequence.
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		d.ID = 1<<63 | n
	}
	v, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("store: encode dead letter: %w", err)
	}
	return b.Put(seqKey(d.ID), v)
}

// DeadLetters calls fn for each of the connector's dead letters, oldest first.
func (tx *Tx) DeadLetters(connector string, fn func(d *DeadLetter) error) error {
	b := tx.btx.Bucket(deadBucket(connector))
	if b == nil {
		return nil
	}
	return b.ForEach(func(_, v []byte) error {
		var d DeadLetter
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("store: decode dead letter: %w", err)
		}
		return fn(&d)
	})
}

// GetDeadLetter returns the dead letter with id, or ErrNotFound.
func (tx *Tx) GetDeadLetter(connector string, id uint64) (*DeadLetter, error) {
	b := tx.btx.Bucket(deadBucket(connector))
	if b == nil {
		return nil, ErrNotFound
	}
	v := b.Get(seqKey(id))
	if v == nil {
		return nil, ErrNotFound
	}
	var d DeadLetter
	if err := json.Unmarshal(v, &d); err != nil {
		return nil, fmt.Errorf("store: decode dead letter: %w", err)
	}
	return &d, nil
}

// DeleteDeadLetter removes the dead letter with id.
func (tx *Tx) DeleteDeadLetter(connector string, id uint64) error {
	b := tx.btx.Bucket(deadBucket(connector))
	if b == nil {
		return nil
	}
	return b.Delete(seqKey(id))
}

// DeadLetterCount is the number of the connector's dead letters.
func (tx *Tx) DeadLetterCount(connector string) int {
	b := tx.btx.Bucket(deadBucket(connector))
	if b == nil {
		return 0
	}
	return b.Stats().KeyN
}

// ParseDeadLetterID parses an id as printed by the admin API.
func ParseDeadLetterID(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
