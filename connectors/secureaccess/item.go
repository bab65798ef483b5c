package secureaccess

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/connectors"
)

// keySpace is the UUIDv5 namespace of registration keys. Keys must never
// change: a re-sent user is an idempotent upsert only if its key is stable.
var keySpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/scimbridge/scimbridge/connectors/secureaccess"))

// Key is the registration key of the SCIM user with id scimID.
func Key(scimID string) string { return uuid.NewSHA1(keySpace, []byte(scimID)).String() }

// item is one device registration as PUT sends it: exactly the contract's
// fields, optional ones omitted when empty.
type item struct {
	Key            string `json:"key"`
	Label          string `json:"label"`
	Status         string `json:"status"`
	AuthName       string `json:"authName"`
	DomainName     string `json:"domainName,omitempty"`
	SamAccountName string `json:"samAccountName,omitempty"`
	GUIDHash       string `json:"guidHash,omitempty"`
}

// Mapped field names: the targets of the default mapping plus the
// contract's optional fields, which a config mapping may add.
const (
	fieldAuthName       = "authName"
	fieldLabel          = "label"
	fieldActive         = "active"
	fieldDomainName     = "domainName"
	fieldSamAccountName = "samAccountName"
	fieldGUIDHash       = "guidHash"
)

var knownFields = []string{fieldAuthName, fieldLabel, fieldActive, fieldDomainName, fieldSamAccountName, fieldGUIDHash}

// newItem builds the registration for mapped fields f. active overrides
// the mapped status when false (a delete or a user that left scope).
func newItem(key string, f map[string]any, active bool) (item, error) {
	it := item{
		Key:            key,
		AuthName:       str(f[fieldAuthName]),
		Label:          str(f[fieldLabel]),
		DomainName:     str(f[fieldDomainName]),
		SamAccountName: str(f[fieldSamAccountName]),
		GUIDHash:       str(f[fieldGUIDHash]),
		Status:         "active",
	}
	if !active || !isActive(f[fieldActive]) {
		it.Status = "inactive"
	}
	if it.Label == "" {
		it.Label = it.AuthName
	}
	if it.AuthName == "" {
		// Checked here rather than spending a PUT on a certain 400.
		return it, connectors.NewPermanent("user has no authName (mapped from userName)", nil)
	}
	return it, nil
}

// isActive reads SCIM active as the mapping hands it over; absent means
// active, as in SCIM.
func isActive(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return !strings.EqualFold(strings.TrimSpace(v), "false")
	}
	return true
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case []any:
		if len(v) > 0 {
			return str(v[0])
		}
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}
