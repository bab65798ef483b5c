package rawjson

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestAppendValueMatchesMarshal: AppendValue writes json.Marshal's bytes,
// and declines exactly where it must (types it does not know, values
// json.Marshal refuses).
func TestAppendValueMatchesMarshal(t *testing.T) {
	type m = map[string]any
	cases := []any{
		nil, true, false, "", "plain", "a\"b\\c\b\f\n\r\t\x01\x1f", "<b> & </b>", "\u2028\u2029", "é€😀", "bad\xff\xfeutf8", "\xed\xa0\x80",
		0.0, math.Copysign(0, -1), 1.0, -1.5, 1e20, 1e21, 123456789.125, 1e-6, 1e-7, 5e-324, math.MaxFloat64, 1.7976931348623157e300, 0.1 + 0.2,
		json.Number("12"), json.Number(""), json.Number("-0.5e+10"), json.Number("1e400"),
		m{}, m(nil), []any(nil), []any{}, []any{1.0, "x", nil, m{"b": 1.0, "a": []any{true}}},
		m{"z": 1.0, "a": 2.0, "M": 3.0, "é": 4.0, "\xff": 5.0, "<": 6.0, "": 7.0, "a\u2028": "x"},
		m{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "a@example.com", "meta": m{"version": `W/"3"`}},
	}
	for _, v := range cases {
		checkEncode(t, v, true)
	}
	for _, v := range []any{math.NaN(), math.Inf(1), json.Number("1.2.3"), json.Number("01"), int64(1), 1, float32(1), []string{"x"}, map[string]string{}, struct{}{}, m{"a": []any{math.Inf(-1)}}} {
		if _, ok := AppendValue(nil, v); ok {
			t.Errorf("%#v: encoded, want declined", v)
		}
	}
}

func checkEncode(t *testing.T, v any, mustTake bool) {
	t.Helper()
	want, err := json.Marshal(v)
	got, ok := AppendValue([]byte("prefix"), v)
	if !ok {
		if mustTake {
			t.Errorf("%#v: declined (json.Marshal: %s, %v)", v, want, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%#v: encoded %s, json.Marshal refuses: %v", v, got, err)
	}
	if !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("%#v:\n got %s\nwant %s", v, got[len("prefix"):], want)
	}
}

// FuzzAppendValue encodes whatever encoding/json decodes from the input
// (both number modes) both ways.
func FuzzAppendValue(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`[1e-7,1e21,123456789012345678901234567890,0.000001,-0,"\u003c\u2028\ud800"]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if json.Unmarshal(b, &v) == nil {
			checkEncode(t, v, true)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var n any
		if d.Decode(&n) == nil {
			checkEncode(t, n, true)
		}
	})
}
