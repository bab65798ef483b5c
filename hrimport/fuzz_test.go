package hrimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzReadAndMap feeds arbitrary files through the reader, the column
// mapping and row parsing: nothing panics, a row is either rejected with
// its row number and a reason or accepted whole, and an accepted row's
// POST body holds exactly its values (nothing half-applied).
func FuzzReadAndMap(f *testing.F) {
	if data, err := os.ReadFile("testdata/workday.csv"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("userName,name.givenName,emails[type eq \"work\"].value,active,groups,manager\na@x.io,A,a@x.io,yes,G1;G2,b@x.io\n"))
	f.Add([]byte("\xef\xbb\xbfMail;Status;urn:acme:2.0:User:badge;urn:acme:2.0:User:startDate\r\n\"a@x.io\";Terminated;7;2020-01-01\r\n\"b\"\"@x.io\";1;x;\r\n"))
	f.Add([]byte("Mail,Status\n\"unterminated,1\n"))
	cfg := workdayConfig(f)
	cfg.Columns["Mail"] = Targets{"userName", `emails[type eq "work"].value`}
	cfg.Columns["Status"] = Targets{"active"}
	rs := testSchema()
	f.Fuzz(func(t *testing.T, data []byte) {
		cr, err := newCSVReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		m, err := newMapping(cr.header, cfg, mustPath("userName"), rs)
		if err != nil {
			return
		}
		attrCols := 0
		for _, c := range m.columns {
			if c.kind == kindAttr {
				attrCols++
			}
		}
		last := 1
		for {
			rec, num, err := cr.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if num <= last {
				t.Fatalf("row numbers go backwards: %d after %d", num, last)
			}
			last = num
			if err != nil {
				continue
			}
			r, rerr := m.parseRow(rec, num)
			if rerr != nil {
				if rerr.Row != num || rerr.Reason == "" {
					t.Fatalf("rejection without row or reason: %+v", rerr)
				}
				continue
			}
			if r.key == "" || len(r.cells) != attrCols {
				t.Fatalf("accepted row %d is partial: key %q, %d of %d cells", num, r.key, len(r.cells), attrCols)
			}
			built, _, err := newUser(r, rs, "hr")
			if err != nil {
				continue // rejected whole by decide
			}
			var doc map[string]any // as the server reads it
			raw, err := json.Marshal(built)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			for _, cv := range r.cells {
				got := cv.col.path.Get(doc, rs)
				if cv.value == nil {
					if len(got) != 0 {
						t.Fatalf("row %d: empty %s present in the body: %v", num, cv.col.pathString, got)
					}
					continue
				}
				if len(got) == 0 || !sameValue(got[0], cv.value, cv.col.attr.Type) {
					t.Fatalf("row %d: body has %s = %v, row says %#v", num, cv.col.pathString, got, cv.value)
				}
			}
		}
	})
}
