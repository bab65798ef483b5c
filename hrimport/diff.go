package hrimport

import (
	"fmt"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/scimpath"
)

// Change is one attribute a row changes: old -> new (nil = absent).
type Change struct {
	Path     string
	Old, New any
}

func (c Change) String() string {
	return fmt.Sprintf("%s: %s -> %s", c.Path, show(c.Old), show(c.New))
}

func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "(none)"
	case string:
		return fmt.Sprintf("%q", v)
	default:
		return fmt.Sprint(v)
	}
}

// diffUser compares a row with the user's current state: the changes and
// the PATCH operations that make them (nothing when the row changes
// nothing).
func diffUser(u *serverUser, r *row, rs *scimpath.ResourceSchema, managedBy string) ([]Change, []scimpath.Operation) {
	var changes []Change
	var ops []scimpath.Operation
	for _, cv := range r.cells {
		cur := u.vals[cv.col.pos]
		if sameValue(cur, cv.value, cv.col.attr.Type) {
			continue
		}
		changes = append(changes, Change{Path: cv.col.pathString, Old: cur, New: cv.value})
		if cv.value == nil {
			ops = append(ops, scimpath.Operation{Op: "remove", Path: removePath(cv.col.path)})
		} else {
			ops = append(ops, scimpath.Operation{Op: "replace", Path: cv.col.pathString, Value: cv.value})
		}
	}
	if cur := u.managedBy; cur != managedBy {
		var old any
		if cur != "" {
			old = cur
		}
		p := provenanceUserURNPrefix + ":" + provenanceAttr
		changes = append(changes, Change{Path: p, Old: old, New: managedBy})
		ops = append(ops, scimpath.Operation{Op: "replace", Path: p, Value: managedBy})
	}
	return changes, ops
}

// removePath is what a PATCH removes for an empty cell: the whole element
// for emails[type eq "work"].value (an element with only a type is
// useless), the attribute otherwise.
func removePath(p scimpath.Path) string {
	if p.Filter != nil && strings.EqualFold(p.SubAttr, "value") {
		p.SubAttr = ""
	}
	return p.String()
}

// sameValue compares a server value with a row's value of the attribute's
// type (JSON numbers are float64; dateTimes compare as instants).
func sameValue(cur, want any, typ string) bool {
	if cur == nil || want == nil {
		return cur == nil && want == nil
	}
	switch w := want.(type) {
	case bool:
		c, ok := cur.(bool)
		if !ok {
			if s, isStr := cur.(string); isStr {
				c, err := parseBool(s)
				return err == nil && c == w
			}
		}
		return ok && c == w
	case int64:
		c, ok := cur.(float64)
		return ok && c == float64(w)
	case float64:
		c, ok := cur.(float64)
		return ok && c == w
	case string:
		c, ok := cur.(string)
		if !ok {
			return false
		}
		if typ == scimpath.TypeDateTime {
			a, err1 := time.Parse(time.RFC3339Nano, c)
			b, err2 := time.Parse(time.RFC3339Nano, w)
			if err1 == nil && err2 == nil {
				return a.Equal(b)
			}
		}
		return c == w
	}
	return fmt.Sprint(cur) == fmt.Sprint(want)
}

// newUser builds a POST body for a row: its non-empty cells and the
// provenance mark.
func newUser(r *row, rs *scimpath.ResourceSchema, managedBy string) (map[string]any, []Change, error) {
	doc := map[string]any{}
	var ops []scimpath.Operation
	var changes []Change
	for _, cv := range r.cells {
		if cv.value == nil {
			continue
		}
		ops = append(ops, scimpath.Operation{Op: "add", Path: cv.col.pathString, Value: cv.value})
		changes = append(changes, Change{Path: cv.col.pathString, New: cv.value})
	}
	ops = append(ops, scimpath.Operation{Op: "add", Path: provenanceUserURNPrefix + ":" + provenanceAttr, Value: managedBy})
	if err := scimpath.ApplyPatch(doc, ops, rs); err != nil {
		return nil, nil, err
	}
	schemas := []string{rs.Core.URN}
	for k := range doc {
		if strings.HasPrefix(strings.ToLower(k), "urn:") {
			schemas = append(schemas, k)
		}
	}
	doc["schemas"] = schemas
	return doc, changes, nil
}
