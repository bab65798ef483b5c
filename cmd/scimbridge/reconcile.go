package main

import (
	"fmt"

	"github.com/scimbridge/scimbridge/store"
)

// reconcileKey is where each connector's state keeps the fingerprint of
// the mapping and scope its shadow was last reconciled with.
const reconcileKey = "reconciled-with"

// staleConnectors returns the connectors whose mapping or scope (or the
// store layout) changed since their last reconcile, or that never had
// one. Every SCIM write keeps a connector's shadow current through the
// outbox, so only these make the start-up walk over every stored
// resource worth its cost (seconds and the write lock at 100,000 users).
func staleConnectors(db *store.DB, fingerprints map[string]string) ([]string, error) {
	var stale []string
	for name, fp := range fingerprints {
		got, err := db.State(name).Get(reconcileKey)
		if err != nil {
			return nil, err
		}
		if string(got) != reconcileStamp(fp) {
			stale = append(stale, name)
		}
	}
	return stale, nil
}

// recordReconciled remembers that every connector is reconciled with its
// current fingerprint.
func recordReconciled(db *store.DB, fingerprints map[string]string) error {
	for name, fp := range fingerprints {
		if err := db.State(name).Put(reconcileKey, []byte(reconcileStamp(fp))); err != nil {
			return err
		}
	}
	return nil
}

func reconcileStamp(fp string) string { return fmt.Sprintf("v%d:%s", store.SchemaVersion, fp) }
