package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// BenchmarkGetUserAuth: GET /Users/{id} through the whole router from 4
// concurrent clients, with a static bearer token and with an OAuth access
// token (EdDSA JWT). The two alternate in rounds of 4×25 requests (the
// order flipping every round) so that load drifting on a shared machine
// hits both alike; it reports each one's time per request and their ratio.
func BenchmarkGetUserAuth(b *testing.B) {
	ab := newAuthBridge(b)
	static := "Bearer " + authSecrets["ENTRA_SCIM_TOKEN"]
	status, out := ab.do("POST", "/Users", static, userJSON("bench@example.com"))
	if status != 201 {
		b.Fatal(status)
	}
	url := ab.ts.URL + "/scim/v2/Users/" + out["id"].(string)
	cc := clientcredentials.Config{ClientID: "entra", ClientSecret: authSecrets["ENTRA_CLIENT_SECRET"], TokenURL: ab.ts.URL + "/oauth/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	jwt := "Bearer " + tok.AccessToken
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	const clients, perClient = 4, 10
	round := func(authz string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range perClient {
					req, _ := http.NewRequest("GET", url, nil)
					req.Header.Set("Authorization", authz)
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
		}
		wg.Wait()
		return time.Since(start)
	}
	round(static) // warm the connections and the verification cache
	round(jwt)
	var tStatic, tJWT time.Duration
	ratios := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var s, j time.Duration
		if i%2 == 0 {
			s, j = round(static), round(jwt)
		} else {
			j, s = round(jwt), round(static)
		}
		tStatic, tJWT = tStatic+s, tJWT+j
		ratios = append(ratios, float64(j)/float64(s))
	}
	n := float64(b.N * clients * perClient)
	b.ReportMetric(float64(tStatic.Nanoseconds())/n, "static-ns/req")
	b.ReportMetric(float64(tJWT.Nanoseconds())/n, "jwt-ns/req")
	// The median of the pairs' ratios: a load spike during one round
	// moves it less than it moves the totals.
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "jwt/static")
}
