package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var actT0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// appendEvents appends n events to resources taking turns among users
// (user i: User/u<i>, stored, named n<i>), each third leaving a name.
func appendEvents(t *testing.T, db *DB, users, n int) {
	t.Helper()
	err := db.Update(func(tx *Tx) error {
		for i := range users {
			id := fmt.Sprint("u", i)
			if !tx.ResourceExists(TypeUser, id) {
				if _, err := tx.CreateResource(TypeUser, id, []byte(`{"id":"`+id+`","userName":"`+id+`"}`)); err != nil {
					return err
				}
				if _, err := tx.putUserName(id, id); err != nil {
					return err
				}
			}
		}
		first, _ := tx.ActivityStats()
		for i := range n {
			k := first + i
			r := &ActivityRecord{Time: actT0.Add(time.Duration(k) * time.Second), Type: TypeUser, ID: fmt.Sprint("u", k%users), Data: []byte(fmt.Sprint(`{"n":`, k, `}`))}
			if k%3 == 0 {
				r.Names = []string{fmt.Sprint(" Old", k, "@X "), fmt.Sprint("shared")}
			}
			if err := tx.AppendActivity(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// reads is everything a reader can ask of the log, as text.
func reads(t *testing.T, db *DB, users int) string {
	t.Helper()
	var b strings.Builder
	_ = db.View(func(tx *Tx) error {
		for i := range users {
			id := fmt.Sprint("u", i)
			fmt.Fprintf(&b, "%s has=%v:", id, tx.HasActivity(TypeUser, id))
			if err := tx.ActivityOf(TypeUser, id, 0, func(r ActivityRecord) bool { fmt.Fprintf(&b, " %d%s", r.Seq, r.Data); return true }); err != nil {
				t.Error(err)
			}
			b.WriteString(" | from 5:")
			_ = tx.ActivityOf(TypeUser, id, 5, func(r ActivityRecord) bool { fmt.Fprintf(&b, " %d", r.Seq); return true })
			b.WriteString("\n")
		}
		for _, name := range []string{"old0@x", "OLD3@x", "old9@X", "shared", "nobody"} {
			fmt.Fprintf(&b, "%s: %v\n", name, tx.ActivityResources(name, 10))
		}
		fmt.Fprintf(&b, "shared, 2: %v\n", tx.ActivityResources("shared", 2))
		b.WriteString("recent:")
		_ = tx.RecentActivity(0, func(r ActivityRecord) bool { fmt.Fprintf(&b, " %d/%s%s", r.Seq, r.ID, r.Data); return true })
		return nil
	})
	return b.String()
}

func verifyClean(t *testing.T, db *DB) {
	t.Helper()
	_ = db.View(func(tx *Tx) error {
		if p, _ := tx.Verify(20); len(p) > 0 {
			t.Errorf("Verify: %q", p)
		}
		return nil
	})
}

func unindexed(db *DB) (n int) {
	_ = db.View(func(tx *Tx) error { n = tx.UnindexedActivity(); return nil })
	return n
}

// Readers answer the same before, during and after indexing, whatever
// the chunk; a rolled-back indexing transaction (a crash before its
// commit) changes nothing, and running it twice in one transaction (a
// Batch retried) files nothing twice.
func TestIndexActivityDeferred(t *testing.T) {
	for _, chunk := range []int{1, 4, 7, 0} {
		t.Run(fmt.Sprint("chunk=", chunk), func(t *testing.T) {
			db, err := Open(filepath.Join(t.TempDir(), "db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			const users = 4
			appendEvents(t, db, users, 20)
			want := reads(t, db, users)
			if unindexed(db) != 20 {
				t.Fatalf("unindexed %d, want 20", unindexed(db))
			}
			for _, must := range []string{"old0@x: [[User u0]]", "OLD3@x: [[User u3]]", "shared: [[User u0] [User u1] [User u2] [User u3]]", "shared, 2: [[User u0] [User u1]]"} {
				if !strings.Contains(want, must) {
					t.Fatalf("the unindexed tail is not read: %q missing from\n%s", must, want)
				}
			}
			verifyClean(t, db)
			crash := errors.New("crash before commit")
			for unindexed(db) > 0 {
				before := unindexed(db)
				if err := db.Update(func(tx *Tx) error {
					if _, err := tx.IndexActivity(chunk); err != nil {
						return err
					}
					return crash
				}); !errors.Is(err, crash) {
					t.Fatal(err)
				}
				if unindexed(db) != before {
					t.Fatalf("a rolled-back indexing moved the watermark: %d → %d", before, unindexed(db))
				}
				if err := db.Update(func(tx *Tx) error {
					n, err := tx.IndexActivity(chunk)
					if err != nil || n == 0 {
						return fmt.Errorf("filed %d: %v", n, err)
					}
					if again, err := tx.IndexActivity(chunk); err != nil || (again != 0 && chunk == 0) {
						return fmt.Errorf("second run filed %d: %v", again, err)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				verifyClean(t, db)
				if got := reads(t, db, users); got != want {
					t.Fatalf("with %d unindexed:\n%s\nwant\n%s", unindexed(db), got, want)
				}
			}
			// More events after the index: a tail again.
			appendEvents(t, db, users, 5)
			verifyClean(t, db)
			if got := reads(t, db, users); !strings.Contains(got, " 25{\"n\":24}") {
				t.Fatalf("new tail not read:\n%s", got)
			}
		})
	}
}

// Pruning never deletes an unindexed event; erasure takes the tail's
// events too and drops the names they carry.
func TestPruneAndEraseWithUnindexedTail(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendEvents(t, db, 2, 10)
	_ = db.Update(func(tx *Tx) error { _, err := tx.IndexActivity(4); return err })
	var pruned int
	if err := db.Update(func(tx *Tx) error {
		pruned, err = tx.PruneActivity(actT0.Add(time.Hour), 0, 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if pruned != 4 {
		t.Fatalf("pruned %d, want the 4 indexed events only", pruned)
	}
	verifyClean(t, db)
	if err := db.Update(func(tx *Tx) error {
		_, err := tx.EraseActivity(ActivityErasure{Type: TypeUser, ID: "u0", Deleted: actT0}, func(d []byte) ([]byte, error) { return []byte(`{}`), nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *Tx) error { _, err := tx.IndexActivity(0); return err })
	verifyClean(t, db)
	got := reads(t, db, 2)
	for _, gone := range []string{"old0@x: [[User u0]]", "{\"n\":6}", "shared: [[User u0]"} {
		if strings.Contains(got, gone) {
			t.Errorf("erased but still there: %q in\n%s", gone, got)
		}
	}
	if !strings.Contains(got, "old9@X: [[User u1]]") || !strings.Contains(got, "OLD3@x: [[User u1]]") {
		t.Errorf("another resource's name went:\n%s", got)
	}
}

// A file written before deferred indexing has no watermark: it reads as
// fully indexed, and Open marks it so and stamps the new layout.
func TestActivityOldFileIsIndexed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, db, 3, 9)
	_ = db.Update(func(tx *Tx) error { _, err := tx.IndexActivity(0); return err })
	want := reads(t, db, 3)
	_ = db.Update(func(tx *Tx) error {
		m := tx.btx.Bucket(metaBucket)
		_ = m.Delete(actIndexedKey)
		return m.Put(schemaVersion, u64(1))
	})
	verifyClean(t, db)
	if got := reads(t, db, 3); got != want || unindexed(db) != 0 {
		t.Fatalf("old file (%d unindexed):\n%s\nwant\n%s", unindexed(db), got, want)
	}
	db.Close()
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *Tx) error {
		m := tx.btx.Bucket(metaBucket)
		if string(m.Get(actIndexedKey)) != string(u64(9)) || string(m.Get(schemaVersion)) != string(u64(SchemaVersion)) {
			t.Errorf("after Open: watermark %x, version %x", m.Get(actIndexedKey), m.Get(schemaVersion))
		}
		return nil
	})
	verifyClean(t, db)
}

// Verify names a watermark that disagrees with act/res.
func TestVerifyActivityWatermark(t *testing.T) {
	seed := func(t *testing.T, db *DB) {
		appendEvents(t, db, 2, 10)
		_ = db.Update(func(tx *Tx) error { _, err := tx.IndexActivity(6); return err })
	}
	setMark := func(seq uint64) func(tx *Tx) error {
		return func(tx *Tx) error { return tx.btx.Bucket(metaBucket).Put(actIndexedKey, u64(seq)) }
	}
	for _, tt := range []struct {
		name   string
		damage func(tx *Tx) error
		want   string
	}{
		{"consistent", func(*Tx) error { return nil }, ""},
		{"mark ahead of the index", setMark(8), "event 7 (User/u0) is missing from act/res"},
		{"mark behind the index", setMark(3), "event 5 (User/u0) is in act/res but after the index's watermark 3"},
		{"mark past the log", setMark(99), "activityIndexed is 99, past the last event logged (10)"},
		{"mark not a sequence", func(tx *Tx) error { return tx.btx.Bucket(metaBucket).Put(actIndexedKey, []byte{1}) }, "activityIndexed holds 1 bytes"},
		{"unindexed events pruned", func(tx *Tx) error {
			if err := setMark(0)(tx); err != nil {
				return err
			}
			rb := tx.btx.Bucket(actResBucket)
			c := rb.Cursor()
			var keys [][]byte
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				keys = append(keys, slices.Clone(k))
			}
			for _, k := range keys {
				_ = rb.Delete(k)
			}
			return tx.btx.Bucket(actLogBucket).Delete(seqKey(1))
		}, "events 1 to 1 were pruned before they were indexed"},
	} {
		t.Run(tt.name, func(t *testing.T) { damageAndVerify(t, seed, tt.damage, tt.want) })
	}
}

// BenchmarkActivityReadWithTail: what the unindexed tail costs a reader:
// one resource's timeline (ActivityOf, 10 events) and a past-name lookup
// (ActivityResources) with 20,000 events filed and a tail of 0, 512 (what
// wakes the indexer) or 4,096 events.
//
//	go test ./store -run '^$' -bench ActivityReadWithTail
func BenchmarkActivityReadWithTail(b *testing.B) {
	for _, tail := range []int{0, 512, 4096} {
		b.Run(fmt.Sprint("tail=", tail), func(b *testing.B) {
			db, err := Open(filepath.Join(b.TempDir(), "db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetNoSync(true)
			add := func(from, n int) {
				_ = db.Update(func(tx *Tx) error {
					for k := from; k < from+n; k++ {
						r := &ActivityRecord{Time: actT0, Type: TypeUser, ID: fmt.Sprint("u", k%2000), Data: []byte(`{"kind":"delivered","connector":"webex"}`)}
						if k%5 == 0 {
							r.Names = []string{fmt.Sprint("name", k, "@example.com")}
						}
						if err := tx.AppendActivity(r); err != nil {
							return err
						}
					}
					return nil
				})
			}
			add(0, 20000)
			_ = db.Update(func(tx *Tx) error { _, err := tx.IndexActivity(0); return err })
			add(20000, tail)
			b.ResetTimer()
			for i := range b.N {
				_ = db.View(func(tx *Tx) error {
					n := 0
					_ = tx.ActivityOf(TypeUser, fmt.Sprint("u", i%2000), 0, func(ActivityRecord) bool { n++; return n < 10 })
					tx.ActivityResources(fmt.Sprint("name", (i*5)%20000, "@example.com"), 10)
					return nil
				})
			}
		})
	}
}

// An act/log value round-trips, and no damaged one panics a reader.
func FuzzActivityValue(f *testing.F) {
	f.Add("User/u1", "Pat@Example.com\x00pat.w@example.com", []byte(`{"kind":"scim"}`), []byte{})
	f.Add("Group/g", "", []byte(`{}`), []byte{0x80, 0x05, 'a'})
	f.Fuzz(func(t *testing.T, key, names string, data, junk []byte) {
		var ns []string
		if names != "" {
			ns = strings.Split(names, "\x00")
		}
		if len(key) <= actKeyMax && strings.Contains(key, "/") {
			v := encodeActivity(actT0, key, ns, data)
			r, got, err := decodeActivityValue(7, v, true)
			if err != nil || r.Type+"/"+r.ID != key || string(r.Data) != string(data) || !slices.Equal(got, ns) || !r.Time.Equal(actT0) {
				t.Fatalf("round trip: %+v %q %v", r, got, err)
			}
			if !activityOf(v, []byte(key)) {
				t.Fatal("activityOf misses its own key")
			}
			for _, n := range ns {
				if f := indexName(n); f != "" && !activityNamed(v, f) {
					t.Fatalf("activityNamed misses %q", n)
				}
			}
		}
		_, _, _ = decodeActivityValue(1, junk, true)
		activityOf(junk, []byte(key))
		activityNamed(junk, "x")
	})
}
