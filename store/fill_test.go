package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Buckets whose keys are a sequence (the activity log, each connector's
// queue, the listing order) fill their pages: written a few records per
// commit, as SCIM writes come, bbolt's default would leave every page
// half empty.
func TestAppendOnlyBucketsFillTheirPages(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetNoSync(true)
	pad := strings.Repeat("x", 150)
	for i := range 3000 {
		err := db.Update(func(tx *Tx) error {
			id := fmt.Sprintf("u%05d", i)
			if _, err := tx.CreateResource(TypeUser, id, []byte(`{"id":"`+id+`","userName":"`+id+`"}`)); err != nil {
				return err
			}
			if err := tx.AppendActivity(&ActivityRecord{Time: time.Now(), Type: TypeUser, ID: id, Data: []byte(`{"event":"` + pad + `"}`)}); err != nil {
				return err
			}
			return tx.Append("webex", &Entry{Type: TypeUser, ID: id, Op: "upsert", Fields: map[string]any{"userName": id + pad}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	db.View(func(tx *Tx) error {
		for _, name := range []string{"act/log", "queue/webex", "order/User"} {
			st := tx.btx.Bucket([]byte(name)).Stats()
			fill := float64(st.LeafInuse) / float64(st.LeafAlloc)
			t.Logf("%s: %d leaf pages, %.0f%% full", name, st.LeafPageN, 100*fill)
			if fill < 0.75 { // bbolt's default leaves them 50% full
				t.Errorf("%s: leaf pages %.0f%% full, want at least 75%%", name, 100*fill)
			}
		}
		return nil
	})
}
