package e2ekit

import (
	"net/http/httptest"
	"testing"

	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
)

func TestRoute(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/organizations/7d3f0c52-0000/users/ann@example.com": "PUT /v1/organizations/{id}/users/{id}",
		"/identity/scim/sim-org/v2/Bulk":                        "PUT /identity/scim/sim-org/v2/Bulk",
		"/":                                                     "PUT /",
	} {
		if got := Route(httptest.NewRequest("PUT", path, nil)); got != want {
			t.Errorf("Route(%s) = %q, want %q", path, got, want)
		}
	}
}

// The fingerprint changes with a user's field, membership or activity,
// and only then.
func TestFingerprintFollowsTheState(t *testing.T) {
	sim := sccsim.New(sccsim.Options{})
	empty := Fingerprint(sim)
	sim.AddUser("ann@example.com", "Ann", "Lee", "ACTIVE")
	one := Fingerprint(sim)
	if one == empty || Fingerprint(sim) != one {
		t.Fatalf("adding a user: %s -> %s (again %s)", empty, one, Fingerprint(sim))
	}
	g := sim.AddGroup("Eng")
	grouped := Fingerprint(sim)
	sim.AddGroupMember(g, sim.UserID("ann@example.com"))
	if member := Fingerprint(sim); member == grouped || grouped == one {
		t.Errorf("group and membership must each change the fingerprint")
	}
}
