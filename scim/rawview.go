package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/scimbridge/scimbridge/internal/rawjson"
	"github.com/scimbridge/scimbridge/store"
)

// Serving stored documents as they are. A resource is stored as the JSON
// of what GET shows, minus what is derived per request: meta.location, a
// user's groups and the version that covers them, a group's members.
// Decoding a stored document into maps and encoding it again costs most
// of a list page; when the request asks no projection, the stored bytes
// are copied and only the derived parts are written (issue 16).

// rawView appends to dst the resource stored as raw, as GET shows it
// without attributes/excludedAttributes: the stored members, meta with
// its location (and, for a user with groups, the version covering them),
// the user's derived groups, and members when given (a group's, rendered
// by the caller). ok is false when raw is not a shape this handles (no
// meta object, a stored groups or members key): the caller renders it the
// decoding way. version is the served version (the ETag).
func (s *Server) rawView(dst []byte, tx *store.Tx, d *resourceDef, id string, raw []byte, base string, members []any) (out []byte, version string, ok bool, err error) {
	metaStart, metaEnd, end := -1, -1, -1
	shapeOK := rawjson.ScanObject(raw, func(key []byte, vs, ve int) bool {
		switch string(key) {
		case `"meta"`:
			metaStart, metaEnd = vs, ve
		case `"groups"`, `"members"`:
			return false
		}
		return true
	}, &end)
	if !shapeOK || metaStart < 0 || raw[metaStart] != '{' {
		return dst, "", false, nil
	}
	location := base + d.endpoint + "/" + id
	var groups []derivedGroup
	if d.typ == "User" {
		if groups, err = derivedGroups(tx, id); err != nil {
			return dst, "", false, err
		}
	}
	start := len(dst)
	metaRaw := raw[metaStart:metaEnd]
	if len(groups) == 0 {
		// The common case: meta is kept as stored, with location added
		// before its closing brace; only its version is read (the ETag).
		vs, ve, found := -1, -1, false
		metaEndBrace := -1
		if !rawjson.ScanObject(metaRaw, func(key []byte, s, e int) bool {
			switch string(key) {
			case `"version"`:
				vs, ve, found = s, e, true
			case `"location"`:
				return false // never stored; the decoding way replaces it
			}
			return true
		}, &metaEndBrace) {
			return dst, "", false, nil
		}
		if found {
			if version, ok = plainVersion(metaRaw[vs:ve]); !ok && json.Unmarshal(metaRaw[vs:ve], &version) != nil {
				return dst, "", false, nil
			}
		}
		dst = append(dst, raw[:metaStart]...)
		dst = append(dst, metaRaw[:metaEndBrace]...)
		if len(bytes.TrimSpace(metaRaw[1:metaEndBrace])) > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"location":`...)
		if dst, err = appendJSONString(dst, location); err != nil {
			return dst[:start], "", false, err
		}
		dst = append(dst, metaRaw[metaEndBrace:]...)
	} else {
		var meta map[string]any
		if json.Unmarshal(metaRaw, &meta) != nil {
			return dst, "", false, nil
		}
		meta["location"] = location
		version, _ = meta["version"].(string)
		if version != "" {
			version = userVersion(version, groups)
			meta["version"] = version
		}
		dst = append(dst, raw[:metaStart]...)
		if dst, err = appendJSON(dst, meta); err != nil {
			return dst[:start], "", false, err
		}
	}
	dst = append(dst, raw[metaEnd:end]...) // up to the closing brace
	if len(groups) > 0 {
		dst = append(dst, `,"groups":`...)
		if dst, err = appendJSON(dst, groupsAttr(groups, base)); err != nil {
			return dst[:start], "", false, err
		}
	}
	if members != nil {
		dst = append(dst, `,"members":`...)
		if dst, err = appendJSON(dst, members); err != nil {
			return dst[:start], "", false, err
		}
	}
	dst = append(dst, '}')
	return unescapeHTML(dst, start), version, true, nil
}

// groupsAttr is a user's groups attribute as GET shows it.
func groupsAttr(groups []derivedGroup, base string) []any {
	list := make([]any, len(groups))
	for i, g := range groups {
		e := map[string]any{"value": g.id, "$ref": base + "/Groups/" + g.id, "type": "direct"}
		if g.display != nil {
			e["display"] = g.display
		}
		list[i] = e
	}
	return list
}

// plainView reports whether a request's projection leaves the resource
// as stored: none, or (groups) only members excluded, which the stored
// document never holds. withMembers says whether members are shown.
func plainView(d *resourceDef, attrs, excluded []string) (plain, withMembers bool) {
	if len(attrs) > 0 {
		return false, false
	}
	for _, a := range excluded {
		if d.typ != "Group" || !strings.EqualFold(a, "members") && !strings.EqualFold(a, "urn:ietf:params:scim:schemas:core:2.0:Group:members") {
			return false, false
		}
	}
	return true, d.typ == "Group" && len(excluded) == 0
}

// plainVersion decodes a stored version string such as "W/\"3\"" (whose
// only escapes are \"), reporting false for anything else.
func plainVersion(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		if in[i] == '\\' {
			if i+1 >= len(in) || in[i+1] != '"' {
				return "", false
			}
			i++
		}
		out = append(out, in[i])
	}
	return string(out), true
}

// appendJSONString appends s as a JSON string; a URL of printable ASCII
// without quotes or backslashes is copied, anything else encoded.
func appendJSONString(dst []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendJSON(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), nil
}

// appendJSON appends v's JSON encoding (no trailing newline).
func appendJSON(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return append(dst, b...), err
}

// unescapeHTML undoes json.Marshal's HTML escaping (\u003c, \u003e,
// \u0026) in dst[from:], so the stored bytes read as writeJSON writes
// ("R&D", not "R\u0026D"). An escaped backslash before "u" is left alone.
func unescapeHTML(dst []byte, from int) []byte {
	if !bytes.Contains(dst[from:], []byte(`\u00`)) {
		return dst
	}
	out := dst[:from]
	seg := dst[from:]
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c != '\\' || i+1 >= len(seg) {
			out = append(out, c)
			continue
		}
		if seg[i+1] == 'u' && i+5 < len(seg) && seg[i+2] == '0' && seg[i+3] == '0' {
			switch string(seg[i+4 : i+6]) {
			case "3c", "3C":
				out = append(out, '<')
				i += 5
				continue
			case "3e", "3E":
				out = append(out, '>')
				i += 5
				continue
			case "26":
				out = append(out, '&')
				i += 5
				continue
			}
		}
		out = append(out, c, seg[i+1]) // any escape stays as it is
		i++
	}
	return out
}

// getRaw answers a GET of one resource from its stored bytes when the
// request asks no projection and no precondition. It reports false, having
// written nothing, when the resource must be rendered the decoding way.
func (s *Server) getRaw(w http.ResponseWriter, r *http.Request, d *resourceDef, id string, withMembers bool) bool {
	var body []byte
	var version string
	served := false
	bp := docBufs.Get().(*[]byte)
	defer func() {
		// body grew from *bp (rawView only appends to the buffer it is
		// given, never returns the stored bytes themselves).
		if body != nil && cap(body) <= maxPooledPage {
			*bp = body[:0]
		}
		docBufs.Put(bp)
	}()
	err := s.db.View(func(tx *store.Tx) error {
		raw, _, err := tx.GetResource(d.typ, id)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(d.typ, id)
		}
		if err != nil {
			return err
		}
		base := s.baseURL(r)
		var members []any
		if withMembers {
			if members, err = s.groupMembers(tx, id, base); err != nil {
				return err
			}
		}
		body, version, served, err = s.rawView((*bp)[:0], tx, d, id, raw, base, members)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	if !served {
		return false
	}
	if version != "" {
		w.Header()["Etag"] = []string{version} // Set("ETag") would canonicalise the key anew each time
	}
	body = append(body, '\n')
	writeRawJSON(w, http.StatusOK, body) // copied into the connection's buffer: body can be reused
	return true
}

// docBufs recycles the buffers single resources are rendered into.
var docBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2<<10); return &b }}
