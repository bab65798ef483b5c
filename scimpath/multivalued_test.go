package scimpath

import (
	"fmt"
	"testing"
)

// RFC 7643 §2.4 / RFC 7644 §3.5.2: one primary per attribute; a PATCH that
// makes a value primary clears the others; a value carrying two is refused.
func TestApplyPatchPrimary(t *testing.T) {
	runPatchTests(t, CoreUser(), []patchTest{
		{name: "replace filtered primary moves it",
			ops:  `[{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}]`,
			want: map[string]string{"emails": `[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home","primary":true}]`}},
		{name: "add a primary value clears the old one",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"new@example.com","type":"other","primary":true}]}]`,
			want: map[string]string{"emails": `[{"value":"bjensen@example.com","type":"work","primary":false},` + homeEmail + `,{"value":"new@example.com","type":"other","primary":true}]`}},
		{name: "path-less add of a primary value clears the old one",
			ops:  `[{"op":"add","value":{"emails":[{"value":"new@example.com","type":"other","primary":true}]}}]`,
			want: map[string]string{"emails": `[{"value":"bjensen@example.com","type":"work","primary":false},` + homeEmail + `,{"value":"new@example.com","type":"other","primary":true}]`}},
		{name: "string True counts as primary",
			ops:  `[{"op":"Replace","path":"emails[type eq \"home\"].primary","value":"True"}]`,
			want: map[string]string{"emails": `[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home","primary":true}]`}},
		{name: "two operations: the later primary wins",
			ops: `[{"op":"replace","path":"emails[type eq \"home\"].primary","value":true},` +
				`{"op":"replace","path":"emails[type eq \"work\"].primary","value":true}]`,
			want: map[string]string{"emails": `[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home","primary":false}]`}},
		{name: "value with two primaries",
			ops:     `[{"op":"add","path":"emails","value":[{"value":"a@x","primary":true},{"value":"b@x","primary":true}]}]`,
			wantErr: ErrInvalidValue},
		{name: "replace whole list with two primaries",
			ops:     `[{"op":"replace","path":"phoneNumbers","value":[{"value":"1","primary":true},{"value":"2","primary":true}]}]`,
			wantErr: ErrInvalidValue},
		{name: "path-less value with two primaries",
			ops:     `[{"op":"replace","value":{"emails":[{"value":"a@x","primary":true},{"value":"b@x","primary":"true"}]}}]`,
			wantErr: ErrInvalidValue},
		{name: "filter matching two values made primary",
			res:     `{"userName":"u","emails":[{"value":"a@x","type":"work"},{"value":"b@x","type":"work"}]}`,
			ops:     `[{"op":"replace","path":"emails[type eq \"work\"].primary","value":true}]`,
			wantErr: ErrInvalidValue},
		{name: "unrelated change leaves primaries alone",
			ops:  `[{"op":"replace","path":"displayName","value":"B"}]`,
			want: map[string]string{"displayName": `"B"`}},
	})
}

func TestMultiplePrimary(t *testing.T) {
	tests := []struct {
		doc, want string
	}{
		{`{"emails":[{"value":"a","primary":true},{"value":"b","primary":false}]}`, ""},
		{`{"emails":[{"value":"a","primary":true},{"value":"b","primary":true}]}`, "emails"},
		{`{"phoneNumbers":[{"value":"1","primary":true},{"value":"1","primary":true}]}`, "phoneNumbers"},
		{`{"urn:x:ext":{"things":[{"value":"a","primary":true},{"value":"b","primary":true}]}}`, "urn:x:ext:things"},
		{`{"schemas":["a","b"],"emails":[]}`, ""},
	}
	for _, tt := range tests {
		if got := MultiplePrimary(decode(t, tt.doc)); got != tt.want {
			t.Errorf("MultiplePrimary(%s) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

func TestDropDuplicateValues(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"emails":[{"value":"a@x","type":"work"},{"value":"a@x","type":"work"}]}`,
			`{"emails":[{"value":"a@x","type":"work"}]}`},
		{`{"emails":[{"value":"a@x","type":"work"},{"value":"a@x","type":"work","primary":true}]}`,
			`{"emails":[{"value":"a@x","type":"work","primary":true}]}`},
		{`{"emails":[{"value":"a@x","type":"work"},{"value":"a@x","type":"home"},{"value":"A@x","type":"work"}]}`,
			`{"emails":[{"value":"a@x","type":"work"},{"value":"a@x","type":"home"},{"value":"A@x","type":"work"}]}`},
		{`{"emails":[{"value":"a@x","type":"work"},{"value":"a@x","type":"work","display":"A"}]}`,
			`{"emails":[{"value":"a@x","type":"work"},{"value":"a@x","type":"work","display":"A"}]}`},
		{`{"addresses":[{"type":"work","locality":"X"},{"type":"work","locality":"X"},{"type":"work","locality":"Y"}]}`,
			`{"addresses":[{"type":"work","locality":"X"},{"type":"work","locality":"Y"}]}`},
		{`{"urn:x:ext":{"things":[{"value":"a"},{"value":"a"}]},"schemas":["s","s"]}`,
			`{"urn:x:ext":{"things":[{"value":"a"}]},"schemas":["s","s"]}`},
	}
	for _, tt := range tests {
		doc := decode(t, tt.in)
		DropDuplicateValues(doc)
		if got, want := mustJSON(t, doc), mustJSON(t, decode(t, tt.want)); got != want {
			t.Errorf("DropDuplicateValues(%s) = %s, want %s", tt.in, got, want)
		}
	}
}

func TestDropDuplicateValuesLong(t *testing.T) {
	var list []any
	for i := range 4000 {
		list = append(list, map[string]any{"value": fmt.Sprint(i % 2000)})
	}
	doc := map[string]any{"members": list}
	DropDuplicateValues(doc)
	got := doc["members"].([]any)
	if len(got) != 2000 {
		t.Fatalf("%d values kept, want 2000", len(got))
	}
	for i, e := range got {
		if e.(map[string]any)["value"] != fmt.Sprint(i) {
			t.Fatalf("value %d is %v: order not kept", i, e)
		}
	}
}
