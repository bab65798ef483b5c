package hrimport

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Outcome is what happened to one row (or, for deactivations, one user).
type Outcome struct {
	Row     int    // spreadsheet row (the header is row 1); 0 for a deactivation
	Key     string // the row's matching key
	Action  string // create, update, unchanged, rejected, failed, deactivate, links
	Column  string
	Reason  string
	Changes []Change
}

// emit prints an outcome (all of them in a dry run; otherwise only
// problems) and writes it to the report.
func (im *importer) emit(o Outcome) {
	im.emitMu.Lock()
	defer im.emitMu.Unlock()
	if im.report != nil {
		im.report.write(o)
	}
	if im.opts.DryRun || o.Action == "rejected" || o.Action == "failed" {
		fmt.Fprintln(im.opts.Out, o.line())
	}
}

func (o Outcome) line() string {
	var b strings.Builder
	if o.Row > 0 {
		fmt.Fprintf(&b, "row %d: ", o.Row)
	}
	fmt.Fprintf(&b, "%s %s", o.Action, o.Key)
	if o.Column != "" {
		fmt.Fprintf(&b, " [%s]", o.Column)
	}
	if o.Reason != "" {
		fmt.Fprintf(&b, ": %s", o.Reason)
	}
	for _, c := range o.Changes {
		fmt.Fprintf(&b, "\n    %s", c)
	}
	return b.String()
}

// reportWriter writes --report FILE.csv: one line per outcome.
type reportWriter struct {
	w *csv.Writer
}

func newReportWriter(w io.Writer) *reportWriter {
	rw := &reportWriter{w: csv.NewWriter(w)}
	_ = rw.w.Write([]string{"row", "key", "outcome", "column", "reason", "changes"})
	return rw
}

func (r *reportWriter) write(o Outcome) {
	row := ""
	if o.Row > 0 {
		row = strconv.Itoa(o.Row)
	}
	var changes []string
	for _, c := range o.Changes {
		changes = append(changes, c.String())
	}
	_ = r.w.Write([]string{row, inert(o.Key), o.Action, inert(o.Column), inert(o.Reason), inert(strings.Join(changes, "; "))})
}

// inert keeps a spreadsheet from reading a cell as a formula: the report
// repeats the HR file's values, and "=HYPERLINK(...)" or "@SUM(...)" must
// stay text when the report is opened in Excel (OWASP's CSV injection
// advice: a leading apostrophe, which Excel shows as nothing). The report
// is read by people, never imported, so the mark changes no data.
func inert(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (r *reportWriter) flush() error {
	r.w.Flush()
	return r.w.Error()
}

// Progress follows the writes: Start with the number planned, Add as
// /Bulk batches answer.
type Progress interface {
	Start(total int)
	Add(n int)
	Finish()
}
