package main

import (
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc"
	"github.com/scimbridge/scimbridge/connectors/secureaccess"
	"github.com/scimbridge/scimbridge/connectors/secureauth"
	"github.com/scimbridge/scimbridge/connectors/webex"
)

// registrations lists every connector type this build knows.
func registrations() []connectors.Registration {
	return []connectors.Registration{
		webex.Registration,
		scc.Registration,
		secureauth.Registration,
		secureaccess.Registration,
	}
}

// registration finds a connector type by name.
func registration(typ string) (connectors.Registration, bool) {
	for _, r := range registrations() {
		if r.Type == typ {
			return r, true
		}
	}
	return connectors.Registration{}, false
}
