package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/httpmw"
	"github.com/scimbridge/scimbridge/internal/logwriter"
	"github.com/scimbridge/scimbridge/scim"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "serve",
		Short: "Run the SCIM endpoint, the connector fan-out and the admin API (the default command)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return runServe(cmd.Context()) },
	})
}

// dbFile is the bbolt file inside the data directory.
const dbFile = "scimbridge.db"

// newLogger is the server's logger on stderr, and the writer to Close
// when the server ends. JSON lines are written in batches (logwriter: at
// most c.FlushInterval late, warnings at once); the pretty console, for a
// person watching, line by line.
func newLogger(c config.Log) (zerolog.Logger, io.Closer) {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		level = zerolog.InfoLevel
	}
	var log zerolog.Logger
	var closer io.Closer = io.NopCloser(nil)
	if c.Pretty {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr})
	} else {
		w := logwriter.New(os.Stderr, c.FlushInterval)
		log, closer = zerolog.New(w), w
	}
	return log.Level(level).With().Timestamp().Logger(), closer
}

func runServe(ctx context.Context) error {
	cfg, err := loadConfig()
	if err != nil {
		return configFailure(configFile(), err)
	}
	return serve(ctx, cfg, os.Stdout, nil)
}

// running is what a ready hook gets: the server's address and tokens, and
// the program itself.
type running struct {
	base       string // http://host:port
	scimToken  string
	adminToken string
	app        *app
}

// serve runs the bridge with cfg until ctx ends or the server fails.
// Generated tokens are announced on out. ready, if set, runs once the
// listener and the deliveries are up; its error stops the server.
func serve(ctx context.Context, cfg *config.Config, out io.Writer, ready func(context.Context, running) error) error {
	if ctx == nil {
		ctx = context.Background()
	}
	log, logs := newLogger(cfg.Log)
	defer logs.Close()
	// SIGHUP reloads; it must never end the process (Go's default).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := newReloader(log)

	tokens := cfg.Tokens
	if len(cfg.SCIM.Clients) == 0 { // neither tokens nor clients: generate a token
		generated, err := ensureToken(cfg.Tokens, cfg.DataDir, "scim-token", "SCIM bearer token", out)
		if err != nil {
			return dataDirFailure(cfg.DataDir, err)
		}
		tokens = generated
	}
	adminTokens, err := ensureToken(nonEmptyOne(cfg.AdminToken), cfg.DataDir, "admin-token", "admin API token", out)
	if err != nil {
		return dataDirFailure(cfg.DataDir, err)
	}
	var cert *servingCert
	if cfg.TLS.CertFile != "" {
		if cert, err = newServingCert(cfg.TLS); err != nil {
			return err
		}
		reload.add("tls certificate", cert.reload)
	}

	db, err := openStore(filepath.Join(cfg.DataDir, dbFile))
	if err != nil {
		return err
	}
	defer db.Close()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cert != nil {
		reg.MustRegister(cert.collector())
	}

	app, err := buildApp(cfg, db, tokens, adminTokens[0], reg, log)
	if err != nil {
		return err
	}
	defer app.close()
	app.backups = newBackups(db, reg, log)
	reload.add("scim clients", app.reload)
	app.reloadAll = reload.reload

	srv := newHTTPServer(cfg.Server, newRouter(log, reg, app, cfg.MetricsToken))
	ln, err := listen(cfg.Listen)
	if err != nil {
		return err
	}
	log.Info().Str("listen", ln.Addr().String()).Str("external_url", cfg.ExternalURL).
		Strs("connectors", cfg.ConnectorNames()).Msg("scimbridge serving SCIM at /scim/v2")
	log.Info().Str("url", consoleURL(cfg, ln.Addr().String())).Msg("status console (sign in with the admin token)")

	errc := make(chan error, 1)
	go func() {
		if cert != nil {
			srv.TLSConfig.GetCertificate = cert.get
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	app.start(ctx)
	app.ready.Store(true)
	go reload.watch(ctx, hup)
	if ready != nil {
		scheme := "http"
		if cfg.TLS.CertFile != "" {
			scheme = "https"
		}
		r := running{base: scheme + "://" + ln.Addr().String(), adminToken: adminTokens[0], app: app}
		if len(tokens) > 0 {
			r.scimToken = tokens[0]
		}
		go func() {
			if err := ready(ctx, r); err != nil {
				select {
				case errc <- err:
				default: // the server failed first; its error is the one returned
				}
			}
		}()
	}

	var failed error
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			failed = err
		}
	case <-db.Failed():
		// No write can be answered any more; a restart replays the log.
		failed = fmt.Errorf("data file: %w: exiting so that a restart recovers every write answered", db.Err())
	case <-ctx.Done():
	}
	app.ready.Store(false) // /readyz: 503 from here on
	stop()                 // the dispatcher stops too when the server failed
	log.Info().Msg("shutting down: finishing requests and in-flight deliveries")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn().Err(err).Msg("http shutdown")
	}
	if err := app.shutdown(sctx); err != nil {
		return errors.Join(failed, fmt.Errorf("shutdown: %w", err))
	}
	return failed
}

// maxHeaderBytes bounds a request's header block (net/http's default is
// 1 MiB per connection). An IdP's bearer token, even a JWT, is a few KiB;
// more is answered 431.
const maxHeaderBytes = 64 << 10

// newHTTPServer is the listener's server: the configured timeouts (slow
// clients), a header limit and, when serving TLS, at least TLS 1.2 whatever
// GODEBUG says (tls10server=1 would otherwise re-enable TLS 1.0 and 1.1).
func newHTTPServer(c config.Server, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
}

func nonEmptyOne(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// newRouter is the program's HTTP surface: request ids, access log and
// request metrics, panic recovery, health, metrics, SCIM and admin.
func newRouter(log zerolog.Logger, reg *prometheus.Registry, app *app, metricsToken string) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	r.Get("/readyz", app.readyz)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if metricsToken != "" {
		metrics = scim.BearerAuth([]string{metricsToken})(metrics)
	}
	r.Handle("/metrics", metrics)
	app.mount(r)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeSCIMError(w, http.StatusNotFound, "", "no such endpoint: "+r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeSCIMError(w, http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path)
	})
	h := httpmw.Handler(log, reg, r)
	app.served = h // the console's in-process imports take the whole chain too
	return h
}
