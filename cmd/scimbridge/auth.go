package main

import (
	"errors"
	"fmt"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/auth/oauth"
	"github.com/scimbridge/scimbridge/config"
)

// buildAuth loads the SCIM clients (scim.clients and the top-level
// tokens) and, when a client uses OAuth, the authorization server.
func (a *app) buildAuth(cfg *config.Config, reg prometheus.Registerer) error {
	if a.reloadConfig == nil {
		a.reloadConfig = func() (*config.Config, error) { return cfg, nil }
	}
	if cfg.Path != "" {
		a.reloadConfig = func() (*config.Config, error) { return config.Load(cfg.Path) }
	}
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return err
	}
	first := true
	source := func() (auth.Config, error) {
		c := cfg
		if !first {
			var err error
			if c, err = a.reloadConfig(); err != nil {
				return auth.Config{}, err
			}
		}
		first = false
		ac := c.AuthConfig()
		if len(ac.Tokens) == 0 && len(ac.Clients) == 0 {
			ac.Tokens = a.tokens // the token generated into the data directory
		}
		ac, cerr := a.withConsoleClient(ac)
		if cerr != nil {
			return auth.Config{}, cerr
		}
		if auth.HasOAuth(ac.Clients) && a.oauth == nil && a.auth != nil {
			return auth.Config{}, errors.New("the first client with oauth: needs a restart (the authorization server starts with the program)")
		}
		return ac, nil
	}
	a.auth, err = auth.NewRegistry(source, auth.Options{
		AdminToken:     a.adminToken,
		TrustedProxies: proxies,
		Log:            a.log,
		Registerer:     reg,
	})
	if err != nil {
		return fmt.Errorf("scim.clients: %w", err)
	}
	if auth.HasOAuth(cfg.SCIM.Clients) {
		a.oauth, err = oauth.New(a.auth, oauth.Options{
			Issuer: cfg.ExternalURL, DataDir: cfg.DataDir, AdminToken: a.adminToken, Log: a.log,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *app) authSchemes() []map[string]any {
	doc := ""
	if a.oauth != nil {
		doc = a.oauth.MetadataURL()
	}
	return a.auth.Schemes(doc)
}

func (a *app) mountOAuth(r chi.Router) {
	if a.oauth == nil {
		return
	}
	h := a.oauth.Handler()
	r.Handle("/oauth/*", h)
	r.Handle(oauth.MetadataPath, h)
}

// reload re-reads the SCIM clients and the OAuth signing keys; on error
// the running ones stay.
func (a *app) reload() error {
	if err := a.auth.Reload(); err != nil {
		a.log.Error().Err(err).Msg("reload refused; the current SCIM clients stay")
		return err
	}
	if a.oauth != nil {
		if err := a.oauth.Reload(); err != nil {
			a.log.Error().Err(err).Msg("reload: OAuth signing keys")
			return err
		}
	}
	a.log.Info().Msg("reloaded SCIM clients")
	return nil
}

// reloadEverything is POST /admin/reload: serve's reloader (every
// reloadable part, as SIGHUP) when serving, else the SCIM clients.
func (a *app) reloadEverything() error {
	if a.reloadAll != nil {
		return a.reloadAll()
	}
	return a.reload()
}
