package activitylog

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/store"
)

// TestPreparedWriteMatchesSCIMWrite: a write's event prepared ahead of its
// transaction and appended later is stored exactly as SCIMWrite stores
// it (data, names, time taken at append), and a prepared delete
// schedules the erasure as SCIMWrite does.
func TestPreparedWriteMatchesSCIMWrite(t *testing.T) {
	alice := map[string]any{"userName": "alice@example.com", "displayName": "Alice", "password": "pw",
		"emails": []any{map[string]any{"value": "alice@example.com", "type": "work"}}}
	renamed := map[string]any{"userName": "alice.b@example.com", "displayName": "Alice B",
		"emails": []any{map[string]any{"value": "alice.b@example.com", "type": "work"}}}
	cases := []struct {
		name          string
		before, after map[string]any
	}{
		{"create", nil, alice},
		{"rename", alice, renamed},
		{"no change", alice, alice},
		{"delete", alice, nil},
	}
	type stored struct {
		data  []byte
		time  time.Time
		names []string
		erase int
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got [2]stored
			for i, prepared := range []bool{false, true} {
				l, db, c := newLog(t, Options{})
				w := Write{Client: "token #1", RequestID: "r1", Method: "PATCH", Status: 200, Type: store.TypeUser, ID: "u1", Before: tc.before, After: tc.after}
				pw, err := l.PrepareSCIMWrite(w)
				if err != nil {
					t.Fatal(err)
				}
				c.now = c.now.Add(time.Minute) // the event's time is the append's
				if err := db.Update(func(tx *store.Tx) error {
					if prepared {
						return pw.Append(tx)
					}
					return l.SCIMWrite(tx, w)
				}); err != nil {
					t.Fatal(err)
				}
				_ = db.View(func(tx *store.Tx) error {
					_ = tx.ActivityOf(store.TypeUser, "u1", 0, func(r store.ActivityRecord) bool {
						got[i].data, got[i].time = bytes.Clone(r.Data), r.Time
						return false
					})
					for _, n := range []string{"alice@example.com", "alice.b@example.com"} {
						if len(tx.ActivityResources(n, 10)) > 0 {
							got[i].names = append(got[i].names, n)
						}
					}
					got[i].erase = len(tx.DueActivityErasures(c.now.Add(time.Hour), 10))
					return nil
				})
				if !got[i].time.Equal(c.now) {
					t.Errorf("prepared=%v: event time %v, want the append's %v", prepared, got[i].time, c.now)
				}
			}
			if !bytes.Equal(got[0].data, got[1].data) || !slices.Equal(got[0].names, got[1].names) || got[0].erase != got[1].erase {
				t.Errorf("SCIMWrite stored %q names %q erasures %d; prepared stored %q names %q erasures %d",
					got[0].data, got[0].names, got[0].erase, got[1].data, got[1].names, got[1].erase)
			}
			if len(got[0].data) == 0 || bytes.Contains(got[0].data, []byte("pw")) {
				t.Errorf("event %q: missing, or holds the password", got[0].data)
			}
			if tc.name == "rename" && !slices.Equal(got[1].names, []string{"alice@example.com"}) {
				t.Errorf("rename: names %q, want the old one", got[1].names)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.after == nil]; got[1].erase != want {
				t.Errorf("erasures scheduled %d, want %d", got[1].erase, want)
			}
		})
	}
}
