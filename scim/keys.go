package scim

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/store"
)

// The store keeps some values inside bbolt keys (userName, externalId,
// email addresses, a group's displayName, member ids: store/index.go,
// members.go). bbolt refuses keys over 32 KiB, which surfaced as a 500
// "key too large", and a NUL separates a value from the id in the
// non-unique indexes, so "a\u0000b" was found as a prefix of "a" (a group
// "zz" was refused as a duplicate of "zz\u0000y"). Such values are refused
// up front with 400 invalidValue (RFC 7644 §3.12).

// maxIndexedBytes bounds one indexed value: lower-casing may grow a string
// by half, and the key adds a separator and an id, all well inside 32 KiB.
const maxIndexedBytes = 8 << 10

// checkIndexedValue refuses a value the store could not index.
func checkIndexedValue(attr, v string) *Error {
	if len(v) > maxIndexedBytes {
		return errorf(http.StatusBadRequest, "invalidValue", attr+" is longer than "+strconv.Itoa(maxIndexedBytes)+" bytes")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return errorf(http.StatusBadRequest, "invalidValue", attr+" must not contain U+0000")
	}
	return nil
}

// checkIndexed checks the indexed attributes of a resource about to be
// stored (POST, PUT, or the result of a PATCH). A PATCH passes the stored
// document as prev: a value it already held (stored before this check
// existed) is not the PATCH's doing and does not block it (an Okta
// deactivation must still go through).
func checkIndexed(d *resourceDef, m, prev map[string]any) *Error {
	var bad *Error
	eachIndexed(d, m, func(name, v string) bool {
		e := checkIndexedValue(name, v)
		if e == nil {
			return true
		}
		held := false
		if prev != nil {
			eachIndexed(d, prev, func(pn, pv string) bool {
				held = pn == name && pv == v
				return !held
			})
		}
		if held {
			return true
		}
		bad = e
		return false
	})
	return bad
}

// eachIndexed calls f with each indexed attribute's string value in m
// until f returns false.
func eachIndexed(d *resourceDef, m map[string]any, f func(attr, v string) bool) {
	one := func(name string) bool {
		v, _ := lookupFold(m, name)
		s, ok := v.(string)
		return !ok || f(name, s)
	}
	if d.typ != store.TypeUser {
		_ = one("displayName") && one("externalId")
		return
	}
	if !one("userName") || !one("externalId") {
		return
	}
	emails, _ := lookupFold(m, "emails")
	l, _ := emails.([]any)
	for _, e := range l {
		em, _ := e.(map[string]any)
		v, _ := lookupFold(em, "value")
		if s, ok := v.(string); ok && !f("emails.value", s) {
			return
		}
	}
}
