package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// FuzzAuthorization: no header panics the parser or the middleware, and
// the middleware admits a request only when the header parses to exactly
// one of the configured credentials.
func FuzzAuthorization(f *testing.F) {
	for _, s := range []string{
		"Bearer " + bearerTok, bearerTok, "Basic " + b64(oktaUser+":"+oktaPass), "Basic " + b64(oktaUser+":"),
		"bearer  " + bearerTok + " ", "Basic", "Bearer", "Basic =", "Basic " + b64(":"), "Digest a", "\x00", "Bearer\t" + bearerTok,
		"Basic " + b64(oktaUser+":"+oktaPass) + "==", "Bearer " + bearerTok + "=", "Bearer " + bearerTok + "\n",
	} {
		f.Add(s)
	}
	reg, err := NewRegistry(func() (Config, error) { return basicCfg(), nil },
		Options{AdminToken: adminTok, Log: zerolog.Nop(), Registerer: prometheus.NewRegistry(), FailureLimit: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	h := reg.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	f.Fuzz(func(t *testing.T, header string) {
		cred, err := ParseAuthorization(header)
		if err == nil {
			switch cred.Scheme {
			case SchemeBearer, SchemeRaw:
				if !token68(cred.Token) {
					t.Fatalf("token %q is no token68", cred.Token)
				}
			case SchemeBasic:
				if cred.Username == "" || hasControl(cred.Username+cred.Password) {
					t.Fatalf("basic %+v accepted", cred)
				}
			default:
				t.Fatalf("no scheme without an error")
			}
		}
		req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
		req.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			return
		}
		valid := err == nil && (((cred.Scheme == SchemeBearer || cred.Scheme == SchemeRaw) &&
			(cred.Token == bearerTok || cred.Token == bearerNext || cred.Token == auditTok || cred.Token == legacyTok)) ||
			(cred.Scheme == SchemeBasic && cred.Username == oktaUser && cred.Password == oktaPass))
		if !valid {
			t.Fatalf("admitted %q (%+v, %v)", header, cred, err)
		}
	})
}
