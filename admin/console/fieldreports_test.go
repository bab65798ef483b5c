package console

import (
	"fmt"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/admin"
)

// The lookup page keeps the latest check of each resource, at most
// maxFieldReports: a new resource's check pushes out the oldest, a
// resource checked again replaces its own.
func TestFieldReportsBounded(t *testing.T) {
	var f fieldReports
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range maxFieldReports {
		f.put(admin.FieldReport{Type: "User", ID: fmt.Sprint("u", i), At: t0.Add(time.Duration(i) * time.Second)})
	}
	f.put(admin.FieldReport{Type: "User", ID: "u0", At: t0.Add(time.Hour), Repair: true}) // u0 again: now the newest
	f.put(admin.FieldReport{Type: "Group", ID: "g1", At: t0.Add(2 * time.Hour)})          // pushes out u1, the oldest
	if r := f.get("User", "u0"); r == nil || !r.Repair {
		t.Errorf("u0's latest check: %+v", r)
	}
	if f.get("User", "u1") != nil || f.get("Group", "g1") == nil || f.get("User", "u2") == nil {
		t.Error("the oldest check was not the one pushed out")
	}
	if len(f.byID) != maxFieldReports {
		t.Errorf("%d checks kept, want %d", len(f.byID), maxFieldReports)
	}
	if f.get("Group", "u0") != nil {
		t.Error("a user's check shown for a group with the same id")
	}
}
