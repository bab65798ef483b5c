package hrimport

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// What Excel and HR systems save besides UTF-8: "Unicode Text" is UTF-16
// with a byte order mark, "CSV" on a Western-European Windows is
// Windows-1252, "CSV (Macintosh)" ends lines with a lone CR. decodeFile
// turns all of them into UTF-8 with LF or CRLF line ends, and refuses
// files that are no text at all with a message saying what they are.

var (
	utf8BOM    = []byte{0xEF, 0xBB, 0xBF}
	utf16LEBOM = []byte{0xFF, 0xFE}
	utf16BEBOM = []byte{0xFE, 0xFF}
)

// sniffSize is how much of the file decides its encoding and line ends.
const sniffSize = 64 << 10

// decodeFile wraps in so it reads UTF-8 text. The decision is made from
// the file's first 64 KiB, so both passes over a file decide the same.
func decodeFile(in io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(in, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		_, _ = br.Discard(len(utf8BOM))
		head = head[len(utf8BOM):]
	case bytes.HasPrefix(head, utf16LEBOM), bytes.HasPrefix(head, utf16BEBOM):
		be := head[0] == 0xFE
		_, _ = br.Discard(2)
		r = &utf16Reader{r: br, be: be}
		return crToLF(bufio.NewReaderSize(r, sniffSize))
	}
	if err := notText(head); err != nil {
		return nil, err
	}
	switch {
	case windows1252(head):
		r = &cp1252Reader{r: br}
	case len(head) == sniffSize && ascii(head):
		// Nothing to decide from yet (a roster sorted by name meets its
		// first Müller far down): decide at the first byte beyond ASCII.
		r = &lateReader{r: br}
	}
	return crToLF(bufio.NewReaderSize(r, sniffSize))
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// lateReader passes ASCII through and, at the first byte beyond it,
// decides as decodeFile does: a UTF-8 sequence keeps the file UTF-8,
// anything else makes it Windows-1252. ASCII reads the same in both, so
// the text before is unaffected.
type lateReader struct {
	r       *bufio.Reader
	decided io.Reader
}

func (l *lateReader) Read(p []byte) (int, error) {
	if l.decided != nil {
		return l.decided.Read(p)
	}
	n := 0
	for n < len(p) {
		if _, err := l.r.Peek(1); err != nil { // fills the buffer
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		buf, _ := l.r.Peek(min(len(p)-n, l.r.Buffered()))
		i := 0
		for i < len(buf) && buf[i] < 0x80 {
			i++
		}
		n += copy(p[n:], buf[:i])
		_, _ = l.r.Discard(i)
		if i == len(buf) {
			continue
		}
		seq, _ := l.r.Peek(utf8.UTFMax)
		if r, size := utf8.DecodeRune(seq); r != utf8.RuneError || size > 1 {
			l.decided = l.r
		} else {
			l.decided = &cp1252Reader{r: l.r}
		}
		if n > 0 {
			return n, nil
		}
		return l.decided.Read(p)
	}
	return n, nil
}

// notText names what a file is when it is not a text file.
func notText(head []byte) error {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return errors.New("this is an Excel workbook (.xlsx) or another zip file, not CSV: in Excel, save it with File > Save As > \"CSV UTF-8 (Comma delimited)\"; nothing was imported")
	case bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")):
		return errors.New("this is an Excel 97-2003 workbook (.xls), not CSV: in Excel, save it with File > Save As > \"CSV UTF-8 (Comma delimited)\"; nothing was imported")
	case bytes.HasPrefix(head, []byte("%PDF")):
		return errors.New("this is a PDF, not CSV; nothing was imported")
	case bytes.Count(head, []byte{0}) > len(head)/16: // a stray NUL is its row's problem (row.go)
		return errors.New("the file holds NUL bytes: not a text file (or UTF-16 without a byte order mark): save it as \"CSV UTF-8\"; nothing was imported")
	}
	return nil
}

// windows1252 reports whether head is not UTF-8 and holds no UTF-8
// sequence beyond ASCII: then it is an 8-bit export, read as
// Windows-1252 (a superset of Latin-1's printable characters). A UTF-8
// file with a broken byte somewhere stays UTF-8: its bad rows are
// rejected instead of every accent being misread.
func windows1252(head []byte) bool {
	invalid, multi := 0, 0
	for i := 0; i < len(head); {
		r, n := utf8.DecodeRune(head[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			if len(head)-i < utf8.UTFMax && !utf8.FullRune(head[i:]) {
				i = len(head) // a rune cut by the sniff window
				continue
			}
			invalid++
		case n > 1:
			multi++
		}
		i += n
	}
	return invalid > 0 && multi == 0
}

// cp1252High maps Windows-1252's 0x80-0x9F; the other bytes are Latin-1.
// The five unassigned bytes map to the C1 controls (as browsers do).
var cp1252High = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8D, 'Ž', 0x8F,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9D, 'ž', 'Ÿ',
}

type cp1252Reader struct {
	r   io.ByteReader
	out []byte
}

func (c *cp1252Reader) Read(p []byte) (int, error) {
	for len(c.out) < len(p) {
		b, err := c.r.ReadByte()
		if err != nil {
			if len(c.out) == 0 {
				return 0, err
			}
			break
		}
		switch {
		case b < 0x80:
			c.out = append(c.out, b)
		case b < 0xA0:
			c.out = utf8.AppendRune(c.out, cp1252High[b-0x80])
		default:
			c.out = utf8.AppendRune(c.out, rune(b))
		}
	}
	n := copy(p, c.out)
	c.out = c.out[:copy(c.out, c.out[n:])]
	return n, nil
}

// utf16Reader decodes UTF-16 (after its byte order mark) to UTF-8.
type utf16Reader struct {
	r   io.ByteReader
	be  bool
	out []byte
}

func (u *utf16Reader) unit() (uint16, error) {
	a, err := u.r.ReadByte()
	if err != nil {
		return 0, err
	}
	b, err := u.r.ReadByte()
	if err != nil {
		return 0, io.ErrUnexpectedEOF
	}
	if u.be {
		return uint16(a)<<8 | uint16(b), nil
	}
	return uint16(b)<<8 | uint16(a), nil
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	var pending rune = -1 // a high surrogate waiting for its pair
	for len(u.out) < len(p) || pending >= 0 {
		v, err := u.unit()
		if err != nil {
			if pending >= 0 {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
			}
			if len(u.out) == 0 {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					return 0, errors.New("UTF-16 file with an odd number of bytes: truncated?")
				}
				return 0, err
			}
			break
		}
		r := rune(v)
		switch {
		case pending >= 0:
			u.out = utf8.AppendRune(u.out, utf16.DecodeRune(pending, r))
			pending = -1
		case utf16.IsSurrogate(r) && r < 0xDC00:
			pending = r
		default:
			u.out = utf8.AppendRune(u.out, r)
		}
	}
	n := copy(p, u.out)
	u.out = u.out[:copy(u.out, u.out[n:])]
	return n, nil
}

// crToLF turns lone CRs into LFs when the file's first line ends with a
// lone CR (Excel for Mac's "CSV (Macintosh)"); other files are left alone,
// since encoding/csv reads LF and CRLF itself.
func crToLF(br *bufio.Reader) (io.Reader, error) {
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	i := bytes.IndexAny(head, "\r\n")
	if i < 0 || head[i] == '\n' || i+1 < len(head) && head[i+1] == '\n' {
		return br, nil
	}
	return &crReader{r: br}, nil
}

type crReader struct {
	r      *bufio.Reader
	lastCR bool
}

func (c *crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	w := 0
	for _, b := range p[:n] {
		if b == '\n' && c.lastCR { // a CRLF already written as LF
			c.lastCR = false
			continue
		}
		c.lastCR = b == '\r'
		if b == '\r' {
			b = '\n'
		}
		p[w] = b
		w++
	}
	if w == 0 && err == nil && n > 0 {
		return c.Read(p)
	}
	return w, err
}
