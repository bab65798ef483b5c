package main

import (
	"context"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/admin"
	"github.com/scimbridge/scimbridge/admin/console"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/hrimport"
)

// consoleWiring is what the admin API and the console share.
type consoleWiring struct {
	rates *admin.Rates
	// activity is the activity log's reader; nil until the log is wired
	// in, and the API and pages then say "activity log not available".
	activity activity.Source
	secure   bool          // cookies Secure even over plain HTTP (external_url is https)
	refresh  time.Duration // how often pages refresh (0: the console's default)
	// importToken is the built-in SCIM client "console"'s bearer token
	// (console_import.go); importConfig is config.yaml's import section
	// at start-up.
	importToken  string
	importConfig hrimport.Config
}

// newConsoleWiring samples delivery counts from reg when it can be read.
func newConsoleWiring(reg prometheus.Registerer, externalURL string) consoleWiring {
	w := consoleWiring{secure: len(externalURL) > 8 && externalURL[:8] == "https://"}
	if g, ok := reg.(prometheus.Gatherer); ok {
		w.rates = admin.NewRates(g)
		w.rates.Sample(time.Now())
	}
	return w
}

// mountAdmin serves the JSON admin API at /admin and the console at
// /admin/ui, both from one admin.Service.
func (a *app) mountAdmin(r chi.Router) {
	svc := &admin.Service{Dispatcher: a.dispatcher, DB: a.db, Activity: a.console.activity, Rates: a.console.rates}
	reconcile := func() error { return a.dispatcher.Reconcile(a.scim.EachResource) }
	opts := []admin.Option{admin.WithReconcile(reconcile), admin.WithVerify(a.verify), admin.WithService(svc)}
	if a.backups != nil {
		opts = append(opts, admin.WithBackup(a.backups.serveHTTP))
	}
	opts = append(opts, admin.WithReload(a.reloadEverything), admin.WithActivity(a.activity))
	r.Mount("/admin", admin.Handler(a.dispatcher, a.adminToken, opts...))
	token := a.adminToken
	r.Mount("/admin/ui", console.Handler(svc, console.Options{Token: func() string { return token }, Secure: a.console.secure, Refresh: a.console.refresh, Log: a.log,
		Import: a.consoleImport(r)}))
}

// runRates samples delivery counts for the console's sparklines.
func (a *app) runRates(ctx context.Context) {
	if a.console.rates != nil {
		go a.console.rates.Run(ctx, 10*time.Second)
	}
}

// consoleURL is where the console answers: under external_url when set,
// else on the listener's address.
func consoleURL(cfg *config.Config, addr string) string {
	if cfg.ExternalURL != "" {
		return strings.TrimRight(cfg.ExternalURL, "/") + "/admin/ui/"
	}
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + addr + "/admin/ui/"
}
