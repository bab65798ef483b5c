package main

import (
	"context"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/store"
)

// app is everything serve runs besides the HTTP server itself.
type app struct {
	log zerolog.Logger
}

func buildApp(ctx context.Context, cfg *config.Config, db *store.DB, tokens []string, adminToken string, reg prometheus.Registerer, log zerolog.Logger) (*app, error) {
	return &app{log: log}, nil
}

func (a *app) mount(r chi.Router)                 {}
func (a *app) start(ctx context.Context)          {}
func (a *app) shutdown(ctx context.Context) error { return nil }
func (a *app) close()                             {}
