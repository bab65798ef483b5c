package connectors_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/scimbridge/scimbridge/connectors"
)

func TestLimitTransportPacesEveryRequest(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) }))
	defer srv.Close()
	// A burst of 3 and (practically) no refill: the 4th request must wait,
	// so it runs out of its context instead of reaching the server.
	l := rate.NewLimiter(rate.Every(time.Hour), 3)
	client := &http.Client{Transport: connectors.LimitTransport(nil, l)}
	for i := range 4 {
		// The first three get time enough for a loaded machine; the
		// limiter refuses the 4th at once, since its wait exceeds any deadline.
		timeout := 10 * time.Second
		if i == 3 {
			timeout = 50 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		resp, err := client.Do(req)
		cancel()
		if i < 3 {
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			resp.Body.Close()
		} else if err == nil {
			resp.Body.Close()
			t.Fatalf("request %d went through a spent limiter", i)
		}
	}
	if n := served.Load(); n != 3 {
		t.Errorf("server saw %d requests, want 3", n)
	}
}
