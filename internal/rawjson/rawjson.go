// Package rawjson finds the members of a JSON object in its bytes without
// decoding it: scim serves stored documents by splicing the parts a
// request derives, and store reads the few values its indexes key.
package rawjson

// ScanObject walks the members of the JSON object raw (one object,
// optional surrounding white space), calling fn with each key as written
// (quotes included) and its value's span; fn returning false stops the
// walk with false. *end is set to the index of the closing brace. It
// reports false for anything that is not a well-formed object.
func ScanObject(raw []byte, fn func(key []byte, vs, ve int) bool, end *int) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		*end = i
		return true
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return false
		}
		ks := i
		if i = SkipValue(raw, i); i < 0 {
			return false
		}
		key := raw[ks:i]
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		vs := skipSpace(raw, i+1)
		ve := SkipValue(raw, vs)
		if ve < 0 || !fn(key, vs, ve) {
			return false
		}
		i = skipSpace(raw, ve)
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			*end = i
			return true
		default:
			return false
		}
	}
	return false
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\t' || raw[i] == '\r') {
		i++
	}
	return i
}

// SkipValue returns the index just past the JSON value starting at i, or
// -1 if it is cut short. Values are assumed valid (they were encoded by
// json.Marshal); only their extent is found.
func SkipValue(raw []byte, i int) int {
	if i >= len(raw) {
		return -1
	}
	switch raw[i] {
	case '"':
		for i++; i < len(raw); i++ {
			switch raw[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for ; i < len(raw); i++ {
			switch raw[i] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			case '"':
				j := SkipValue(raw, i)
				if j < 0 {
					return -1
				}
				i = j - 1
			}
		}
		return -1
	}
	for ; i < len(raw); i++ {
		switch raw[i] {
		case ',', '}', ']', ' ', '\n', '\t', '\r':
			return i
		}
	}
	return i
}
