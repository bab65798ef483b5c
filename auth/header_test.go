package auth

import (
	"encoding/base64"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   Credential
		err    error
	}{
		{"bearer", "Bearer abc.def-_~+/==", Credential{Scheme: SchemeBearer, Token: "abc.def-_~+/=="}, nil},
		{"bearer any case", "bEaReR tok", Credential{Scheme: SchemeBearer, Token: "tok"}, nil},
		{"bearer extra spaces", "Bearer   tok  ", Credential{Scheme: SchemeBearer, Token: "tok"}, nil},
		{"raw header auth", "s3cr3t-token", Credential{Scheme: SchemeRaw, Token: "s3cr3t-token"}, nil},
		{"basic", "Basic " + b64("okta:p@ss:word"), Credential{Scheme: SchemeBasic, Username: "okta", Password: "p@ss:word"}, nil},
		{"basic utf-8", "basic " + b64("jürgen:pässwörd"), Credential{Scheme: SchemeBasic, Username: "jürgen", Password: "pässwörd"}, nil},
		{"basic unpadded", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("u:pw")), Credential{Scheme: SchemeBasic, Username: "u", Password: "pw"}, nil},
		{"basic empty password", "Basic " + b64("u:"), Credential{Scheme: SchemeBasic, Username: "u"}, nil},
		{"empty", "", Credential{}, errNoCredential},
		{"blank", "   ", Credential{}, errNoCredential},
		{"bearer without token", "Bearer ", Credential{}, errMalformed},
		{"bearer two words", "Bearer a b", Credential{}, errMalformed},
		{"bearer bad chars", "Bearer a\"b", Credential{}, errMalformed},
		{"basic no colon", "Basic " + b64("user"), Credential{}, errMalformed},
		{"basic empty user", "Basic " + b64(":pw"), Credential{}, errMalformed},
		{"basic not base64", "Basic !!!", Credential{}, errMalformed},
		{"basic invalid utf-8", "Basic " + b64("u:\xff\xfe"), Credential{}, errMalformed},
		{"basic control char", "Basic " + b64("u:p\nw"), Credential{}, errMalformed},
		{"digest", "Digest username=x", Credential{}, errScheme},
		{"raw with bad char", "tok,en", Credential{}, errMalformed},
		{"padding in middle", "Bearer ab=cd", Credential{}, errMalformed},
		{"too long", "Bearer " + string(make([]byte, maxHeader)), Credential{}, errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthorization(tt.header)
			if err != tt.err || got != tt.want {
				t.Errorf("ParseAuthorization(%q) = %+v, %v; want %+v, %v", tt.header, got, err, tt.want, tt.err)
			}
		})
	}
}
