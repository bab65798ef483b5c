package scim

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/activity"
)

// BearerAuth accepts requests whose Authorization header carries one of
// tokens ("Bearer <token>", scheme case-insensitive). Several tokens allow
// rotation. Tokens are compared in constant time, over their SHA-256 so
// that neither content nor length leaks; every token is checked so the
// time does not reveal which one matched. Anything else is answered 401
// with a SCIM error body and WWW-Authenticate: Bearer. Empty tokens are
// ignored, so an empty list rejects every request.
func BearerAuth(tokens []string) func(http.Handler) http.Handler {
	var sums [][32]byte
	for _, t := range tokens {
		if t != "" {
			sums = append(sums, sha256.Sum256([]byte(t)))
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := authorized(r.Header.Get("Authorization"), sums)
			if n == 0 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="scimbridge"`)
				WriteError(w, http.StatusUnauthorized, "", "missing or invalid bearer token")
				return
			}
			// The activity log names the client by the token's position
			// (never the token).
			next.ServeHTTP(w, r.WithContext(activity.WithClient(r.Context(), "token #"+strconv.Itoa(n))))
		})
	}
}

// authorized returns the position (from 1) of the token the header
// carries, or 0.
func authorized(header string, sums [][32]byte) int {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return 0
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	match := 0
	for i := range sums {
		eq := subtle.ConstantTimeCompare(got[:], sums[i][:])
		match = subtle.ConstantTimeSelect(eq, i+1, match)
	}
	return match
}
