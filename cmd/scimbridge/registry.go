package main

import "github.com/scimbridge/scimbridge/connectors"

// registrations lists every connector type this build knows.
func registrations() []connectors.Registration {
	return nil
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
