package store_test

import (
	"path/filepath"
	"testing"

	"github.com/scimbridge/scimbridge/store"
	"github.com/scimbridge/scimbridge/store/storetest"
)

// The bbolt store passes the store's conformance suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *store.DB {
		db, err := store.Open(filepath.Join(t.TempDir(), "scimbridge.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
