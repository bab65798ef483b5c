package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// TestApplyUpdate: a prepared update moves the indexes and stores the
// document exactly as UpdateResource does; prepared against bytes that
// are no longer stored (another write got in between), the indexes move
// from what is stored now; a userName another user holds is refused and
// nothing changes.
func TestApplyUpdate(t *testing.T) {
	const (
		v1 = `{"id":"u1","userName":"ada","externalId":"E1","emails":[{"type":"work","value":"ada@one.example"}]}`
		v2 = `{"id":"u1","userName":"ada","externalId":"E2","emails":[{"type":"work","value":"ada@two.example"}]}`
		v3 = `{"id":"u1","userName":"Ada.L","externalId":"E3","emails":[{"type":"work","value":"ada@three.example"}]}`
		bo = `{"id":"u2","userName":"bob","emails":[]}`
	)
	type want struct {
		doc, userName, externalID, email string   // the stored doc and the index keys that must find u1
		gone                             []string // externalIds and emails that must find nobody
	}
	tests := []struct {
		name     string
		stored   string // what is stored when the update is applied
		prepared string // what the update was prepared against
		doc      string
		wantErr  error
		want     want
	}{
		{"prepared against the stored bytes", v1, v1, v2, nil,
			want{v2, "ADA", "E2", "ada@two.example", []string{"E1", "ada@one.example"}}},
		{"another write got in between", v2, v1, v3, nil,
			want{v3, "ada.l", "E3", "ada@three.example", []string{"E1", "E2", "ada@one.example", "ada@two.example"}}},
		{"userName held by another user", v1, v1, `{"id":"u1","userName":"BOB"}`, ErrConflict,
			want{v1, "ada", "E1", "ada@one.example", nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			err := db.Update(func(tx *Tx) error {
				if _, err := tx.CreateResource(TypeUser, "u2", []byte(bo)); err != nil {
					return err
				}
				if _, err := tx.CreateResource(TypeUser, "u1", []byte(v1)); err != nil {
					return err
				}
				if tc.stored != v1 {
					return tx.UpdateResource(TypeUser, "u1", []byte(tc.stored))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			u := PrepareUpdate(TypeUser, "u1", []byte(tc.prepared), []byte(tc.doc))
			err = db.Update(func(tx *Tx) error { return tx.ApplyUpdate(u) })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ApplyUpdate: err = %v, want %v", err, tc.wantErr)
			}
			db.View(func(tx *Tx) error {
				doc, _, err := tx.GetResource(TypeUser, "u1")
				if err != nil || string(doc) != tc.want.doc {
					t.Errorf("stored %s (%v), want %s", doc, err, tc.want.doc)
				}
				if id := tx.LookupUserName(tc.want.userName); id != "u1" {
					t.Errorf("userName %q finds %q", tc.want.userName, id)
				}
				if ids := tx.LookupIndex(IndexExternalID, TypeUser, tc.want.externalID); !slices.Equal(ids, []string{"u1"}) {
					t.Errorf("externalId %q finds %v", tc.want.externalID, ids)
				}
				if ids := tx.LookupIndex(IndexEmail, TypeUser, Fold(tc.want.email)); !slices.Equal(ids, []string{"u1"}) {
					t.Errorf("email %q finds %v", tc.want.email, ids)
				}
				for _, v := range tc.want.gone {
					if ids := append(tx.LookupIndex(IndexExternalID, TypeUser, v), tx.LookupIndex(IndexEmail, TypeUser, Fold(v))...); len(ids) > 0 {
						t.Errorf("stale index entry %q finds %v", v, ids)
					}
				}
				return nil
			})
			db.View(func(tx *Tx) error {
				if problems, _ := tx.Verify(10); len(problems) > 0 {
					t.Errorf("Verify: %v", problems)
				}
				return nil
			})
		})
	}
}

// BenchmarkUpdateInCommit: the CPU a user PATCH's document write spends
// inside the write transaction (which runs writes one after another):
// UpdateResource scans both documents for their index values there,
// ApplyUpdate gets them prepared. 256 users, each write changes the work
// email (as Entra's PATCH in scim's benchmarks); the transaction is rolled
// back, so no flush is measured.
//
//	go test ./store -run '^$' -bench UpdateInCommit -count 6
func BenchmarkUpdateInCommit(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	doc := func(i, v int) []byte {
		return fmt.Appendf(nil, `{"active":true,"displayName":"New Name %d","emails":[{"primary":true,"type":"work","value":"new%d@example.com"}],"externalId":"p%d@example.com","id":"u%d","locale":"en-US","meta":{"created":"2026-12-05T17:32:13.750Z","lastModified":"2026-12-05T17:32:13.750Z","resourceType":"User","version":"W/\"%d\""},"name":{"familyName":"Doe","givenName":"Jane"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"p%d@example.com"}`, v, v, i, i, v, i)
	}
	const users = 256
	err = db.Update(func(tx *Tx) error {
		for i := range users {
			if _, err := tx.CreateResource(TypeUser, fmt.Sprint("u", i), doc(i, 0)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"UpdateResource", "ApplyUpdate"} {
		b.Run(mode, func(b *testing.B) {
			ups := make([]*Update, b.N)
			for n := range ups {
				i := n % users
				prev, next := doc(i, n/users), doc(i, n/users+1)
				ups[n] = PrepareUpdate(TypeUser, fmt.Sprint("u", i), prev, next)
			}
			errDone := errors.New("rolled back")
			b.ResetTimer()
			err := db.Update(func(tx *Tx) error {
				for _, u := range ups {
					var err error
					if mode == "ApplyUpdate" {
						err = tx.ApplyUpdate(u)
					} else {
						err = tx.UpdateResource(TypeUser, u.id, u.doc)
					}
					if err != nil {
						return err
					}
				}
				return errDone
			})
			b.StopTimer()
			if err != errDone {
				b.Fatal(err)
			}
		})
	}
}
