package hrimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
	"unicode/utf8"
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
	if files, err := os.ReadDir("testdata/messy"); err == nil {
		for _, e := range files {
			if data, err := os.ReadFile("testdata/messy/" + e.Name()); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add(utf16le("Mail\tStatus\r\na@x.io\t1\r\n\"b@x.io\"\t\"Terminated\r\n\"\r\n"))
	f.Add(append(utf16be("Mail,Status\n"), 0xD8, 0x00)) // a lone surrogate, cut
	f.Add([]byte("Mail;Status\rzo\xeb@x.io;Active\r\"x\ry\";0\r"))
	f.Add([]byte("sep=;\r\nMail;Status\r\nmailto:a@x.io;1\r\n"))
	f.Add([]byte("Mail,Status,Teams\r\na@x.io,1,A\r\nb@x.io,1"))
	f.Add([]byte("Report, Q1\n\n\"Mail\n\";Status\nTotal: 3;\n"))
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

// FuzzDecodeFile: the decoders (UTF-16, Windows-1252, lone CR) give the
// same text whatever the size of the reads, and UTF-16 or Windows-1252
// input always comes out as valid UTF-8.
func FuzzDecodeFile(f *testing.F) {
	f.Add(utf16le("a\tb\r\nZoë 😀\r\n"))
	f.Add(utf16be("a,b\n1,Zoë\n"))
	f.Add(append(utf16le("a"), 0x3D, 0xD8)) // a high surrogate, then the end
	f.Add([]byte("a;b\r\nZo\xeb;\x80\x81\r\n"))
	f.Add([]byte("a,b\r1,\"x\ry\"\r\n3,4\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		whole, err1 := readDecoded(data, 1<<20)
		small, err2 := readDecoded(data, 1)
		if (err1 == nil) != (err2 == nil) || whole != small {
			t.Fatalf("reads of 1 byte differ: %q (%v) vs %q (%v)", small, err2, whole, err1)
		}
		if err1 != nil {
			return
		}
		if (bytes.HasPrefix(data, utf16LEBOM) || bytes.HasPrefix(data, utf16BEBOM) || windows1252(data)) && !utf8.ValidString(whole) {
			t.Fatalf("decoded text is not UTF-8: %q", whole)
		}
	})
}

func readDecoded(data []byte, chunk int) (string, error) {
	r, err := decodeFile(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	var out []byte
	buf := make([]byte, chunk)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return string(out), nil
		}
		if err != nil {
			return string(out), err
		}
	}
}
