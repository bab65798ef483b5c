package auth

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestClientSlotLogger: with the request's own logger in its slot, the
// middleware names the client in that logger (once, however often it runs
// in one request) and passes the request on uncopied; a copy of the logger
// taken before auth logs without the client. Without it (WithClientSlot), the
// handler still gets a logger naming the client.
func TestClientSlotLogger(t *testing.T) {
	f := newFixture(t, Config{Clients: []Client{{Name: "entra", Bearer: []string{bearerTok}}}}, Options{})
	for _, own := range []bool{true, false} {
		var logged bytes.Buffer
		before := zerolog.New(&logged).With().Str("request_id", "r1").Logger()
		req := httptest.NewRequest("GET", "/Users", nil)
		req.Header.Set("Authorization", "Bearer "+bearerTok)
		ctx := before.WithContext(req.Context())
		if own {
			ctx = WithClientSlotLogger(ctx, ownLogger{zerolog.Ctx(ctx)})
		} else {
			ctx = WithClientSlot(ctx)
		}
		req = req.WithContext(ctx)
		var seen *http.Request
		inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = r
			zerolog.Ctx(r.Context()).Info().Msg("inside")
		})
		h := f.reg.Middleware(inner)
		if own {
			h = f.reg.Middleware(h) // twice: the client is added once
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		before.Info().Msg("outside")
		lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
		if len(lines) != 2 || strings.Count(lines[0], `"client":"entra"`) != 1 || strings.Contains(lines[1], "client") {
			t.Errorf("own logger %v: lines %q", own, lines)
		}
		if ClientFrom(req.Context()) != "entra" || own && seen != req {
			t.Errorf("own logger %v: client %q, request copied: %v", own, ClientFrom(req.Context()), seen != req)
		}
	}
}

// ownLogger adds the client to a logger in place.
type ownLogger struct{ l *zerolog.Logger }

func (o ownLogger) AddClient(name string) {
	o.l.UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("client", name) })
}
