package hrimport

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/scimpath"
)

type columnKind uint8

const (
	kindAttr    columnKind = iota // a SCIM attribute of the user
	kindGroups                    // group names separated by ';'
	kindManager                   // the manager's matching key
)

// column is one header of the file and what it feeds.
type column struct {
	index      int    // cell index in the file
	pos        int    // index in mapping.columns
	header     string // as in the file
	kind       columnKind
	path       scimpath.Path // kindAttr
	pathString string        // canonical path, as sent in PATCH
	attr       scimpath.Attr // the attribute (or sub-attribute) the path names
	email      bool          // an emails value: checked as an address
	transforms []transform
}

// label names the column in messages: the header, and the path when the
// header is an HR name.
func (c *column) label() string {
	if c.kind == kindAttr && !strings.EqualFold(c.header, c.pathString) {
		return c.header + " (" + c.pathString + ")"
	}
	return c.header
}

// mapping is the file's header resolved against config.yaml and the
// server's User schema.
type mapping struct {
	columns   []*column // the used columns, in file order
	ignored   []string  // headers neither mapped nor a SCIM path
	key       *column   // the column holding the --match attribute
	groups    *column
	manager   *column
	width     int // number of header cells
	usedCells int // distinct cells the columns read
}

// errNoKeyColumn: the header lacks the --match column. A report's title
// line above the header fails so, and the header is looked for further down.
var errNoKeyColumn = errors.New("no column holds the matching attribute")

// newMapping resolves header. match is the --match path; rs the User
// schema. Columns that are not SCIM paths and not mapped are ignored (and
// listed), since HR exports carry many columns nobody provisions.
func newMapping(header []string, cfg Config, match scimpath.Path, rs *scimpath.ResourceSchema) (*mapping, error) {
	m := &mapping{width: len(header)}
	mapped := map[string]Targets{}
	for h, targets := range cfg.Columns {
		mapped[normHeader(h)] = targets
	}
	transforms := map[string]string{}
	for h, t := range cfg.Transforms {
		transforms[normHeader(h)] = t
	}
	seen := map[string]int{} // target -> index of the header setting it
	for i, h := range header {
		targets, explicit := mapped[normHeader(h)]
		if !explicit {
			targets = Targets{h}
		}
		used := false
		for _, target := range targets {
			c, err := newColumn(i, h, strings.TrimSpace(target), explicit, rs)
			if err != nil {
				return nil, err
			}
			if c == nil {
				continue
			}
			canon := strings.ToLower(c.pathString)
			if prev, dup := seen[canon]; dup {
				return nil, fmt.Errorf("columns %s (%q) and %s (%q) both set %s: map one of them to \"-\" in import.columns",
					columnLetter(prev), header[prev], columnLetter(i), h, c.pathString)
			}
			seen[canon] = i
			spec, ok := transforms[normHeader(h)]
			if !ok {
				spec = transforms[canon]
			}
			if c.transforms, err = parseTransforms(spec); err != nil {
				return nil, fmt.Errorf("column %q: %w", h, err)
			}
			switch c.kind {
			case kindGroups:
				m.groups = c
			case kindManager:
				m.manager = c
			}
			if c.kind == kindAttr && samePath(c.path, match) {
				m.key = c
			}
			c.pos = len(m.columns)
			m.columns = append(m.columns, c)
			used = true
		}
		if !used && h != "" {
			m.ignored = append(m.ignored, h)
		}
	}
	if m.key == nil {
		return nil, fmt.Errorf("%w %s (--match): map one in import.columns or name it in the header", errNoKeyColumn, match)
	}
	cells := map[int]bool{}
	for _, c := range m.columns {
		cells[c.index] = true
	}
	m.usedCells = len(cells)
	return m, nil
}

// normHeader is a header as import.columns and import.transforms match
// it: case-insensitive, and any run of spaces, no-break spaces or line
// breaks (a wrapped header cell) counts as one space.
func normHeader(h string) string {
	return strings.ToLower(strings.Join(strings.Fields(h), " "))
}

// newColumn resolves one target of header h; nil when the column is to be
// ignored ("-", or a header that is no SCIM path and is not mapped).
func newColumn(i int, h, target string, explicit bool, rs *scimpath.ResourceSchema) (*column, error) {
	if target == "-" || target == "" {
		return nil, nil
	}
	c := &column{index: i, header: h}
	switch strings.ToLower(target) {
	case "groups":
		c.kind, c.pathString = kindGroups, "groups"
		return c, nil
	case "manager", strings.ToLower(scimpath.URNEnterpriseUser) + ":manager", strings.ToLower(scimpath.URNEnterpriseUser) + ":manager.value":
		c.kind, c.pathString = kindManager, "manager"
		return c, nil
	}
	p, err := scimpath.ParsePath(target)
	attr, ok := rs.Lookup(target)
	if err != nil || !ok {
		if explicit {
			return nil, fmt.Errorf("column %q: import.columns maps it to %q, which is not an attribute of the server's User schema", h, target)
		}
		return nil, nil
	}
	top := scimpath.Path{URN: p.URN, Attr: p.Attr}
	parent, _ := rs.Lookup(top.String())
	if parent.MultiValued && p.Filter == nil {
		return nil, fmt.Errorf("column %q: %s is multi-valued: select one value, e.g. %s[type eq \"work\"].value", h, target, top.String())
	}
	if err := checkWritable(target, p, attr); err != nil {
		return nil, fmt.Errorf("column %q: %w", h, err)
	}
	c.path, c.pathString, c.attr = p, p.String(), attr
	c.email = strings.EqualFold(p.Attr, "emails") && p.URN == "" && (p.SubAttr == "" || strings.EqualFold(p.SubAttr, "value"))
	return c, nil
}

// checkWritable refuses targets the importer must not or cannot set.
func checkWritable(target string, p scimpath.Path, a scimpath.Attr) error {
	switch {
	case a.ReadOnly || strings.EqualFold(p.Attr, "id") || strings.EqualFold(p.Attr, "meta"):
		return fmt.Errorf("%s is read-only", target)
	case strings.EqualFold(p.Attr, "password"):
		return fmt.Errorf("passwords are not imported")
	case strings.EqualFold(p.URN, provenanceUserURNPrefix):
		return fmt.Errorf("%s is set by the importer itself", target)
	case a.Type == scimpath.TypeComplex:
		return fmt.Errorf("%s is a complex attribute: name a sub-attribute (e.g. %s.value)", target, target)
	case a.MultiValued && p.Filter == nil:
		return fmt.Errorf("%s is multi-valued: select one value, e.g. %s[type eq \"work\"].value", target, p.Attr)
	}
	return nil
}

func samePath(a, b scimpath.Path) bool { return strings.EqualFold(a.String(), b.String()) }

// value converts a cleaned, non-empty cell for column c: its transforms,
// then its attribute's type.
func (c *column) value(cell string) (any, error) {
	if c.email || strings.EqualFold(c.pathString, "userName") {
		// A hyperlink cell exported as its target: the address is the data.
		if rest, ok := cutPrefixFold(cell, "mailto:"); ok && validEmail(rest) == nil {
			cell = rest
		}
	}
	var v any = cell
	for _, t := range c.transforms {
		s, ok := v.(string)
		if !ok {
			break
		}
		var err error
		if v, err = t(s); err != nil {
			return nil, err
		}
	}
	s, isString := v.(string)
	if !isString {
		return v, nil
	}
	switch c.attr.Type {
	case scimpath.TypeBoolean:
		return parseBool(s)
	case scimpath.TypeDateTime:
		return parseDate(s, "")
	case scimpath.TypeInteger:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", short(s))
		}
		return n, nil
	case scimpath.TypeDecimal:
		f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", short(s))
		}
		return f, nil
	}
	if c.email {
		if err := validEmail(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// columnLetter is a cell index as a spreadsheet names its column (A, B,
// ..., Z, AA), so "columns B and C" can be found in Excel.
func columnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
