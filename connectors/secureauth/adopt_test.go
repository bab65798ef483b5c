package secureauth

import (
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureauth/secureauthsim"
)

// TestCreateLandedThenRenamed: the create lands, the bridge dies before
// recording it, the user is renamed in SCIM. SecureAuth keys users by
// userId and cannot rename: the retry finds the account its earlier
// entry wrote and continues as a rename, so the person ends with one
// active account, the new one, and the old one deprovisioned.
func TestCreateLandedThenRenamed(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	first := createUser("jdoe", "firstName", "John")
	f.must(first) // its answer is lost with the process
	retry := connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpUpsert, MayExist: true,
		Fields: userFieldsOf("john.doe", "firstName", "John"), Earlier: []map[string]any{first.Fields}}
	if r := f.must(retry); r.TargetID != "john.doe" {
		t.Errorf("target id %q, want john.doe", r.TargetID)
	}
	active := 0
	for _, u := range f.sim.Users() {
		if u.Active {
			active++
			if u.UserName != "john.doe" {
				t.Errorf("%s still active", u.UserName)
			}
		}
	}
	if active != 1 {
		t.Errorf("%d active accounts, want 1: %+v", active, f.sim.Users())
	}
}
