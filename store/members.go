package store

import (
	"bytes"
)

// Group memberships, one key per (group, member) pair in each direction,
// so adding 100 members to a group of 10,000 touches about 200 keys and
// never rewrites the group's other members.
//
//	members   groupID + "\x00" + memberID → member JSON as stored (value, display, type, ...)
//	memberOf  memberID + "\x00" + groupID → empty

var (
	bucketMembers  = []byte("members")
	bucketMemberOf = []byte("memberOf")
)

func pairKey(a, b string) []byte { return []byte(a + "\x00" + b) }

// AddMember stores memberID in groupID with its JSON. It reports whether
// the member is new (an existing member's JSON is replaced).
func (tx *Tx) AddMember(groupID, memberID string, member []byte) (added bool, err error) {
	m, err := tx.bucket(bucketMembers)
	if err != nil {
		return false, err
	}
	of, err := tx.bucket(bucketMemberOf)
	if err != nil {
		return false, err
	}
	k := pairKey(groupID, memberID)
	added = m.Get(k) == nil
	if member == nil {
		member = []byte{}
	}
	if err := m.Put(k, member); err != nil {
		return false, err
	}
	return added, of.Put(pairKey(memberID, groupID), nil)
}

// RemoveMember removes memberID from groupID and reports whether it was there.
func (tx *Tx) RemoveMember(groupID, memberID string) (bool, error) {
	m := tx.btx.Bucket(bucketMembers)
	if m == nil {
		return false, nil
	}
	k := pairKey(groupID, memberID)
	if m.Get(k) == nil {
		return false, nil
	}
	if err := m.Delete(k); err != nil {
		return false, err
	}
	if of := tx.btx.Bucket(bucketMemberOf); of != nil {
		if err := of.Delete(pairKey(memberID, groupID)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// IsMember reports whether memberID is a member of groupID.
func (tx *Tx) IsMember(groupID, memberID string) bool {
	m := tx.btx.Bucket(bucketMembers)
	return m != nil && m.Get(pairKey(groupID, memberID)) != nil
}

// Members calls fn for each member of groupID in member-id order. The
// member slice is only valid for the life of tx.
func (tx *Tx) Members(groupID string, fn func(memberID string, member []byte) error) error {
	return scanPairs(tx.btx.Bucket(bucketMembers), groupID, fn)
}

// MemberIDs returns the ids of groupID's members.
func (tx *Tx) MemberIDs(groupID string) ([]string, error) {
	var ids []string
	err := tx.Members(groupID, func(id string, _ []byte) error {
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// GroupsOf returns the ids of the groups memberID belongs to.
func (tx *Tx) GroupsOf(memberID string) ([]string, error) {
	var ids []string
	err := scanPairs(tx.btx.Bucket(bucketMemberOf), memberID, func(id string, _ []byte) error {
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

func scanPairs(b *bucket, first string, fn func(second string, v []byte) error) error {
	if b == nil {
		return nil
	}
	prefix := pairKey(first, "")
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(string(k[len(prefix):]), v); err != nil {
			return err
		}
	}
	return nil
}
