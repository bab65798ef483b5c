package hrimport

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Provenance extension (declared by the server, see scim/provenance.go).
const (
	provenanceUserURNPrefix = "urn:scimbridge:params:scim:schemas:extension:2.0:User"
	provenanceGroupURN      = "urn:scimbridge:params:scim:schemas:extension:2.0:Group"
	provenanceAttr          = "managedBy"
)

// row is one parsed line of the file: what it wants the user to be.
type row struct {
	num        int
	key        string // matching key, normalised (see mapping.normKey)
	keyDisplay string // as written
	cells      []cellValue
	groups     []string // kindGroups, when the column exists
	manager    string   // the manager's key, normalised; "" = no manager
}

type cellValue struct {
	col   *column
	value any // nil: the cell is empty (the attribute is removed)
}

// RowError is a row the importer rejects, or the server refused.
type RowError struct {
	Row    int
	Key    string
	Column string // "" when the row as a whole is at fault
	Reason string
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Reason)
	}
	return fmt.Sprintf("row %d, column %s: %s", e.Row, e.Column, e.Reason)
}

// normKey lower-cases keys of case-insensitive attributes (userName,
// emails), so "Jane@X" in the file finds "jane@x" on the server.
func (m *mapping) normKey(s string) string {
	if m.key.attr.CaseExact {
		return s
	}
	return strings.ToLower(s)
}

// parseRow turns a record into a row, or the first problem it has.
func (m *mapping) parseRow(rec []string, num int) (*row, *RowError) {
	r := &row{num: num}
	cell := func(c *column) string {
		if c.index < len(rec) {
			return cleanCell(rec[c.index])
		}
		return ""
	}
	key := cell(m.key)
	if utf8.ValidString(key) && key != "" {
		// Known before any other problem, so a rejected row still
		// protects its user from a roster's deactivation.
		r.keyDisplay = key
		r.key = m.normKey(key)
	}
	if len(rec) > m.width {
		extra := false
		for _, s := range rec[m.width:] {
			extra = extra || cleanCell(s) != ""
		}
		if extra {
			return r, &RowError{Row: num, Key: r.keyDisplay, Reason: fmt.Sprintf("%d cells, but the header has %d (an unquoted delimiter?)", len(rec), m.width)}
		}
	}
	if filled(rec) == 1 && m.usedCells >= 3 {
		// Nobody's record is one cell of several: a title, a note or a
		// totals line ("Total: 42") that would otherwise create a user
		// or empty one's attributes.
		return r, &RowError{Row: num, Key: r.keyDisplay, Reason: "only one cell is filled (a title, note or totals line?): fill in the row or delete it"}
	}
	for _, c := range m.columns {
		s := cell(c)
		if !utf8.ValidString(s) {
			return r, &RowError{Row: num, Key: r.keyDisplay, Column: c.label(), Reason: "not UTF-8: save the file as UTF-8 (Excel: \"CSV UTF-8\")"}
		}
		if i := strings.IndexFunc(s, isControl); i >= 0 {
			return r, &RowError{Row: num, Key: r.keyDisplay, Column: c.label(), Reason: fmt.Sprintf("control character %U in the cell (a damaged export?)", []rune(s[i:])[0])}
		}
	}
	if key == "" {
		return r, &RowError{Row: num, Column: m.key.label(), Reason: "missing matching key"}
	}
	kv, err := m.key.value(key)
	if err != nil {
		return r, &RowError{Row: num, Column: m.key.label(), Reason: err.Error()}
	}
	r.keyDisplay = fmt.Sprint(kv)
	r.key = m.normKey(r.keyDisplay)
	for _, c := range m.columns {
		s := cell(c)
		switch c.kind {
		case kindGroups:
			r.groups = splitGroups(s)
		case kindManager:
			if s != "" {
				mv, err := m.key.value(s)
				if err != nil {
					return r, &RowError{Row: num, Key: r.keyDisplay, Column: c.label(), Reason: "manager key: " + err.Error()}
				}
				r.manager = m.normKey(fmt.Sprint(mv))
				if r.manager == r.key {
					return r, &RowError{Row: num, Key: r.keyDisplay, Column: c.label(), Reason: "a user cannot be their own manager"}
				}
			}
		default:
			var v any
			if s != "" {
				if v, err = c.value(s); err != nil {
					return r, &RowError{Row: num, Key: r.keyDisplay, Column: c.label(), Reason: err.Error()}
				}
			} else if strings.EqualFold(c.pathString, "userName") {
				return r, &RowError{Row: num, Key: r.keyDisplay, Column: c.label(), Reason: "userName is required"}
			}
			r.cells = append(r.cells, cellValue{col: c, value: v})
		}
	}
	return r, nil
}

// splitGroups splits "Sales; Berlin Office;;" into names, trimmed, without
// empties or repeats (case-insensitively).
func splitGroups(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range strings.Split(s, ";") {
		g = cleanCell(g)
		if g == "" || seen[strings.ToLower(g)] {
			continue
		}
		seen[strings.ToLower(g)] = true
		out = append(out, g)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// filled counts the record's non-empty cells.
func filled(rec []string) int {
	n := 0
	for _, s := range rec {
		if cleanCell(s) != "" {
			n++
		}
	}
	return n
}

// isControl: C0 controls other than tab and line breaks, which a cell may
// hold; a NUL or a bell in a name is damage, and would reach every
// connector.
func isControl(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
}
