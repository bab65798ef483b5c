package oauthtoken

import (
	"errors"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
)

type pair struct {
	Access  string `json:"a"`
	Refresh string `json:"r"`
}

type memState struct {
	m    map[string][]byte
	fail error
}

func (s *memState) Get(k string) ([]byte, error) { return s.m[k], nil }
func (s *memState) Put(k string, v []byte) error {
	if s.fail != nil {
		return s.fail
	}
	s.m[k] = v
	return nil
}

func TestRotation(t *testing.T) {
	st := &memState{m: map[string][]byte{}}
	r := New[pair](st, "k")
	if _, ok, err := r.Load(); ok || err != nil {
		t.Fatalf("empty store: ok %v err %v", ok, err)
	}
	if err := r.Save(pair{"a1", "r1"}); err != nil || r.Pending() {
		t.Fatalf("save: %v pending %v", err, r.Pending())
	}
	// A failed save is transient, stays pending, and the store keeps the
	// previous pair until Flush succeeds.
	st.fail = errors.New("disk full")
	if err := r.Save(pair{"a2", "r2"}); connectors.ClassOf(err) != connectors.Transient || !r.Pending() {
		t.Fatalf("failed save: %v pending %v", err, r.Pending())
	}
	if err := r.Flush(); connectors.ClassOf(err) != connectors.Transient {
		t.Fatalf("flush while failing: %v", err)
	}
	if v, _, _ := r.Load(); v.Refresh != "r1" {
		t.Fatalf("store holds %+v before the flush", v)
	}
	st.fail = nil
	if err := r.Flush(); err != nil || r.Pending() {
		t.Fatalf("flush: %v pending %v", err, r.Pending())
	}
	if v, ok, err := r.Load(); !ok || err != nil || v != (pair{"a2", "r2"}) {
		t.Fatalf("load after flush: %+v %v %v", v, ok, err)
	}
	st.m["k"] = []byte("{not json")
	if _, _, err := r.Load(); err == nil {
		t.Error("corrupt state loaded without an error")
	}
}

func TestRotationWithoutStore(t *testing.T) {
	r := New[pair](nil, "k")
	if err := r.Save(pair{"a", "r"}); err != nil || r.Pending() {
		t.Fatalf("save without a store: %v", err)
	}
	if _, ok, err := r.Load(); ok || err != nil {
		t.Fatalf("load without a store: %v %v", ok, err)
	}
}
