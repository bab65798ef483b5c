package webex

import "github.com/scimbridge/scimbridge/mapping"

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// DefaultMapping is the Webex mapping (README.md explains each field).
// userName is the SCIM work email, else the primary one, else SCIM
// userName; the connector reports a user whose result is not an email as
// unsupported.
var DefaultMapping = mapping.Spec{
	User: map[string]string{
		"userName":    `lower(default(emails[type eq "work"].value, emails[primary eq true].value, userName))`,
		"displayName": "displayName",
		"nickName":    "nickName",
		"firstName":   "name.givenName",
		"lastName":    "name.familyName",
		"title":       "title",
		"externalId":  "default(externalId, id)",
		"department":  enterprise + ":department",
		"phoneNumber": `phoneNumbers[type eq "work"].value`,
		"active":      "active",
	},
	Group: map[string]string{
		"displayName": "displayName",
		"externalId":  "default(externalId, id)",
	},
}
