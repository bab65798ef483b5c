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
// stored (POST, PUT, or the result of a PATCH).
func checkIndexed(d *resourceDef, m map[string]any) *Error {
	names := []string{"externalId", "displayName"}
	if d.typ == store.TypeUser {
		names = []string{"userName", "externalId"}
		if emails, ok := lookupFold(m, "emails"); ok {
			l, _ := emails.([]any)
			for _, e := range l {
				em, _ := e.(map[string]any)
				if v, ok := lookupFold(em, "value"); ok {
					if s, ok := v.(string); ok {
						if e := checkIndexedValue("emails.value", s); e != nil {
							return e
						}
					}
				}
			}
		}
	}
	for _, n := range names {
		if v, ok := lookupFold(m, n); ok {
			if s, ok := v.(string); ok {
				if e := checkIndexedValue(n, s); e != nil {
					return e
				}
			}
		}
	}
	return nil
}
