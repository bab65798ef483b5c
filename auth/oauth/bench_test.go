package oauth

import (
	"net/url"
	"testing"
)

// BenchmarkVerifyAccessToken is one uncached verification (EdDSA
// signature, claims, client and secret checks): what the first request
// with a new access token costs before auth caches the verdict.
func BenchmarkVerifyAccessToken(b *testing.B) {
	e := newEnv(b)
	tok := e.token(url.Values{"grant_type": {"client_credentials"}}, "gallery", gallerySecret, 200)["access_token"].(string)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := e.srv.VerifyAccessToken(tok); err != nil {
			b.Fatal(err)
		}
	}
}
