package connectors_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// pacedConn is a fieldConn whose listing paces every object as one
// background request, and whose deliveries can be held in flight.
type pacedConn struct {
	*fieldConn
	hold     atomic.Pointer[chan struct{}] // when set, Apply waits for it to close
	applying atomic.Int32
	pages    atomic.Int64 // objects listed
	pacer    atomic.Pointer[connectors.Pacer]
}

func (c *pacedConn) Apply(ctx context.Context, b []connectors.Change) []connectors.Result {
	c.applying.Add(1)
	defer c.applying.Add(-1)
	if h := c.hold.Load(); h != nil {
		<-*h
	}
	return c.fieldConn.Apply(ctx, b)
}

func (c *pacedConn) List(ctx context.Context, typ string, fn func(string) error) error {
	return c.ListFields(ctx, typ, func(id string, _ map[string]any) error { return fn(id) })
}

func (c *pacedConn) ListFields(ctx context.Context, typ string, fn func(string, map[string]any) error) error {
	c.pacer.Store(connectors.Background(ctx))
	return c.fieldConn.ListFields(ctx, typ, func(id string, f map[string]any) error {
		if _, err := connectors.Pace(ctx); err != nil {
			return err
		}
		c.pages.Add(1)
		return fn(id, f)
	})
}

// TestPeriodicDriftCheckWaitsForDeliveries: the periodic check's listing
// is background work: while a delivery is in flight it lists nothing
// (counted per object), and it goes on once the delivery is done.
func TestPeriodicDriftCheckWaitsForDeliveries(t *testing.T) {
	c := &pacedConn{fieldConn: newFieldConn()}
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	set := connectors.Settings{Name: "scripted", Concurrency: 1, Options: map[string]string{connectors.OptDriftCheckInterval: "5ms"}}
	d, err := connectors.NewDispatcher(db, []connectors.Target{{Connector: c, Settings: set}}, zerolog.Nop(), nil, fast...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, d: d, set: set}
	e.start()
	e.write(createUser("u1"), createUser("u2"), createUser("u3"))
	e.drain()
	waitFor(t, "a periodic check listing", func() bool { return c.pages.Load() > 0 })

	// A delivery held in flight: no object is listed until it is done.
	gate := make(chan struct{})
	c.hold.Store(&gate)
	e.write(createUser("u4"))
	waitFor(t, "the delivery in flight", func() bool { return c.applying.Load() > 0 })
	p := c.pacer.Load()
	held, yielded := c.pages.Load(), p.Yielded()
	waitFor(t, "the listing to wait", func() bool { return c.pacer.Load().Yielded() > yielded || c.pacer.Load() != p })
	time.Sleep(50 * time.Millisecond) // several check intervals
	if n := c.pages.Load() - held; n != 0 {
		t.Errorf("%d objects listed while a delivery was in flight, want 0", n)
	}
	c.hold.Store(nil)
	close(gate)
	waitFor(t, "the listing to resume", func() bool { return c.pages.Load() > held })
	e.drain()
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLimitTransportPacesBackground: LimitTransport lets a background
// request through only when no live work is waiting, within its share,
// and paces it once (the paced context is not paced again).
func TestLimitTransportPacesBackground(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	defer srv.Close()
	var live atomic.Bool
	live.Store(true)
	p := connectors.NewPacer(1000, connectors.BackgroundShare, live.Load)
	client := &http.Client{Transport: connectors.LimitTransport(nil, rate.NewLimiter(rate.Inf, 1))}
	get := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	// Live requests are not paced at all.
	if err := get(t.Context()); err != nil || served.Load() != 1 {
		t.Fatalf("live request: %v, served %d", err, served.Load())
	}
	done := make(chan error, 1)
	go func() { done <- get(connectors.WithPacer(t.Context(), p)) }()
	waitFor(t, "the background request to wait", func() bool { return p.Yielded() == 1 })
	time.Sleep(20 * time.Millisecond)
	if served.Load() != 1 || p.Granted() != 0 {
		t.Fatalf("background request served while live work waits: served %d, granted %d", served.Load(), p.Granted())
	}
	live.Store(false)
	if err := <-done; err != nil || served.Load() != 2 || p.Granted() != 1 {
		t.Fatalf("after live work: %v, served %d, granted %d", err, served.Load(), p.Granted())
	}
	// Paced once: a context Pace returned goes through without a token.
	ctx, err := connectors.Pace(connectors.WithPacer(t.Context(), p))
	if err != nil || p.Granted() != 2 {
		t.Fatalf("Pace: %v, granted %d", err, p.Granted())
	}
	if err := get(ctx); err != nil || p.Granted() != 2 || served.Load() != 3 {
		t.Errorf("paced context paced again: granted %d, served %d", p.Granted(), served.Load())
	}
	if p.Share() != connectors.BackgroundShare {
		t.Errorf("share %v", p.Share())
	}
}
