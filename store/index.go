package store

import (
	"bytes"
	"strings"
)

// Secondary indexes, so that the lookups IdPs make before every create
// (userName eq, externalId eq, group displayName eq) cost the same at
// 100,000 resources as at 1,000.
//
//	idx/userName               lower-cased userName → user id (unique)
//	idx/externalId/<typ>       externalId + "\x00" + id → empty (not unique)
//	idx/displayName/<typ>      lower-cased displayName + "\x00" + id → empty
//	idx/email/User             lower-cased emails[].value + "\x00" + id → empty
//	                           (every address of the user, any type; Entra
//	                           matches on emails[type eq "work"].value)
//
// userName and displayName compare case-insensitively in SCIM (caseExact
// false), so they are folded before they become keys; externalId is
// caseExact and kept as sent.

var bucketUserName = []byte("idx/userName")

// Indexed attributes with several ids per value.
const (
	IndexExternalID  = "externalId"
	IndexDisplayName = "displayName"
	IndexEmail       = "email"
)

// Fold is the case folding applied to case-insensitive index keys.
func Fold(s string) string { return strings.ToLower(s) }

func multiBucketName(index, typ string) []byte { return []byte("idx/" + index + "/" + typ) }

// LookupUserName returns the id of the user whose userName equals name
// case-insensitively, or "".
func (tx *Tx) LookupUserName(name string) string {
	b := tx.btx.Bucket(bucketUserName)
	if b == nil {
		return ""
	}
	return string(b.Get([]byte(Fold(name))))
}

// putUserName claims name for id. It reports false (and changes nothing)
// when another user holds the name.
func (tx *Tx) putUserName(name, id string) (bool, error) {
	b, err := tx.bucket(bucketUserName)
	if err != nil {
		return false, err
	}
	k := []byte(Fold(name))
	if cur := b.Get(k); cur != nil {
		return string(cur) == id, nil
	}
	return true, b.Put(k, []byte(id))
}

// deleteUserName releases name if id holds it.
func (tx *Tx) deleteUserName(name, id string) error {
	b := tx.btx.Bucket(bucketUserName)
	if b == nil {
		return nil
	}
	k := []byte(Fold(name))
	if string(b.Get(k)) != id {
		return nil
	}
	return b.Delete(k)
}

func multiKey(index, value, id string) []byte {
	if index == IndexDisplayName || index == IndexEmail {
		value = Fold(value)
	}
	return []byte(value + "\x00" + id)
}

// putIndex adds id under value in a non-unique index.
func (tx *Tx) putIndex(index, typ, value, id string) error {
	b, err := tx.bucket(multiBucketName(index, typ))
	if err != nil {
		return err
	}
	return b.Put(multiKey(index, value, id), nil)
}

// deleteIndex removes id from value in a non-unique index.
func (tx *Tx) deleteIndex(index, typ, value, id string) error {
	b := tx.btx.Bucket(multiBucketName(index, typ))
	if b == nil {
		return nil
	}
	return b.Delete(multiKey(index, value, id))
}

// LookupIndex returns the ids stored under value in a non-unique index,
// in id order.
func (tx *Tx) LookupIndex(index, typ, value string) []string {
	b := tx.btx.Bucket(multiBucketName(index, typ))
	if b == nil {
		return nil
	}
	prefix := multiKey(index, value, "")
	var ids []string
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix):]))
	}
	return ids
}

// Indexes added after a data file was first written are built once when
// the program opens it; the meta bucket records that they are complete.

func readyKey(index, typ string) []byte { return []byte("index/" + index + "/" + typ) }

// IndexReady reports whether the index of typ is complete.
func (tx *Tx) IndexReady(index, typ string) bool {
	b := tx.btx.Bucket(metaBucket)
	return b != nil && b.Get(readyKey(index, typ)) != nil
}

// markIndexReady records that the index of typ is complete.
func (tx *Tx) markIndexReady(index, typ string) error {
	b, err := tx.bucket(metaBucket)
	if err != nil {
		return err
	}
	return b.Put(readyKey(index, typ), []byte{1})
}
