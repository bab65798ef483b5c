package scim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/scimbridge/scimbridge/internal/testkit"
)

// TestRoutesGolden pins how the router answers each method on each kind
// of path (status, Allow, the error's detail) and the route pattern the
// request metrics label it with, so the router's shape can change without
// its behaviour changing.
func TestRoutesGolden(t *testing.T) {
	e := newEnv(t, Options{})
	r := chi.NewRouter()
	var pattern string
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			next.ServeHTTP(w, req)
			pattern = chi.RouteContext(req.Context()).RoutePattern()
		})
	})
	r.Mount("/scim/v2", e.s.Handler())
	paths := []string{
		"/scim/v2", "/scim/v2/", "/scim/v2/nope", "/scim/v2/nope/x",
		"/scim/v2/Users", "/scim/v2/Users/", "/scim/v2/users", "/scim/v2/USERS/", "/scim/v2/Users/x", "/scim/v2/users/x", "/scim/v2/Users/x/",
		"/scim/v2/Users/x/y", "/scim/v2/Users//x", "/scim/v2/Users/.search", "/scim/v2/users/.search", "/scim/v2/Users/.search/",
		"/scim/v2/Groups", "/scim/v2/Groups/", "/scim/v2/groups", "/scim/v2/Groups/x", "/scim/v2/gRoUpS/x", "/scim/v2/Groups/x/members",
		"/scim/v2/Groups/.search", "/scim/v2/Bulk", "/scim/v2/bulk", "/scim/v2/Bulk/", "/scim/v2/Schemas", "/scim/v2/schemas/",
		"/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "/scim/v2/ResourceTypes", "/scim/v2/ResourceTypes/Group",
		"/scim/v2/ServiceProviderConfig", "/scim/v2/serviceproviderconfig", "/scim/v2/serviceConfiguration", "/scim/v2/ServiceProviderConfig/x",
	}
	var out strings.Builder
	for _, p := range paths {
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			pattern = ""
			req := httptest.NewRequest(m, p, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/scim+json")
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			body := ""
			if rec.Code >= 400 {
				body = rec.Body.String()
				if i := strings.Index(body, `"detail":`); i >= 0 {
					body = body[i:]
				}
				body = strings.TrimSpace(body)
			}
			fmt.Fprintf(&out, "%s %s -> %d route=%q allow=%q %s\n", m, p, rec.Code, pattern, rec.Header().Values("Allow"), body)
		}
	}
	testkit.Golden(t, "routes.txt", []byte(out.String()))
}
