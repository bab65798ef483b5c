package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/connectors"
)

// statusWithHealth is a connector's status in GET /admin/status.
type statusWithHealth struct {
	connectors.Status
	Health string `json:"health"`
}

// WithService serves the lookup and the activity log from s (the same
// Service the console renders from).
func WithService(s *Service) Option { return func(a *api) { a.svc = s } }

func (a *api) serviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/lookup", a.lookup)
	mux.HandleFunc("GET /admin/activity", a.activity)
	mux.HandleFunc("POST /admin/resources/{type}/{id}/check-fields", a.checkFields)
}

func (a *api) lookup(w http.ResponseWriter, r *http.Request) {
	res, err := a.svc.Lookup(r.URL.Query().Get("q"))
	if errors.Is(err, ErrNoStore) {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	if res == nil {
		res = []Resource{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": res})
}

func (a *api) activity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "limit must be a positive number")
			return
		}
		limit = n
	}
	var page activity.Page
	var err error
	if res := q.Get("resource"); res != "" {
		page, err = a.svc.Timeline(r.Context(), res, q.Get("cursor"), limit)
	} else {
		f, ferr := ParseFilter(q.Get("connector"), q.Get("kind"), q.Get("outcome"), q.Get("since"), time.Now())
		if ferr != nil {
			writeError(w, http.StatusBadRequest, ferr.Error())
			return
		}
		f.Cursor, f.Limit = q.Get("cursor"), limit
		page, err = a.svc.Recent(r.Context(), f)
	}
	switch {
	case errors.Is(err, activity.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, activity.ErrBadCursor):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeErr(w, err)
	default:
		if page.Events == nil {
			page.Events = []activity.Event{}
		}
		writeJSON(w, http.StatusOK, page)
	}
}

// ParseFilter reads the recent feed's filters as the API and the console
// take them: outcome is "" or "failed"; since is a duration back from now
// ("1h", "30m") or an RFC 3339 time.
func ParseFilter(connector, kind, outcome, since string, now time.Time) (activity.Filter, error) {
	f := activity.Filter{Connector: connector, Kind: kind}
	switch outcome {
	case "", "all":
	case activity.OutcomeFailed:
		f.Failed = true
	default:
		return f, errors.New(`outcome must be "failed" (or left out)`)
	}
	if since != "" {
		if d, err := time.ParseDuration(since); err == nil && d > 0 {
			f.Since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, since); err == nil {
			f.Since = t
		} else {
			return f, errors.New(`since must be a duration such as "1h" or an RFC 3339 time`)
		}
	}
	return f, nil
}
