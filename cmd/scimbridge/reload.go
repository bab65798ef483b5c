package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/rs/zerolog"
)

// reloader re-reads, on SIGHUP (and POST /admin/reload), what can change
// without a restart: the SCIM clients and the serving certificate. A
// failed step keeps what was loaded before, so a bad file never takes a
// running server down. Go's default for SIGHUP is to exit: serve asks for
// the signal before anything else, so the process never dies of it.
type reloader struct {
	log   zerolog.Logger
	mu    sync.Mutex
	steps []reloadStep
}

type reloadStep struct {
	name string
	fn   func() error
}

func newReloader(log zerolog.Logger) *reloader { return &reloader{log: log} }

// add registers something to re-read on reload.
func (r *reloader) add(name string, fn func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps = append(r.steps, reloadStep{name, fn})
}

// reload runs every step (one reload at a time) and returns their errors.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.steps) == 0 {
		r.log.Info().Msg("reload: nothing reloadable yet (restart to apply config.yaml changes)")
		return nil
	}
	var errs []error
	for _, s := range r.steps {
		if err := s.fn(); err != nil {
			r.log.Error().Err(err).Str("what", s.name).Msg("reload failed: keeping the previous one")
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			continue
		}
		r.log.Info().Str("what", s.name).Msg("reloaded")
	}
	return errors.Join(errs...)
}

// watch reloads on every signal from hup until ctx ends.
func (r *reloader) watch(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.reload()
		}
	}
}
