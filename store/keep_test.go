package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestIndexedOfMatchesUnmarshal: the scanning indexedOf reads what
// json.Unmarshal into the struct reads (case-insensitive names, last of a
// repeated key, null, odd types, escaped keys, unreadable JSON).
func TestIndexedOfMatchesUnmarshal(t *testing.T) {
	for _, doc := range []string{
		`{"id":"u","userName":"Bob","externalId":"e1","emails":[{"value":"A@x","type":"work"}],"name":{"userName":"inner"}}`,
		`{"USERNAME":"bob","DisplayName":"G","externalid":null}`,
		`{"userName":"a","userName":"b"}`,
		`{"userName":7,"emails":"x","displayName":{"a":1}}`,
		`{"user\u004eame":"escaped"}`,
		` { "userName" : "spaced" } `,
		`{}`,
	} {
		got, err := indexedOf("User", "u", []byte(doc))
		var want indexed
		if werr := json.Unmarshal([]byte(doc), &want); werr != nil || err != nil {
			t.Fatalf("%s: %v / %v", doc, err, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: indexedOf %+v, Unmarshal %+v", doc, got, want)
		}
	}
	if _, err := indexedOf("User", "u", []byte(`{"userName":`)); err == nil {
		t.Error("unreadable JSON accepted")
	}
}

func BenchmarkIndexedOf(b *testing.B) {
	doc := []byte(`{"active":true,"displayName":"Jane Doe","emails":[{"primary":true,"type":"work","value":"jane@example.com"}],"externalId":"jane@example.com","id":"2819c223-7f76-453a-919d-413861904646","locale":"en-US","meta":{"created":"2026-12-05T17:32:13.750Z","lastModified":"2026-12-05T17:32:13.750Z","resourceType":"User","version":"W/\"3\""},"name":{"familyName":"Doe","givenName":"Jane"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jane@example.com"}`)
	b.Run("scan", func(b *testing.B) {
		for range b.N {
			indexedOf("User", "u", doc)
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		for range b.N {
			var k indexed
			json.Unmarshal(doc, &k)
		}
	})
}
