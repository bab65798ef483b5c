package scim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// pageWriter builds a ListResponse (RFC 7644 §3.4.2) as bytes: resources
// are appended one by one, either copied from the store (rawView) or
// encoded from a projected map, and the envelope closes around them.
type pageWriter struct {
	buf []byte
	n   int
}

// pageBufs recycles page buffers: most lists are Okta's and Entra's
// one-result lookups (userName eq ...), for which a fresh 32 KiB buffer
// per request was most of the list's allocation and GC cost.
var pageBufs = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// maxPooledPage keeps a rare huge page's buffer out of the pool.
const maxPooledPage = 1 << 20

func newPageWriter() *pageWriter {
	bp := pageBufs.Get().(*[]byte)
	return &pageWriter{buf: append((*bp)[:0], `{"Resources":[`...)}
}

// release hands the buffer back once the page has been written.
func (p *pageWriter) release() {
	if cap(p.buf) <= maxPooledPage {
		b := p.buf[:0]
		pageBufs.Put(&b)
	}
	p.buf = nil
}

// next starts an element and returns the buffer to append it to.
func (p *pageWriter) next() []byte {
	if p.n > 0 {
		p.buf = append(p.buf, ',')
	}
	p.n++
	return p.buf
}

// appendMap appends a rendered resource, encoded as writeJSON encodes.
func (p *pageWriter) appendMap(v map[string]any) error {
	b, err := encodeNoEscape(v)
	if err != nil {
		return err
	}
	p.buf = append(p.next(), b...)
	return nil
}

// finish closes the envelope.
func (p *pageWriter) finish(total, startIndex int) []byte {
	p.buf = append(p.buf, `],"itemsPerPage":`...)
	p.buf = strconv.AppendInt(p.buf, int64(p.n), 10)
	p.buf = append(p.buf, `,"schemas":["`+listSchema+`"],"startIndex":`...)
	p.buf = strconv.AppendInt(p.buf, int64(startIndex), 10)
	p.buf = append(p.buf, `,"totalResults":`...)
	p.buf = strconv.AppendInt(p.buf, int64(total), 10)
	return append(p.buf, '}', '\n')
}

// encodeNoEscape encodes v as writeJSON does ("R&D", not "R\u0026D"),
// without the trailing newline.
func encodeNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// writeRawJSON writes an encoded SCIM JSON body.
func writeRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
