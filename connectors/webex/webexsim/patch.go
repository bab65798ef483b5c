package webexsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

// exactKeys checks the top-level keys of a JSON object exactly (encoding/json
// matches field names case-insensitively; the contract's keys are not).
func exactKeys(b []byte, allowed ...string) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return fmt.Errorf("malformed JSON: %v", err)
	}
	for k := range top {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("unknown attribute %q", k)
		}
	}
	return nil
}

// applyPatch applies a PatchOp body to cur (a *userDoc or *groupDoc) and
// returns the patched document as JSON, for strict re-validation.
func (s *Server) applyPatch(body []byte, cur any) ([]byte, result) {
	if err := exactKeys(body, "schemas", "Operations"); err != nil {
		return nil, errResult(http.StatusBadRequest, "invalidSyntax", err.Error())
	}
	var req patchRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, errResult(http.StatusBadRequest, "invalidSyntax", err.Error())
	}
	if !slices.Equal(req.Schemas, []string{schemaPatchOp}) {
		return nil, errResult(http.StatusBadRequest, "invalidSyntax", "schemas must be [\""+schemaPatchOp+"\"]")
	}
	if len(req.Operations) == 0 {
		return nil, errResult(http.StatusBadRequest, "invalidSyntax", "Operations is required")
	}
	b, _ := json.Marshal(cur)
	var doc map[string]any
	_ = json.Unmarshal(b, &doc)
	for i, op := range req.Operations {
		if err := applyOp(doc, op, s.opts.NoTargetOnRemove); err != nil {
			return nil, errResult(http.StatusBadRequest, err.scimType, fmt.Sprintf("Operations[%d]: %s", i, err.msg))
		}
	}
	delete(doc, "meta")
	for k, v := range doc { // a complex attribute left without sub-attributes is unassigned
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			delete(doc, k)
		}
	}
	// Setting an extension attribute adds the extension to schemas, as a
	// service provider does; the client need not patch schemas itself.
	schemas, _ := doc["schemas"].([]any)
	for _, urn := range extensions {
		if _, ok := doc[urn]; ok && !slices.Contains(schemas, any(urn)) {
			schemas = append(schemas, urn)
		}
	}
	doc["schemas"] = schemas
	out, _ := json.Marshal(doc)
	return out, result{}
}

type opError struct{ scimType, msg string }

func opErr(scimType, format string, args ...any) *opError {
	return &opError{scimType, fmt.Sprintf(format, args...)}
}

// path is a parsed PATCH path: keys to walk, then an optional value filter
// on the last (multi-valued) key and a sub-attribute of the matched values.
type path struct {
	keys        []string
	filterAttr  string
	filterValue string
	sub         string
}

var filterPathRE = regexp.MustCompile(`^([A-Za-z][\w]*)\[\s*([A-Za-z][\w]*)\s+eq\s+("(?:[^"\\]|\\.)*")\s*\](?:\.([A-Za-z]\w*))?$`)

var extensions = []string{schemaEnterprise, schemaCiscoUser, schemaCiscoGroup}

func parsePath(p string) (path, *opError) {
	var out path
	for _, urn := range extensions {
		if p == urn {
			return path{keys: []string{urn}}, nil
		}
		if rest, ok := strings.CutPrefix(p, urn+":"); ok {
			out.keys = []string{urn}
			p = rest
			break
		}
	}
	if m := filterPathRE.FindStringSubmatch(p); m != nil {
		var v string
		if err := json.Unmarshal([]byte(m[3]), &v); err != nil {
			return out, opErr("invalidPath", "bad filter value %s", m[3])
		}
		out.keys = append(out.keys, m[1])
		out.filterAttr, out.filterValue, out.sub = m[2], v, m[4]
		return out, nil
	}
	for _, k := range strings.Split(p, ".") {
		if k == "" || strings.ContainsAny(k, "[]\" ") {
			return out, opErr("invalidPath", "unsupported path %q", p)
		}
		out.keys = append(out.keys, k)
	}
	if len(out.keys) > 2 {
		return out, opErr("invalidPath", "unsupported path %q", p)
	}
	return out, nil
}

// applyOp applies one operation; noTargetOnRemove makes a remove whose
// value filter matches nothing an error.
func applyOp(doc map[string]any, op patchOp, noTargetOnRemove bool) *opError {
	switch op.Op {
	case "add", "replace", "remove":
	default:
		return opErr("invalidSyntax", "op must be add, replace or remove (lower-case), got %q", op.Op)
	}
	var value any
	if op.Op != "remove" {
		if len(op.Value) == 0 {
			return opErr("invalidValue", "%s needs a value", op.Op)
		}
		_ = json.Unmarshal(op.Value, &value) // decodeStrict already parsed it
	}
	if op.Path == "" {
		if op.Op == "remove" {
			return opErr("noTarget", "remove needs a path")
		}
		obj, ok := value.(map[string]any)
		if !ok {
			return opErr("invalidValue", "without a path the value must be an object")
		}
		for k, v := range obj {
			if err := setKey(doc, k, v, op.Op == "add"); err != nil {
				return err
			}
		}
		return nil
	}
	p, err := parsePath(op.Path)
	if err != nil {
		return err
	}
	parent := doc
	for _, k := range p.keys[:len(p.keys)-1] {
		next, ok := parent[k].(map[string]any)
		if !ok {
			if op.Op == "remove" {
				return nil
			}
			next = map[string]any{}
			parent[k] = next
		}
		parent = next
	}
	last := p.keys[len(p.keys)-1]
	if p.filterAttr == "" {
		if op.Op == "remove" {
			delete(parent, last)
			return nil
		}
		return setKey(parent, last, value, op.Op == "add")
	}
	items, _ := parent[last].([]any)
	var kept []any
	matched := false
	for _, it := range items {
		m, _ := it.(map[string]any)
		if v, _ := m[p.filterAttr].(string); m != nil && strings.EqualFold(v, p.filterValue) {
			matched = true
			switch {
			case op.Op == "remove" && p.sub == "":
				continue // drop the value
			case op.Op == "remove":
				delete(m, p.sub)
			case p.sub != "":
				m[p.sub] = value
			default:
				obj, ok := value.(map[string]any)
				if !ok {
					return opErr("invalidValue", "value for %q must be an object", op.Path)
				}
				it = obj
			}
		}
		kept = append(kept, it)
	}
	if !matched && (op.Op != "remove" || noTargetOnRemove) {
		return opErr("noTarget", "no value matches %q", op.Path)
	}
	if len(kept) == 0 {
		delete(parent, last)
	} else {
		parent[last] = kept
	}
	return nil
}

// setKey sets doc[k]; add appends to a multi-valued attribute.
func setKey(doc map[string]any, k string, v any, add bool) *opError {
	if add {
		if cur, ok := doc[k].([]any); ok {
			nv, ok := v.([]any)
			if !ok {
				nv = []any{v}
			}
			doc[k] = append(cur, nv...)
			return nil
		}
	}
	if sub, ok := v.(map[string]any); ok {
		if cur, ok := doc[k].(map[string]any); ok && !isMulti(k) {
			for sk, sv := range sub { // a complex value merges its sub-attributes
				cur[sk] = sv
			}
			return nil
		}
	}
	doc[k] = v
	return nil
}

func isMulti(k string) bool {
	switch k {
	case "emails", "phoneNumbers", "members":
		return true
	}
	return false
}
