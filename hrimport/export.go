package hrimport

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/scimpath"
)

// DefaultExportColumns are what an audit wants and what import reads back
// unchanged.
var DefaultExportColumns = []string{
	"userName", "externalId", "name.givenName", "name.familyName", "displayName",
	`emails[type eq "work"].value`, "title",
	scimpath.URNEnterpriseUser + ":department", "active", "groups",
}

// ExportOptions are `scimbridge export`'s flags.
type ExportOptions struct {
	Format  string   // csv (default) or jsonl
	Filter  string   // SCIM filter; "" for every user
	Columns []string // SCIM paths (and "groups"); default DefaultExportColumns
}

// Export streams every user the filter selects to w, a page at a time
// (memory does not grow with the number of users), and returns how many
// it wrote.
func Export(ctx context.Context, c *Client, w io.Writer, opts ExportOptions) (int, error) {
	if err := c.discover(ctx); err != nil {
		return 0, err
	}
	rs, err := c.userSchema(ctx)
	if err != nil {
		return 0, err
	}
	columns := slices.Clone(opts.Columns)
	if len(columns) == 0 {
		columns = slices.Clone(DefaultExportColumns)
	}
	paths := make([]scimpath.Path, len(columns))
	var attrs []string
	for i, col := range columns {
		col = strings.TrimSpace(col)
		columns[i] = col
		if strings.EqualFold(col, "groups") {
			attrs = append(attrs, "groups")
			continue
		}
		p, err := scimpath.ParsePath(col)
		if _, ok := rs.Lookup(col); err != nil || !ok {
			return 0, fmt.Errorf("--columns: %q is not an attribute of the server's User schema", col)
		}
		paths[i] = p
		if p.URN != "" {
			attrs = append(attrs, p.URN+":"+p.Attr)
		} else {
			attrs = append(attrs, p.Attr)
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var write func(map[string]any) error
	switch strings.ToLower(opts.Format) {
	case "", "csv":
		_, _ = bw.Write(utf8BOM) // Excel reads UTF-8 (names with diacritics) only with it; import skips it
		cw := csv.NewWriter(bw)
		if err := cw.Write(columns); err != nil {
			return 0, err
		}
		rec := make([]string, len(columns))
		write = func(doc map[string]any) error {
			for i, col := range columns {
				if strings.EqualFold(col, "groups") {
					rec[i] = groupCell(doc)
				} else {
					rec[i] = cellOf(paths[i].Get(doc, rs))
				}
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
			cw.Flush() // into bw: the buffer, not the file
			return cw.Error()
		}
	case "jsonl":
		enc := json.NewEncoder(bw)
		write = func(doc map[string]any) error {
			delete(doc, "meta")
			return enc.Encode(doc)
		}
	default:
		return 0, fmt.Errorf("--format %q: csv or jsonl", opts.Format)
	}
	n := 0
	if err := c.each(ctx, "/Users", opts.Filter, attrs, func(doc map[string]any) error {
		n++
		return write(doc)
	}); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// cellOf writes a path's value as import reads it back; several values
// are joined with "; ".
func cellOf(vals []any) string {
	var parts []string
	for _, v := range vals {
		switch v := v.(type) {
		case nil:
		case string:
			parts = append(parts, v)
		case bool:
			parts = append(parts, strconv.FormatBool(v))
		case float64:
			parts = append(parts, strconv.FormatFloat(v, 'f', -1, 64))
		default:
			b, _ := json.Marshal(v)
			parts = append(parts, string(b))
		}
	}
	return strings.Join(parts, "; ")
}

// groupCell lists a user's groups by name, as the groups column takes them.
func groupCell(doc map[string]any) string {
	var names []string
	for _, g := range asList(doc["groups"]) {
		if s, _ := lookupFold(asMap(g), "display").(string); s != "" {
			names = append(names, s)
		}
	}
	return strings.Join(names, "; ")
}
