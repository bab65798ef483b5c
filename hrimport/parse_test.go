package hrimport

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/scimpath"
)

// readAll reads a file with the CSV reader: header, then each record (or
// "ERR" for an unreadable one) with its row number.
func readAll(t *testing.T, data string) (header []string, rows [][]string, nums []int) {
	t.Helper()
	cr, err := newCSVReader(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, num, err := cr.next()
		if errors.Is(err, io.EOF) {
			return cr.header, rows, nums
		}
		if err != nil {
			rec = []string{"ERR"}
		}
		rows, nums = append(rows, rec), append(nums, num)
	}
}

func TestCSVReader(t *testing.T) {
	for _, c := range []struct {
		name, data string
		header     []string
		rows       [][]string
		nums       []int
	}{
		{"comma LF", "a,b\n1,2\n", []string{"a", "b"}, [][]string{{"1", "2"}}, []int{2}},
		{"BOM semicolon CRLF", "\xef\xbb\xbfa;b\r\n1;2\r\n3;4", []string{"a", "b"}, [][]string{{"1", "2"}, {"3", "4"}}, []int{2, 3}},
		{"semicolon with commas in cells", "name;title\nO'Neil, Ana;\"Head; R&D\"\n", []string{"name", "title"}, [][]string{{"O'Neil, Ana", "Head; R&D"}}, []int{2}},
		{"comma with quoted semicolons", "a,b\n\"x;y;z\",2\n", []string{"a", "b"}, [][]string{{"x;y;z", "2"}}, []int{2}},
		{"quoted line break counts as one row", "a,b\n\"line1\r\nline2\",x\ny,z\n", []string{"a", "b"}, [][]string{{"line1\nline2", "x"}, {"y", "z"}}, []int{2, 3}},
		{"header of SCIM paths with bare quotes", "userName,emails[type eq \"work\"].value\nj@x.io,j@x.io\n",
			[]string{"userName", `emails[type eq "work"].value`}, [][]string{{"j@x.io", "j@x.io"}}, []int{2}},
		{"Excel-quoted header", "userName;\"emails[type eq \"\"work\"\"].value\"\r\nj@x.io;j@x.io\r\n",
			[]string{"userName", `emails[type eq "work"].value`}, [][]string{{"j@x.io", "j@x.io"}}, []int{2}},
		{"bare quote in a row: that row only", "a,b\n1,x\"y\n3,4\n", []string{"a", "b"}, [][]string{{"ERR"}, {"3", "4"}}, []int{2, 3}},
		{"padded header", " a\u00a0, b \n1,2\n", []string{"a", "b"}, [][]string{{"1", "2"}}, []int{2}},
		{"diacritics", "name\nZoë Müller\nJosé García-Pérez\n", []string{"name"}, [][]string{{"Zoë Müller"}, {"José García-Pérez"}}, []int{2, 3}},
		{"header only", "a,b\n", []string{"a", "b"}, nil, nil},
		{"space before a quoted cell (hand-edited)", "a, b,c\nx, \"Smith, John\",  \"q\"\"\"\ny,  ,\nz,1,  \nw, \"2\",3\n", []string{"a", "b", "c"}, [][]string{{"x", "Smith, John", "q\""}, {"y", "", ""}, {"z", "1", ""}, {"w", "2", "3"}}, []int{2, 3, 4, 5}},
		{"tab-separated, empty cells kept", "a\tb\tc\n\t\tz\n", []string{"a", "b", "c"}, [][]string{{"", "", "z"}}, []int{2}},
		{"tab-separated", "a\tb\n1\t2,3;4\n", []string{"a", "b"}, [][]string{{"1", "2,3;4"}}, []int{2}},
		{"lone CR line ends (CSV Macintosh)", "a,b\r1,\"x\ry\"\r3,4\r", []string{"a", "b"}, [][]string{{"1", "x\ny"}, {"3", "4"}}, []int{2, 3}},
		{"UTF-16LE with BOM, tabs (Excel Unicode Text)", string(utf16le("a\tb\r\n1\tZoë 😀\r\n")), []string{"a", "b"}, [][]string{{"1", "Zoë 😀"}}, []int{2}},
		{"UTF-16BE with BOM", string(utf16be("a,b\n1,Zoë\n")), []string{"a", "b"}, [][]string{{"1", "Zoë"}}, []int{2}},
		{"Windows-1252", "a;b\r\nZo\xeb M\xfcller;O\x92Neil \x80\r\n", []string{"a", "b"}, [][]string{{"Zoë Müller", "O’Neil €"}}, []int{2}},
		{"UTF-8 with one broken byte stays UTF-8", "a\nZoë\nx\xffy\n", []string{"a"}, [][]string{{"Zoë"}, {"x\xffy"}}, []int{2, 3}},
		{"title with a comma above a ; table", "Headcount, Q1\na;b;c\n1;2;3\n", []string{"Headcount, Q1"}, [][]string{{"a", "b", "c"}, {"1", "2", "3"}}, []int{2, 3}},
		{"commas in cells of a ; table", "a;b\nSmith, John, Jr.;x\nDoe;y\n", []string{"a", "b"}, [][]string{{"Smith, John, Jr.", "x"}, {"Doe", "y"}}, []int{2, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, rows, nums := readAll(t, c.data)
			if !reflect.DeepEqual(h, c.header) || !reflect.DeepEqual(rows, c.rows) || !reflect.DeepEqual(nums, c.nums) {
				t.Errorf("got %q %q %v, want %q %q %v", h, rows, nums, c.header, c.rows, c.nums)
			}
		})
	}
	for _, c := range []struct{ name, data, want string }{
		{"empty", "", "the file is empty"},
		{"BOM only", "\xef\xbb\xbf", "the file is empty"},
		{"blank lines only", "\n\r\n\n", "the file is empty"},
		{"xlsx", "PK\x03\x04\x14\x00rest", "Excel workbook (.xlsx)"},
		{"xls", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "Excel 97-2003 workbook (.xls)"},
		{"UTF-16 without BOM", "a\x00,\x00b\x00\n\x00", "NUL bytes"},
		{"PDF", "%PDF-1.7\n", "a PDF"},
	} {
		if _, err := newCSVReader(strings.NewReader(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func testSchema() *scimpath.ResourceSchema {
	rs := scimpath.CoreUser()
	rs = rs.WithExtension(scimpath.Schema{URN: provenanceUserURNPrefix, Attrs: []scimpath.Attr{{Name: provenanceAttr, Type: scimpath.TypeString}}})
	rs = rs.WithExtension(scimpath.Schema{URN: "urn:acme:2.0:User", Attrs: []scimpath.Attr{
		{Name: "startDate", Type: scimpath.TypeDateTime}, {Name: "badge", Type: scimpath.TypeInteger}, {Name: "remote", Type: scimpath.TypeBoolean}}})
	return &rs
}

func mustPath(s string) scimpath.Path {
	p, err := scimpath.ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

func TestMapping(t *testing.T) {
	cfg := Config{
		Columns: map[string]Targets{
			"employee id": {"externalId"},
			"Work Email":  {"userName", `emails[type eq "work"].value`},
			"Notes":       {"-"},
			"Boss":        {"manager"},
			"Teams":       {"groups"},
		},
		Transforms: map[string]string{"work email": "lower"},
	}
	// Headers as exports write them: another case, a doubled space, a
	// no-break space, a line break in a wrapped header cell.
	m, err := newMapping([]string{"Employee\u00a0ID", "WORK  EMAIL", "title", "Notes", "Shoe Size", "Boss", "Teams", "urn:acme:2.0:User:badge"}, cfg, mustPath("userName"), testSchema())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range m.columns {
		got = append(got, c.header+"="+c.pathString)
	}
	want := []string{"Employee\u00a0ID=externalId", "WORK  EMAIL=userName", `WORK  EMAIL=emails[type eq "work"].value`, "title=title", "Boss=manager", "Teams=groups", "urn:acme:2.0:User:badge=urn:acme:2.0:User:badge"}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(m.ignored, []string{"Notes", "Shoe Size"}) {
		t.Errorf("columns %q ignored %q", got, m.ignored)
	}
	if m.key == nil || m.key.pathString != "userName" || m.groups == nil || m.manager == nil || len(m.key.transforms) != 1 {
		t.Errorf("key %+v groups %v manager %v", m.key, m.groups, m.manager)
	}

	for _, c := range []struct {
		name   string
		header []string
		cols   map[string]Targets
		match  string
		want   string
	}{
		{"no key column", []string{"title"}, nil, "userName", "no column holds the matching attribute userName"},
		{"mapped to nothing real", []string{"X"}, map[string]Targets{"X": {"shoeSize"}}, "userName", `maps it to "shoeSize"`},
		{"read-only", []string{"userName", "id"}, nil, "userName", "id is read-only"},
		{"complex", []string{"userName", "name"}, nil, "userName", "complex attribute"},
		{"multi-valued without a filter", []string{"userName", "emails.value"}, nil, "userName", "multi-valued"},
		{"two columns, one attribute", []string{"userName", "Login"}, map[string]Targets{"Login": {"userName"}}, "userName", `both set userName`},
		{"provenance is the importer's", []string{"userName", provenanceUserURNPrefix + ":managedBy"}, nil, "userName", "set by the importer"},
		{"password", []string{"userName", "password"}, nil, "userName", "passwords are not imported"},
		{"match on externalId", []string{"userName"}, nil, "externalId", "matching attribute externalId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newMapping(c.header, Config{Columns: c.cols}, mustPath(c.match), testSchema())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestParseRow(t *testing.T) {
	cfg := Config{Columns: map[string]Targets{"Status": {"active"}, "Mail": {"userName", `emails[type eq "work"].value`}, "Start": {"urn:acme:2.0:User:startDate"}, "Teams": {"groups"}, "Manager": {"manager"}},
		Transforms: map[string]string{"Mail": "lower", "Start": "date(02.01.2006)"}}
	header := []string{"Mail", "name.givenName", "Status", "Start", "urn:acme:2.0:User:badge", "urn:acme:2.0:User:remote", "Teams", "Manager"}
	m, err := newMapping(header, cfg, mustPath("userName"), testSchema())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		rec    []string
		values map[string]any // path -> value; nil entry = removed
		groups []string
		mgr    string
		errCol string
		errHas string
	}{
		{"all good", []string{" Zoe@X.io ", "Zoë", "Terminated", "01.03.2019", "42", "Yes", "A; B ;;a", "Boss@X.io"},
			map[string]any{"userName": "zoe@x.io", `emails[type eq "work"].value`: "zoe@x.io", "name.givenName": "Zoë", "active": false,
				"urn:acme:2.0:User:startDate": "2019-03-01T00:00:00Z", "urn:acme:2.0:User:badge": int64(42), "urn:acme:2.0:User:remote": true},
			[]string{"A", "B"}, "boss@x.io", "", ""},
		{"empty cells remove", []string{"a@x.io", "", "", "", "", "", "", "b@x.io"},
			map[string]any{"userName": "a@x.io", `emails[type eq "work"].value`: "a@x.io", "name.givenName": nil, "active": nil,
				"urn:acme:2.0:User:startDate": nil, "urn:acme:2.0:User:badge": nil, "urn:acme:2.0:User:remote": nil},
			[]string{}, "b@x.io", "", ""},
		{"short row is padded", []string{"a@x.io", "Ann"}, nil, nil, "", "", ""},
		{"one cell: a totals line", []string{"Total: 12", "", "", "", "", "", "", ""}, nil, nil, "", "", "only one cell is filled"},
		{"one cell, not the key: a note", []string{"", "", "", "", "", "", "Confidential"}, nil, nil, "", "", "only one cell is filled"},
		{"missing key", []string{"", "Ann", "1"}, nil, nil, "", "Mail (userName)", "missing matching key"},
		{"bad email", []string{"ann@", "Ann"}, nil, nil, "", `Mail (emails[type eq "work"].value)`, "not a valid email"},
		{"bad boolean", []string{"a@x.io", "Ann", "On Leave"}, nil, nil, "", "Status (active)", `"On Leave" is not a recognised boolean`},
		{"bad date", []string{"a@x.io", "Ann", "1", "2019-03-01"}, nil, nil, "", "Start (urn:acme:2.0:User:startDate)", "not a date like 02.01.2006"},
		{"bad integer", []string{"a@x.io", "Ann", "1", "", "4x"}, nil, nil, "", "urn:acme:2.0:User:badge", "not an integer"},
		{"own manager", []string{"a@x.io", "", "", "", "", "", "", "A@x.io"}, nil, nil, "", "Manager", "own manager"},
		{"NUL in a cell", []string{"a@x.io", "A\x00nn", "1"}, nil, nil, "", "name.givenName", "control character U+0000"},
		{"bell in a cell", []string{"a@x.io", "Ann", "1", "", "", "", "Sales\a"}, nil, nil, "", "Teams", "control character U+0007"},
		{"extra cells", []string{"a@x.io", "", "", "", "", "", "", "", "spill"}, nil, nil, "", "", "9 cells, but the header has 8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, rerr := m.parseRow(c.rec, 7)
			if c.errHas != "" {
				if rerr == nil || rerr.Row != 7 || rerr.Column != c.errCol || !strings.Contains(rerr.Reason, c.errHas) {
					t.Fatalf("error %+v, want column %q reason %q", rerr, c.errCol, c.errHas)
				}
				return
			}
			if rerr != nil {
				t.Fatal(rerr)
			}
			if c.values != nil {
				got := map[string]any{}
				for _, cv := range r.cells {
					got[cv.col.pathString] = cv.value
				}
				if !reflect.DeepEqual(got, c.values) {
					t.Errorf("values %#v\nwant %#v", got, c.values)
				}
				if !reflect.DeepEqual(r.groups, c.groups) || r.manager != c.mgr {
					t.Errorf("groups %q manager %q", r.groups, r.manager)
				}
			}
		})
	}
}

func TestBooleansAndDates(t *testing.T) {
	for in, want := range map[string]bool{"Active": true, "TERMINATED": false, "yes": true, "No": false, "1": true, "0": false, "true": true, "False": false, "y": true, "n": false,
		"Inactive": false, "TRUE": true,
		// Excel's TRUE/FALSE as a European-locale CSV writes them (;-files).
		"WAHR": true, "FALSCH": false, "VRAI": true, "FAUX": false, "VERDADERO": true, "FALSO": false, "WAAR": true, "ONWAAR": false, "VERO": true,
		"Ja": true, "Nein": false} {
		if got, err := parseBool(in); err != nil || got != want {
			t.Errorf("parseBool(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "maybe", "2", "si"} {
		if _, err := parseBool(bad); err == nil {
			t.Errorf("parseBool(%q) accepted", bad)
		}
	}
	for _, c := range []struct{ in, layout, want string }{
		{"2024-02-29", "", "2024-02-29T00:00:00Z"},
		{"2024-02-29T10:00:00+02:00", "", "2024-02-29T08:00:00Z"},
		{"29.02.2024", "02.01.2006", "2024-02-29T00:00:00Z"},
		{"02/29/2024", "01/02/2006", "2024-02-29T00:00:00Z"},
	} {
		if got, err := parseDate(c.in, c.layout); err != nil || got != c.want {
			t.Errorf("parseDate(%q, %q) = %q, %v", c.in, c.layout, got, err)
		}
	}
	for _, c := range []struct{ in, layout, want string }{
		{"45678", "", "2025-01-21T00:00:00Z"},           // Excel serial (a cell formatted General)
		{"45678.75", "", "2025-01-21T18:00:00Z"},        // with a time of day
		{"45678", "02.01.2006", "2025-01-21T00:00:00Z"}, // serials also beside a layout
		{"2026-01-02 09:30", "", "2026-01-02T09:30:00Z"},
		{"1/2/2026", "1/2/2006", "2026-01-02T00:00:00Z"},
		{"12/31/2026", "1/2/2006", "2026-12-31T00:00:00Z"},
	} {
		if got, err := parseDate(c.in, c.layout); err != nil || got != c.want {
			t.Errorf("parseDate(%q, %q) = %q, %v; want %q", c.in, c.layout, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, layout, want string }{
		{"03/04/2024", "", `"03/04/2024" is not an ISO 8601 date: give the file's layout in import.transforms, e.g. date(1/2/2006) (month first) or date(2/1/2006) (day first)`},
		{"1.2.2026", "", "date(2.1.2006)"},
		{"7", "", `"7" is not an ISO 8601 date`},           // too small to be a serial date
		{"123456", "", `"123456" is not an ISO 8601 date`}, // too large
	} {
		if _, err := parseDate(c.in, c.layout); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseDate(%q, %q) error %v, want %q", c.in, c.layout, err, c.want)
		}
	}
	for addr, ok := range map[string]bool{"a@b.io": true, "renée.d'arc@example.com": true, "a@b": false, "A <a@b.io>": false, "a b@c.io": false, "@b.io": false} {
		if (validEmail(addr) == nil) != ok {
			t.Errorf("validEmail(%q) = %v", addr, validEmail(addr))
		}
	}
}

func TestDiffUser(t *testing.T) {
	rs := testSchema()
	m, err := newMapping([]string{"userName", "title", `emails[type eq "work"].value`, "active", "urn:acme:2.0:User:startDate"}, Config{}, mustPath("userName"), rs)
	if err != nil {
		t.Fatal(err)
	}
	u := newServerUser(map[string]any{"id": "1",
		"userName": "a@x.io", "title": "Dev", "active": true,
		"emails":                []any{map[string]any{"type": "work", "value": "a@x.io"}, map[string]any{"type": "home", "value": "h@x.io"}},
		"urn:acme:2.0:User":     map[string]any{"startDate": "2019-03-01T00:00:00.000Z"},
		provenanceUserURNPrefix: map[string]any{"managedBy": "hr"},
	}, m, mustPath("userName"), rs)
	for _, c := range []struct {
		name    string
		rec     []string
		changes []string
		ops     []scimpath.Operation
	}{
		{"unchanged (same instant written differently)", []string{"a@x.io", "Dev", "a@x.io", "true", "2019-03-01"}, nil, nil},
		{"one field", []string{"a@x.io", "Lead", "a@x.io", "yes", "2019-03-01"},
			[]string{`title: "Dev" -> "Lead"`}, []scimpath.Operation{{Op: "replace", Path: "title", Value: "Lead"}}},
		{"emptied cells remove; the work email element goes whole", []string{"a@x.io", "", "", "false", "2019-03-01"},
			[]string{`title: "Dev" -> (none)`, `emails[type eq "work"].value: "a@x.io" -> (none)`, "active: true -> false"},
			[]scimpath.Operation{{Op: "remove", Path: "title"}, {Op: "remove", Path: `emails[type eq "work"]`}, {Op: "replace", Path: "active", Value: false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, rerr := m.parseRow(c.rec, 2)
			if rerr != nil {
				t.Fatal(rerr)
			}
			changes, ops := diffUser(u, r, rs, "hr")
			var got []string
			for _, ch := range changes {
				got = append(got, ch.String())
			}
			if !reflect.DeepEqual(got, c.changes) || !reflect.DeepEqual(ops, c.ops) {
				t.Errorf("changes %q ops %+v\nwant %q %+v", got, ops, c.changes, c.ops)
			}
		})
	}
	// A user the import did not mark yet is marked.
	r, _ := m.parseRow([]string{"a@x.io", "Dev", "a@x.io", "true", "2019-03-01"}, 2)
	if changes, _ := diffUser(u, r, rs, "workday"); len(changes) != 1 || changes[0].String() != provenanceUserURNPrefix+`:managedBy: "hr" -> "workday"` {
		t.Errorf("provenance change: %v", changes)
	}
}
