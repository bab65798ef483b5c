package admin

import "net/http"

// WithBackup serves GET /admin/backup with h: a consistent copy of the
// data file as application/octet-stream (`scimbridge backup FILE`).
func WithBackup(h http.HandlerFunc) Option { return func(a *api) { a.backup = h } }
