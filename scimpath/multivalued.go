package scimpath

import (
	"reflect"
	"strings"
)

// RFC 7643 §2.4 for multi-valued attributes: "primary" true MUST appear
// at most once, and duplicate values SHOULD NOT be returned. RFC 7644
// §3.5.2: a PATCH that sets primary true on one value makes the server
// set it false on the others.

// MultiplePrimary names the first multi-valued attribute of res (at the
// top level or in an extension object) in which more than one value has
// "primary": true, "" if none. Names are as spelled in res; extension
// attributes are "urn:…:name".
func MultiplePrimary(res map[string]any) string {
	name := ""
	eachList(res, func(n string, list []any) {
		if name == "" && countPrimary(list) > 1 {
			name = n
		}
	})
	return name
}

// DropDuplicateValues removes, from every multi-valued attribute of res
// holding complex values, each value equal to an earlier one apart from
// "primary" (the same type and value, nothing else different). A dropped
// duplicate's primary moves to the value kept. Values are grouped by
// their "value" first, so a list of thousands (a group's members) costs
// linear time.
func DropDuplicateValues(res map[string]any) {
	eachListRef(res, func(list []any) []any {
		if len(list) < 2 {
			return list
		}
		var out []any
		seen := make(map[any][]int, len(list)) // value → indexes in out
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				if out != nil {
					out = append(out, e)
				}
				continue
			}
			key := dedupeKey(m)
			kept := out // until a duplicate is found, out is list[:i]
			if kept == nil {
				kept = list
			}
			dup := -1
			for _, j := range seen[key] {
				if equalButPrimary(kept[j].(map[string]any), m) {
					dup = j
					break
				}
			}
			if out == nil && dup >= 0 {
				out = append(make([]any, 0, len(list)), list[:i]...)
			}
			if dup < 0 {
				if out != nil {
					out = append(out, e)
					seen[key] = append(seen[key], len(out)-1)
				} else {
					seen[key] = append(seen[key], i)
				}
				continue
			}
			if primaryValue(m) && !primaryValue(out[dup]) { // out exists: dup was found
				km := out[dup].(map[string]any)
				_, k, found := lookupKey(km, "primary")
				if !found {
					k = "primary"
				}
				km[k] = true
			}
		}
		if out == nil {
			return list
		}
		return out
	})
}

// dedupeKey groups values that may be duplicates: by their "value" when
// it is a scalar, all others together.
func dedupeKey(m map[string]any) any {
	switch v := m["value"].(type) {
	case string, bool, float64:
		return v
	}
	return nil
}

// primarySnapshot records the values marked primary in each multi-valued
// attribute before an operation, as copies (an operation may change an
// element in place).
type primarySnapshot map[string][]map[string]any

func takePrimarySnapshot(res map[string]any) primarySnapshot {
	var snap primarySnapshot
	eachList(res, func(name string, list []any) {
		for _, e := range list {
			if primaryValue(e) {
				if snap == nil {
					snap = primarySnapshot{}
				}
				m := e.(map[string]any)
				c := make(map[string]any, len(m))
				for k, v := range m {
					c[k] = v
				}
				snap[name] = append(snap[name], c)
			}
		}
	})
	return snap
}

// mayAffectPrimary reports whether settlePrimary could change anything
// after op: op names "primary" (in its path, or as a key anywhere in its
// value), or a list of res already has two primary values. Otherwise no
// list can end with two primaries and the snapshot (a copy of every
// primary value) is not needed.
func mayAffectPrimary(res map[string]any, op Operation) bool {
	if containsFold(op.Path, "primary") || mentionsPrimary(op.Value) {
		return true
	}
	two := false
	eachList(res, func(_ string, list []any) { two = two || countPrimary(list) > 1 })
	return two
}

func mentionsPrimary(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if containsFold(k, "primary") || mentionsPrimary(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if mentionsPrimary(e) {
				return true
			}
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// settlePrimary makes the values an operation marked primary the only
// primary ones of their attribute (RFC 7644 §3.5.2): the others get
// "primary": false. An operation that marks two values of one attribute
// primary is 400 invalidValue.
func settlePrimary(res map[string]any, before primarySnapshot) error {
	var err error
	eachList(res, func(name string, list []any) {
		if err != nil || countPrimary(list) < 2 {
			return
		}
		var fresh []map[string]any
		for _, e := range list {
			if !primaryValue(e) {
				continue
			}
			m := e.(map[string]any)
			old := false
			for _, b := range before[name] {
				if equalButPrimary(b, m) {
					old = true
					break
				}
			}
			if !old {
				fresh = append(fresh, m)
			}
		}
		switch len(fresh) {
		case 0: // already stored that way; not this operation's doing
		case 1:
			for _, e := range list {
				if m, ok := e.(map[string]any); ok && primaryValue(m) && !sameMap(m, fresh[0]) {
					_, key, _ := lookupKey(m, "primary")
					m[key] = false
				}
			}
		default:
			err = multiplePrimaryError(name)
		}
	})
	return err
}

// checkValuePrimary refuses an operation value that itself carries more
// than one primary value for one attribute.
func checkValuePrimary(op Operation) error {
	switch v := op.Value.(type) {
	case []any:
		if countPrimary(v) > 1 {
			return multiplePrimaryError(op.Path)
		}
	case map[string]any:
		if name := MultiplePrimary(v); name != "" {
			return multiplePrimaryError(name)
		}
	}
	return nil
}

func multiplePrimaryError(name string) *Error {
	return badRequest(ErrInvalidValue, quoteShort(name)+`: more than one value has "primary": true (RFC 7643 §2.4 allows one)`)
}

func primaryValue(e any) bool {
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	switch v, _, _ := lookupKey(m, "primary"); v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

func countPrimary(list []any) int {
	n := 0
	for _, e := range list {
		if primaryValue(e) {
			n++
		}
	}
	return n
}

// equalButPrimary reports whether two complex values are equal apart from
// their "primary" sub-attribute.
func equalButPrimary(a, b map[string]any) bool {
	n := 0
	for k, av := range a {
		if strings.EqualFold(k, "primary") {
			continue
		}
		n++
		bv, ok := b[k]
		if !ok || !reflect.DeepEqual(av, bv) {
			return false
		}
	}
	for k := range b {
		if !strings.EqualFold(k, "primary") {
			n--
		}
	}
	return n == 0
}

// eachList calls fn with every list-valued attribute of res: top-level
// ones by their key, those inside an extension object as "urn:…:name".
func eachList(res map[string]any, fn func(name string, list []any)) {
	for k, v := range res {
		switch v := v.(type) {
		case []any:
			fn(k, v)
		case map[string]any:
			if isURN(k) {
				for ek, ev := range v {
					if l, ok := ev.([]any); ok {
						fn(k+":"+ek, l)
					}
				}
			}
		}
	}
}

// eachListRef is eachList with the chance to replace each list.
func eachListRef(res map[string]any, fn func(list []any) []any) {
	for k, v := range res {
		switch v := v.(type) {
		case []any:
			if k == "schemas" {
				continue
			}
			res[k] = fn(v)
		case map[string]any:
			if isURN(k) {
				for ek, ev := range v {
					if l, ok := ev.([]any); ok {
						v[ek] = fn(l)
					}
				}
			}
		}
	}
}

func isURN(k string) bool { return len(k) > 4 && strings.EqualFold(k[:4], "urn:") }
