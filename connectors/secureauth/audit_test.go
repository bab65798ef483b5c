package secureauth

import (
	"net/http"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors/secureauth/secureauthsim"
)

// TestAnswerDateLayouts: the guide asks for the answer's X-SA-Date only as
// "a second-precision timestamp". The signature covers the header's text
// whatever its layout; the freshness check must read every common RFC 1123
// variant (a Go server writing time.RFC1123 says "UTC", not "GMT"), or
// every success from such a target is refused as tampered.
func TestAnswerDateLayouts(t *testing.T) {
	for _, layout := range []string{
		http.TimeFormat,
		time.RFC1123,
		time.RFC1123Z,
		"Mon, 02 Jan 2006 15:04:05.000 GMT",
		"Mon, 2 Jan 2006 15:04:05 GMT",
		time.RFC850,
		time.ANSIC,
		time.RFC3339,
		time.RFC3339Nano,
	} {
		t.Run(layout, func(t *testing.T) {
			f := newFixture(t, secureauthsim.Options{AnswerDateLayout: layout}, nil)
			if r := f.one(createUser("jdoe", "firstName", "John")); r.Err != nil {
				t.Fatalf("create answered with X-SA-Date as %q: %v", layout, r.Err)
			}
		})
	}
}
