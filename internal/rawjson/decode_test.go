package rawjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

var decodeSeeds = []string{
	`{}`, ` {"a":1} `, `{"a":"x","a":"y"}`, `{"a":{"b":1},"a":{"c":2}}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@example.com","name":{"givenName":"Jane","familyName":"Doe"},"emails":[{"primary":true,"value":"a@example.com","type":"work"}],"active":true,"meta":{"version":"W/\"3\""},"x":null}`,
	`{"n":[0,-0,1.5,-2e10,1E+2,3e-2,12345678901234567890,1e400,-1e400,01,1.,.5,-,+1,1e,0.0e0]}`,
	`{"n":1e400}`, `{"n":01}`, `{"n":-}`, `{"n":1.}`, `{"n":0.0e0}`, `{"n":-0}`, `{"n":123456789012345678901234567890}`,
	`{"s":"a\"b\\c\/d\be\ff\ng\rh\ti"}`, `{"s":"\u003cb\u003e \u0026 \u2028 \u00e9 \u0000 \ufffd"}`,
	`{"s":"\ud83d\ude00"}`, `{"s":"\ud83d"}`, `{"s":"\udcff"}`, `{"s":"\ud83dx"}`, `{"s":"\u12"}`, `{"s":"\uzzzz"}`,
	`{"s":"\'"}`, `{"s":"\x"}`, "{\"s\":\"\x01\"}", "{\"s\":\"\xff\"}", "{\"s\":\"é€😀\"}", "{\"\xff\":1}",
	`{"a":[]}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":{,}}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":tru}`, `{"a":nul}`,
	`{"a":true,"b":false,"c":null}`, `{"a":[[[[[]]]]]}`, `[1]`, `null`, `"x"`, `{"a":1} x`, `{"a":1}}`, `{"a":1}]`,
	"{\"a\":1}\n", "\t{\r\n\"a\" :\t1 }", `{"a":"unterminated`, `{"a":`, `{`, ``, `{"a":1`,
}

// TestDecodeObjectMatchesJSON: wherever DecodeObject accepts, it gives
// what json.Unmarshal (and Decoder with UseNumber) gives, and every seed
// json accepts as a lone object in the simple subset is decoded fast.
func TestDecodeObjectMatchesJSON(t *testing.T) {
	fast := 0
	for _, s := range decodeSeeds {
		if checkDecode(t, []byte(s)) {
			fast++
		}
	}
	if fast < 15 {
		t.Errorf("only %d seeds took the fast path", fast)
	}
	// Must be accepted (the common shapes).
	for _, s := range []string{decodeSeeds[4], `{"s":"\u003cb\u003e \u0026 \u2028 \u00e9 \u0000 \ufffd"}`, `{"n":1.5}`, "{\"s\":\"é€😀\"}"} {
		for _, num := range []bool{false, true} {
			if _, _, ok := DecodeObject([]byte(s), num); !ok {
				t.Errorf("%s (useNumber %v): not decoded", s, num)
			}
		}
	}
}

// checkDecode compares DecodeObject with encoding/json on b, both number
// modes; it reports whether the fast path took b.
func checkDecode(t *testing.T, b []byte) bool {
	t.Helper()
	took := false
	for _, useNumber := range []bool{false, true} {
		m, end, ok := DecodeObject(b, useNumber)
		if !ok {
			continue
		}
		took = true
		if end <= 0 || end > len(b) || b[end-1] != '}' {
			t.Fatalf("%q: end %d", b, end)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if useNumber {
			dec.UseNumber()
		}
		var want map[string]any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("%q (useNumber %v): fast path accepted what json refuses: %v", b, useNumber, err)
		}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("%q (useNumber %v):\n got %#v\nwant %#v", b, useNumber, m, want)
		}
		if off := dec.InputOffset(); int(off) != end {
			t.Fatalf("%q: end %d, json's offset %d", b, end, off)
		}
		if !useNumber && skipSpace(b, end) == len(b) {
			var whole map[string]any
			if err := json.Unmarshal(b, &whole); err != nil || !reflect.DeepEqual(whole, m) {
				t.Fatalf("%q: Unmarshal %v %#v", b, err, whole)
			}
		}
	}
	return took
}

func FuzzDecodeObject(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDecode(t, b) })
}
