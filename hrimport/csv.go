package hrimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// csvReader reads an HR export one record at a time: UTF-8 with or without
// a byte order mark, ',' or ';' as the delimiter (whichever the header
// line uses more, outside quotes), quoted fields with delimiters and line
// breaks, CRLF or LF. Nothing but the current record is held.
type csvReader struct {
	r      *csv.Reader
	header []string
	row    int // spreadsheet row of the last record read: the header is row 1
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func newCSVReader(in io.Reader) (*csvReader, error) {
	br := bufio.NewReaderSize(in, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(3)
	}
	delim, err := sniffDelimiter(br)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(br)
	r.Comma = delim
	r.FieldsPerRecord = -1 // a short row is reported per row, not fatal
	// A header of SCIM paths written by hand carries bare quotes
	// (emails[type eq "work"].value); data rows are read strictly, so a
	// broken quote is reported on its row instead of swallowing the next.
	r.LazyQuotes = true
	header, err := r.Read()
	r.LazyQuotes = false
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("header row: %w", err)
	}
	for i := range header {
		header[i] = cleanCell(header[i])
	}
	return &csvReader{r: r, header: header, row: 1}, nil
}

// sniffDelimiter looks at the header line (the first line; headers carry
// no line breaks) and picks ';' when it has more of them than ','.
func sniffDelimiter(br *bufio.Reader) (rune, error) {
	var line []byte
	for n := 4096; ; n *= 2 {
		b, err := br.Peek(n)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i]
			break
		}
		if err != nil { // EOF or buffer full: the whole peek is the line
			line = b
			if len(b) == 0 && !errors.Is(err, io.EOF) {
				return 0, err
			}
			break
		}
	}
	commas, semis, quoted := 0, 0, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ',':
			commas++
		case c == ';':
			semis++
		}
	}
	if semis > commas {
		return ';', nil
	}
	return ',', nil
}

// next returns the next record and its spreadsheet row number. A record
// the CSV syntax rejects (a stray quote) comes back as an error with its
// row; reading can go on after it. An error with row 0 is the file's
// (it could not be read) and ends the reading.
func (c *csvReader) next() ([]string, int, error) {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, 0, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && !errors.Is(pe.Err, io.ErrUnexpectedEOF) && pe.Err != nil {
			c.row++
			return nil, c.row, fmt.Errorf("line %d: %v", pe.Line, pe.Err)
		}
		return nil, 0, err // reading failed: not a row's fault, and not recoverable
	}
	c.row++
	return rec, c.row, nil
}

// cleanCell trims spaces, tabs and no-break spaces (Excel and HR systems
// pad cells) from both ends.
func cleanCell(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\u00a0' || r == '\r' || r == '\n' || r == '\ufeff'
	})
}

// blank reports whether every cell is empty (Excel leaves ";;;;" lines).
func blank(rec []string) bool {
	for _, s := range rec {
		if cleanCell(s) != "" {
			return false
		}
	}
	return true
}
