package scim

import (
	"encoding/json"
	"math"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/internal/rawjson"
)

// roundTrip normalises a document to what JSON storage gives back, so
// before/after comparisons and change payloads see the same types. It
// returns the encoding to store and, instead of decoding it again, a copy
// of doc with the types decoding would give (jsonValue); the decode is
// the fallback for anything jsonValue does not know.
func roundTrip(doc map[string]any) (map[string]any, []byte, error) {
	b, err := encodeJSON(doc, 1024)
	if err != nil {
		return nil, nil, err
	}
	if v, ok := jsonValue(doc); ok {
		if out, ok := v.(map[string]any); ok {
			return out, b, nil
		}
	}
	var out map[string]any
	err = json.Unmarshal(b, &out)
	return out, b, err
}

// encodeJSON is json.Marshal(v): without reflection for decoded JSON's
// types (rawjson.AppendValue), by json.Marshal for anything else and for
// its errors. size is a capacity hint.
func encodeJSON(v any, size int) ([]byte, error) {
	if b, ok := rawjson.AppendValue(make([]byte, 0, size), v); ok {
		return b, nil
	}
	return json.Marshal(v)
}

// jsonValue returns a deep copy of v as json.Unmarshal into an any would
// give it back after json.Marshal: numbers float64, nil maps and slices
// null. ok is false for types, floats (NaN, ±Inf) or strings (invalid
// UTF-8) whose round trip it does not reproduce; json.Number among them,
// since decoding can refuse one that encoding accepted.
func jsonValue(v any) (any, bool) {
	switch v := v.(type) {
	case nil, bool:
		return v, true
	case string:
		return v, utf8.ValidString(v)
	case float64:
		return v, !math.IsInf(v, 0) && !math.IsNaN(v)
	case int64:
		return float64(v), true // correctly rounded, as parsing its decimal form
	case map[string]any:
		if v == nil {
			return nil, true
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, ok := jsonValue(e)
			if !ok || !utf8.ValidString(k) {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	case []any:
		if v == nil {
			return nil, true
		}
		out := make([]any, len(v))
		for i, e := range v {
			c, ok := jsonValue(e)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	}
	return nil, false
}
