package scim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzCheckText: a body checkText accepts decodes without any replacement
// character the client did not send itself (as U+FFFD or \ufffd).
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\udcff"}`, `{"a":"\\udcff"}`, "{\"a\":\"\xff\"}", `{"a":"\ud83d"}`, `{"a":"\ud83d\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkText(b) != nil {
			return
		}
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		sent := bytes.Contains(b, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(b), []byte(`\ufffd`))
		if enc, _ := json.Marshal(v); !sent && strings.Contains(string(enc), "\uFFFD") {
			t.Fatalf("accepted %q, decoded with a replacement character: %s", b, enc)
		}
	})
}
