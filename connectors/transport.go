package connectors

import (
	"net/http"

	"golang.org/x/time/rate"
)

// LimitTransport paces every HTTP request a connector sends with l. The
// dispatcher paces Apply calls, but one Apply may make several requests
// (SCC invites one user per request, SecureAuth creates and associates):
// pacing at the transport keeps the target's request rate, not the batch
// rate, under the connector's limit, so the limiter rather than the
// target's 429s sets the pace.
func LimitTransport(next http.RoundTripper, l *rate.Limiter) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return limitedTransport{next: next, l: l}
}

type limitedTransport struct {
	next http.RoundTripper
	l    *rate.Limiter
}

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	// Background requests (a periodic drift check) first wait for their
	// share and for live work to finish (background.go).
	if Background(r.Context()) != nil {
		ctx, err := Pace(r.Context())
		if err != nil {
			return nil, err
		}
		r = r.WithContext(ctx)
	}
	if err := t.l.Wait(r.Context()); err != nil {
		return nil, err
	}
	countCall(r.Context()) // for the activity log
	return t.next.RoundTrip(r)
}
