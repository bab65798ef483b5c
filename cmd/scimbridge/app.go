package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/auth/oauth"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/store"
)

// app is everything serve runs besides the HTTP server itself: the SCIM
// endpoint, the dispatcher and, for connectors with simulate: true, their
// built-in simulators on loopback.
type app struct {
	served     http.Handler // what newRouter serves: the chain around the router
	log        zerolog.Logger
	db         *store.DB
	scim       *scim.Server
	dispatcher *connectors.Dispatcher
	tokens     []string
	adminToken string
	sims       []*http.Server
	simulators map[string]connectors.Simulator // by connector name, for simulate: true
	console    consoleWiring
	activity   *activitylog.Log // nil when activity.enabled is false
	done       chan error
	ready      atomic.Bool // /readyz: the store is open and the dispatcher runs
	backups    *backups    // GET /admin/backup, when serve sets it

	auth  *auth.Registry
	oauth *oauth.Server // nil unless a client uses oauth
	// reloadConfig reads the configuration again for a reload (the
	// config file when serving; the start-up config otherwise).
	reloadConfig func() (*config.Config, error)
	// reloadAll is serve's reloader (TLS certificate, SCIM clients), run
	// by POST /admin/reload; unset, that reloads the SCIM clients alone.
	reloadAll func() error
}

func buildApp(cfg *config.Config, db *store.DB, tokens []string, adminToken string, reg prometheus.Registerer, log zerolog.Logger) (_ *app, err error) {
	a := &app{log: log, db: db, tokens: tokens, adminToken: adminToken, console: newConsoleWiring(reg, cfg.ExternalURL)}
	a.console.importConfig = cfg.Import
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	regs := registrations()
	var targets []connectors.Target
	var problems []error
	fingerprints := map[string]string{} // connector -> type, mapping and scope
	for _, name := range cfg.ConnectorNames() {
		s := cfg.Connectors[name]
		r, ok := registration(s.Type)
		if !ok {
			problems = append(problems, fmt.Errorf("connector %q: unknown type %q (have %s)", name, s.Type, knownTypes(regs)))
			continue
		}
		if err := connectors.CheckSettings(r, s); err != nil {
			problems = append(problems, err)
			continue
		}
		if s.Simulate {
			if err := a.startSimulator(&s, r); err != nil {
				return nil, fmt.Errorf("connector %q: simulator: %w", name, err)
			}
		}
		if s.OnDelete == "" {
			s.OnDelete = r.DefaultOnDelete
		}
		mapper, err := newMapper(s, cfg.SCIM, regs)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		// Each connector's requests are paced at its rate limit (set
		// once the connector has declared its Limits).
		limiter := rate.NewLimiter(rate.Inf, 1)
		conn, err := r.New(s, connectors.Deps{
			HTTPClient: &http.Client{Timeout: 60 * time.Second, Transport: connectors.LimitTransport(transport, limiter)},
			Log:        log, // each connector adds its own "connector" field
			State:      db.State(name),
		})
		if err != nil {
			if _, named := errors.AsType[*connectors.ConfigError](err); !named {
				err = fmt.Errorf("connector %q: %w", name, err)
			}
			problems = append(problems, err)
			continue
		}
		if lim := conn.Limits(); s.RateLimit > 0 || lim.Rate > 0 {
			rps := lim.Rate
			if s.RateLimit > 0 {
				rps = s.RateLimit
			}
			limiter.SetBurst(max(lim.Burst, 1))
			limiter.SetLimit(rate.Limit(rps))
		}
		log.Info().Str("connector", name).Str("type", s.Type).Bool("simulate", s.Simulate).Str("base_url", redactedURL(s.BaseURL)).Msg("connector ready")
		targets = append(targets, connectors.Target{Connector: conn, Settings: s, Mapper: mapper})
		fingerprints[name] = s.Type + "/" + mapper.Fingerprint()
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	a.activity = activitylog.New(db, cfg.Activity)
	a.activity.SetLogger(log)
	if a.activity != nil {
		a.console.activity = a.activity
	}
	a.dispatcher, err = connectors.NewDispatcher(db, targets, log, reg, connectors.WithActivity(a.activity))
	if err != nil {
		return nil, err
	}
	if err := a.buildAuth(cfg, reg); err != nil {
		return nil, err
	}
	opts := withConsoleProvenance(cfg.SCIM)
	opts.AuthenticationSchemes = a.authSchemes
	a.scim, err = scim.New(opts, db, a.dispatcher, log)
	if err != nil {
		return nil, err
	}
	// The SCIM client an event names: the named client that signed in
	// (auth's registry; legacy tokens have names of their own there).
	a.scim.SetActivity(a.activity, auth.ClientFrom)
	for _, c := range append(a.scim.Collectors(), a.activity.Collectors()...) {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// A connector added, or a mapping or scope changed in config.yaml,
	// takes effect for the resources already stored.
	stale, err := staleConnectors(db, fingerprints)
	if err != nil {
		return nil, err
	}
	if len(stale) > 0 {
		log.Info().Strs("connectors", stale).Msg("mapping or scope changed (or new connector): re-evaluating every stored resource")
		if err := a.dispatcher.Reconcile(a.scim.EachResource); err != nil {
			return nil, fmt.Errorf("re-evaluating scope and mappings: %w", err)
		}
		if err := recordReconciled(db, fingerprints); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// startSimulator serves the connector's built-in simulator on a loopback
// port and points the settings at it.
func (a *app) startSimulator(s *connectors.Settings, r connectors.Registration) error {
	if r.NewSimulator == nil {
		return fmt.Errorf("type %q has no built-in simulator", r.Type)
	}
	sim := r.NewSimulator()
	if a.simulators == nil {
		a.simulators = map[string]connectors.Simulator{}
	}
	a.simulators[s.Name] = sim
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.sims = append(a.sims, srv)
	s.BaseURL = "http://" + ln.Addr().String() + sim.BasePath()
	// The simulator's credentials replace whatever (unset) ones the file names.
	s.Credentials = maps.Clone(sim.Credentials())
	return nil
}

func (a *app) mount(r chi.Router) {
	r.With(a.auth.Middleware).Mount("/scim/v2", a.scim.Handler())
	a.mountOAuth(r)
	a.mountAdmin(r)
}

func (a *app) start(ctx context.Context) {
	a.done = make(chan error, 1)
	go func() { a.done <- a.dispatcher.Run(ctx) }()
	go a.activity.Run(ctx) // prunes in the background (nil: disabled)
	a.runRates(ctx)
}

// shutdown waits for the dispatcher to finish or release its in-flight
// deliveries (its context is already cancelled).
func (a *app) shutdown(ctx context.Context) error {
	if a.done == nil {
		return nil
	}
	select {
	case err := <-a.done:
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case <-ctx.Done():
		return errors.New("deliveries still in flight at the shutdown timeout; they will be re-delivered on restart")
	}
}

func (a *app) close() {
	for _, s := range a.sims {
		_ = s.Close()
	}
}

// verify runs store.Verify on a snapshot of the live data file.
func (a *app) verify(limit int) (problems []string, total int, err error) {
	// A page damaged since start-up would panic inside Verify's reads.
	if err := a.db.CheckPages(); err != nil {
		return []string{err.Error()}, 1, nil
	}
	err = a.db.View(func(tx *store.Tx) error {
		problems, total = tx.Verify(limit)
		return nil
	})
	return problems, total, err
}

// redactedURL hides a password written into a URL's user info before the
// URL is logged.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
