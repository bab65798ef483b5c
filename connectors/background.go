package connectors

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Background work (the periodic drift check) shares a connector's rate
// limit with live deliveries, but must never take budget they need. Its
// requests carry a Pacer in their context, and every limiter a request
// passes asks it first (Pace): LimitTransport for every connector's HTTP
// client in serve, and a connector's own limiter where it has one
// (Secure Access also caps each of its windows, see there). A background
// request waits
//   - while live work is waiting or in flight (a delivery, a 429 pause):
//     a listing pauses between two pages and resumes when the connector is
//     idle again, and
//   - for a token of its own bucket at BackgroundShare of the connector's
//     rate, so live work arriving mid-listing finds at least the rest of
//     the budget unspent.

// BackgroundShare is the most of a connector's rate limit background work
// may use, and only while no live work waits.
const BackgroundShare = 0.2

// Pacer paces one connector's background requests.
type Pacer struct {
	share float64
	live  func() bool
	lim   *rate.Limiter
	poll  time.Duration

	granted atomic.Int64 // background requests let go
	yielded atomic.Int64 // times one waited for live work
}

// NewPacer paces background requests at share of perSecond (<= 0:
// unlimited), never while live reports work waiting or in flight.
func NewPacer(perSecond, share float64, live func() bool) *Pacer {
	lim := rate.NewLimiter(rate.Inf, 1)
	if perSecond > 0 {
		lim = rate.NewLimiter(rate.Limit(perSecond*share*PaceMargin), 1)
	}
	return &Pacer{share: share, live: live, lim: lim, poll: 5 * time.Millisecond}
}

// Share is the fraction of the connector's rate the pacer's requests may use.
func (p *Pacer) Share() float64 { return p.share }

// Granted and Yielded are the pacer's accounting: background requests let
// go, and the times one of them waited for live work first.
func (p *Pacer) Granted() int64 { return p.granted.Load() }
func (p *Pacer) Yielded() int64 { return p.yielded.Load() }

type pacerKey struct{}
type pacedKey struct{}

// WithPacer marks ctx's requests as background work paced by p.
func WithPacer(ctx context.Context, p *Pacer) context.Context {
	return context.WithValue(ctx, pacerKey{}, p)
}

// Background returns the pacer of a background request's context; nil
// for live work.
func Background(ctx context.Context) *Pacer {
	p, _ := ctx.Value(pacerKey{}).(*Pacer)
	return p
}

// Pace waits until a background request may go and returns its context
// marked as paced, so the next limiter of the same request does not
// pace it again. Live requests (no pacer) and paced ones return at once.
func Pace(ctx context.Context) (context.Context, error) {
	p := Background(ctx)
	if p == nil || ctx.Value(pacedKey{}) != nil {
		return ctx, nil
	}
	for {
		if err := p.idle(ctx); err != nil {
			return ctx, err
		}
		if err := p.lim.Wait(ctx); err != nil {
			return ctx, err
		}
		// Live work that arrived while the token was awaited goes first;
		// the token is spent (which only slows the background further).
		if !p.live() {
			break
		}
	}
	p.granted.Add(1)
	return context.WithValue(ctx, pacedKey{}, true), nil
}

// idle waits while live work is waiting or in flight.
func (p *Pacer) idle(ctx context.Context) error {
	if !p.live() {
		return nil
	}
	p.yielded.Add(1)
	t := time.NewTicker(p.poll)
	defer t.Stop()
	for p.live() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
