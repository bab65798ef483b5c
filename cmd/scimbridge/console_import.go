package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/scimbridge/scimbridge/admin/console"
	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/hrimport"
	"github.com/scimbridge/scimbridge/scim"
)

// consoleClientName is the built-in SCIM client the console's imports
// authenticate as: their writes carry it in the access log, the metrics
// and the activity log, like any IdP's.
const consoleClientName = "console"

// withConsoleClient adds the built-in client to the configured ones. Its
// bearer token is random per process, lives only in memory and is never
// shown; the admin token never becomes a SCIM credential.
func (a *app) withConsoleClient(ac auth.Config) (auth.Config, error) {
	for _, c := range ac.Clients {
		if c.Name == consoleClientName {
			return ac, errors.New(`scim.clients[console].name: "console" is reserved for the console's imports`)
		}
	}
	if a.console.importToken == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		a.console.importToken = base64.RawURLEncoding.EncodeToString(b)
	}
	ac.Clients = append(ac.Clients, auth.Client{Name: consoleClientName, Bearer: []string{a.console.importToken}, Internal: true})
	return ac, nil
}

// withConsoleProvenance lets the console's imports write the provenance
// mark wherever the import's own client (import.client) may: both are the
// HR import.
func withConsoleProvenance(opts scim.Options) scim.Options {
	if len(opts.ProvenanceWriters) > 0 {
		opts.ProvenanceWriters = append(slices.Clone(opts.ProvenanceWriters), consoleClientName)
	}
	return opts
}

// consoleImport is the Import page's access to the SCIM endpoint: an
// hrimport client whose requests go, in process, through the whole router
// (request id, access log, metrics, the auth middleware, /scim/v2), so the
// import takes the same validation and outbox as any client's.
func (a *app) consoleImport(router http.Handler) *console.ImportOptions {
	hc := &http.Client{Transport: inProcess{a, router}}
	token := a.console.importToken
	startup := a.console.importConfig
	return &console.ImportOptions{
		Client: func() *hrimport.Client { return hrimport.NewClient("http://console.invalid", token, hc) },
		// config.yaml's import section as it is now, like the CLI reads it.
		Config: func() hrimport.Config {
			if a.reloadConfig != nil {
				if cfg, err := a.reloadConfig(); err == nil {
					return cfg.Import
				}
			}
			return startup
		},
	}
}

// inProcess is an http.RoundTripper that serves requests with what the
// program serves (app.served: the chain around the router), or with the
// router alone where nothing wraps it (tests that mount it bare).
type inProcess struct {
	a      *app
	router http.Handler
}

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	// A fresh context that only follows the caller's cancellation: the
	// console request's values (chi's route context, its client slot,
	// logger and request id) must not leak into the SCIM request.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer context.AfterFunc(req.Context(), cancel)()
	r := req.Clone(ctx)
	r.RemoteAddr = consoleClientName // the access log's "remote"; auth's source address
	r.RequestURI = req.URL.RequestURI()
	rec := httptest.NewRecorder()
	h := t.router
	if t.a.served != nil {
		h = t.a.served
	}
	h.ServeHTTP(rec, r)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
