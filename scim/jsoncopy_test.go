package scim

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// decodeRoundTrip is roundTrip as it was: encode, then decode again.
func decodeRoundTrip(t testing.TB, doc map[string]any) (map[string]any, []byte, error) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	var out map[string]any
	err = json.Unmarshal(b, &out)
	return out, b, err
}

// sameRoundTrip fails unless roundTrip gives exactly what encoding and
// decoding doc gives: document, bytes and whether it failed.
func sameRoundTrip(t testing.TB, doc map[string]any) {
	t.Helper()
	got, gotB, gotErr := roundTrip(doc)
	want, wantB, wantErr := decodeRoundTrip(t, doc)
	if !reflect.DeepEqual(got, want) || string(gotB) != string(wantB) || (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("roundTrip(%#v) = %#v, %s, %v; decoding gives %#v, %s, %v", doc, got, gotB, gotErr, want, wantB, wantErr)
	}
}

func TestRoundTripMatchesDecode(t *testing.T) {
	for _, doc := range []map[string]any{
		{},
		{"s": "x", "b": true, "n": nil, "f": 0.5, "neg0": math.Copysign(0, -1), "big": 1e300},
		{"i": int64(3), "imax": int64(math.MaxInt64), "odd": int64(9007199254740993), "imin": int64(math.MinInt64)},
		{"nested": map[string]any{"a": []any{int64(1), "x", map[string]any{"b": false}}}},
		{"nilslice": []any(nil), "empty": []any{}, "nilmap": map[string]any(nil), "emptymap": map[string]any{}},
		{"html": "<R&D>", "unicode": "é\u2028"},
		{"number": json.Number("12")},        // fallback: decoded as float64
		{"hugenumber": json.Number("1e400")}, // fallback: decoding fails
		{"inf": math.Inf(1)},                 // encoding fails
		{"badutf8": "\xff"},                  // fallback: replaced by U+FFFD
		{"\xff": "key"},                      // likewise in a key
		{"other": []string{"a"}, "int": 3},   // fallback: other Go types
		{"deep": []any{map[string]any{"n": json.Number("1")}}},
	} {
		sameRoundTrip(t, doc)
	}
}

// FuzzRoundTrip compares roundTrip with encoding and decoding on stored
// documents built from arbitrary bodies the validator accepts, and on the
// raw decoded bodies (json.Number: the fallback).
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		`{"userName":"a","active":"True","emails":[{"value":"a@b","primary":"False"}]}`,
		`{"userName":"a","` + acmeURN + `":{"level":"3","ratio":2.5e10,"vip":true,"tags":["x"]}}`,
		`{"userName":"a","emails":{"value":"a","type":"w"},"` + acmeURN + `":{"level":-9223372036854775808}}`,
		`{"displayName":"G","externalId":"e","x":[1,null,{}]}`,
	} {
		f.Add(s)
	}
	e := newEnv(f, Options{Extensions: checkExtensions})
	f.Fuzz(func(t *testing.T, body string) {
		raw, pe := decodeObject([]byte(body))
		if pe != nil {
			return
		}
		sameRoundTrip(t, raw)
		for _, d := range []*resourceDef{e.s.user, e.s.group} {
			attrs, ce := checkBody(t, e.s, d, body)
			if ce != nil {
				continue
			}
			sameRoundTrip(t, e.s.newDoc(d, "id", attrs, nil))
		}
	})
}
