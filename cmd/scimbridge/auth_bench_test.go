package main

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"

	"golang.org/x/oauth2/clientcredentials"
)

// BenchmarkGetUserAuth: GET /Users/{id} through the whole router from 4
// concurrent clients, with a static bearer token and with an OAuth access
// token (EdDSA JWT). Compare the two ns/op of one run.
func BenchmarkGetUserAuth(b *testing.B) {
	ab := newAuthBridge(b)
	static := "Bearer " + authSecrets["ENTRA_SCIM_TOKEN"]
	status, out := ab.do("POST", "/Users", static, userJSON("bench@example.com"))
	if status != 201 {
		b.Fatal(status)
	}
	id := out["id"].(string)
	cc := clientcredentials.Config{ClientID: "entra", ClientSecret: authSecrets["ENTRA_CLIENT_SECRET"], TokenURL: ab.ts.URL + "/oauth/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 8}
	client := &http.Client{Transport: transport}
	for _, bc := range []struct{ name, authz string }{
		{"static", static},
		{"jwt", "Bearer " + tok.AccessToken},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// 4 clients whatever GOMAXPROCS is.
			b.SetParallelism((4 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", ab.ts.URL+"/scim/v2/Users/"+id, nil)
					req.Header.Set("Authorization", bc.authz)
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
		})
	}
}
