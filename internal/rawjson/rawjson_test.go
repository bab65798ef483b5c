package rawjson

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestScanObject(t *testing.T) {
	for _, tt := range []struct {
		in   string
		keys int
		ok   bool
	}{
		{`{}`, 0, true},
		{` { "a" : 1 , "b":[1,{"c":"}"}],"d":"\"}"} `, 3, true},
		{`{"a":1`, 1, false},
		{`{"a" 1}`, 0, false},
		{`[1]`, 0, false},
		{`{"a":"x\"}`, 0, false},
	} {
		n, end := 0, -1
		ok := ScanObject([]byte(tt.in), func([]byte, int, int) bool { n++; return true }, &end)
		if ok != tt.ok || ok && n != tt.keys {
			t.Errorf("ScanObject(%s) = %v with %d keys, want %v with %d", tt.in, ok, n, tt.ok, tt.keys)
		}
	}
}

// FuzzScanObject: on any valid JSON object ScanObject succeeds, and each
// value span it reports decodes as the value json.Unmarshal gives for
// that key (the last one, for a repeated key).
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":[{"c":"}"}],"d":"\"}"}`, ` {"a" : null , "a": true}`, `{"x":{"y":[1,2,{"z":"\\"}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want map[string]any
		if json.Unmarshal(b, &want) != nil || want == nil || !json.Valid(b) {
			return
		}
		got := map[string]any{}
		end := -1
		ok := ScanObject(b, func(key []byte, vs, ve int) bool {
			var k string
			var v any
			if json.Unmarshal(key, &k) != nil || json.Unmarshal(b[vs:ve], &v) != nil {
				t.Fatalf("span of %s: %q does not decode", key, b[vs:ve])
			}
			got[k] = v
			return true
		}, &end)
		if !ok || !reflect.DeepEqual(got, want) || end < 0 || b[end] != '}' {
			t.Fatalf("ScanObject(%q) = %v %v, want %v", b, ok, got, want)
		}
	})
}
