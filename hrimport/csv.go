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
// a byte order mark, UTF-16 with one, or Windows-1252 (decode.go); ',',
// ';' or tab as the delimiter (sniffed, outside quotes); quoted fields
// with delimiters and line breaks; LF, CRLF or lone CR line ends. Nothing
// but the current record is held.
type csvReader struct {
	r      *csv.Reader
	tail   *tailReader
	header []string
	row    int // spreadsheet row of the last record read (the header's, first)
}

func newCSVReader(in io.Reader) (*csvReader, error) {
	text, err := decodeFile(in)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(text, sniffSize)
	delim, ok := sepLine(br)
	if !ok {
		if delim, err = sniffDelimiter(br); err != nil {
			return nil, err
		}
	}
	tail := &tailReader{r: br}
	r := csv.NewReader(tail)
	r.Comma = delim
	r.FieldsPerRecord = -1 // a short row is reported per row, not fatal
	// `a, "Smith, John"` (a space after the delimiter, as people type)
	// is a quoted cell; cells are trimmed anyway. Not for tabs: the
	// reader would take an empty cell's tab for space.
	r.TrimLeadingSpace = delim != '\t'
	c := &csvReader{r: r, tail: tail}
	if err := c.nextHeader(); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: no header row")
		}
		return nil, err
	}
	return c, nil
}

// nextHeader reads the next record as the header: the first, or, when
// the first is a report's title line (Workday, SAP), a later one.
func (c *csvReader) nextHeader() error {
	// A header of SCIM paths written by hand carries bare quotes
	// (emails[type eq "work"].value); data rows are read strictly, so a
	// broken quote is reported on its row instead of swallowing the next.
	c.r.LazyQuotes = true
	header, err := c.r.Read()
	c.r.LazyQuotes = false
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	c.row++
	if err != nil {
		return fmt.Errorf("row %d (header): %w", c.row, err)
	}
	for i := range header {
		header[i] = cleanCell(header[i])
	}
	c.header = header
	return nil
}

// unterminated reports whether the record just read is the file's last
// and has no line end: a file cut off (an interrupted download or copy)
// ends so, and its last row's missing cells must not read as empty.
func (c *csvReader) unterminated() bool {
	return c.tail.eof && c.r.InputOffset() == c.tail.n && c.tail.last != '\n' && c.tail.last != '\r'
}

// tailReader remembers how many bytes it gave and the last one.
type tailReader struct {
	r    io.Reader
	n    int64
	last byte
	eof  bool
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.n += int64(n)
		t.last = p[n-1]
	}
	t.eof = t.eof || errors.Is(err, io.EOF)
	return n, err
}

// skipTo reads down to the header at row (found by an earlier pass).
func (c *csvReader) skipTo(row int) error {
	for c.row < row {
		if err := c.nextHeader(); err != nil {
			return fmt.Errorf("the file changed between its reads: %w", err)
		}
	}
	return nil
}

// sepLine reads Excel's "sep=;" first line, which names the delimiter;
// Excel hides it, so it is no row (the header stays row 1).
func sepLine(br *bufio.Reader) (rune, bool) {
	head, _ := br.Peek(8)
	line, _, found := bytes.Cut(head, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !found || len(line) != 5 || !bytes.EqualFold(line[:4], []byte("sep=")) || !strings.ContainsRune(",;\t|", rune(line[4])) {
		return 0, false
	}
	_, _ = br.Discard(bytes.IndexByte(head, '\n') + 1)
	return rune(line[4]), true
}

// sniffDelimiter picks ',', ';' or tab from the file's first lines
// (outside quotes): the one most lines hold the same number of times,
// as every row of a table does; a report title above the header
// ("Headcount, Q1") or a comma in a cell of a ';' file does not decide.
// Ties go to more cells, then to ','.
func sniffDelimiter(br *bufio.Reader) (rune, error) {
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, err
	}
	const maxLines = 20
	candidates := [...]byte{',', ';', '\t'}
	var perLine [len(candidates)][]int
	var count [len(candidates)]int
	quoted := false
	endLine := func() {
		for i := range count {
			perLine[i] = append(perLine[i], count[i])
			count[i] = 0
		}
	}
	for _, c := range head {
		if len(perLine[0]) == maxLines {
			break
		}
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n':
			endLine()
		default:
			for i, d := range candidates {
				if c == d {
					count[i]++
				}
			}
		}
	}
	endLine()
	pick, pickLines, pickCells := 0, 0, 0
	for i := range candidates {
		lines, cells := modeCount(perLine[i])
		if lines > pickLines || lines == pickLines && cells > pickCells {
			pick, pickLines, pickCells = i, lines, cells
		}
	}
	return rune(candidates[pick]), nil
}

// modeCount is the most frequent non-zero count (the larger on a tie) and
// how many lines have it.
func modeCount(counts []int) (lines, count int) {
	freq := map[int]int{}
	for _, n := range counts {
		if n == 0 {
			continue
		}
		freq[n]++
		if freq[n] > lines || freq[n] == lines && n > count {
			lines, count = freq[n], n
		}
	}
	return lines, count
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
