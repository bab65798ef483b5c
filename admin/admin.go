// Package admin is the admin HTTP API: per-connector delivery status,
// dead letters (list, retry, discard) and the target ids of a SCIM
// resource. It has its own bearer token, separate from the IdPs' tokens.
//
//	GET    /admin/status                                 {"connectors": [connectors.Status]}
//	GET    /admin/deadletters[?connector=NAME]           {"deadLetters": {"NAME": [store.DeadLetter]}}
//	POST   /admin/deadletters/{connector}/{id}/retry     204
//	POST   /admin/deadletters/{connector}/retry          {"retried": n} (all of them)
//	DELETE /admin/deadletters/{connector}/{id}           204 (discard)
//	GET    /admin/targets/{type}/{id}                    {"type","id","targets": {"NAME": "target id"}}
//	POST   /admin/check-targets[?connector=NAME&repair=true] 202 {"started": true}; 409 while one runs
//	GET    /admin/check-targets                          connectors.TargetCheck (the latest check)
//	POST   /admin/reconcile                              {"reconciled": true} (with WithReconcile; 409 while one runs)
//	GET    /admin/verify                                 {"ok", "problems": [...], "total"} (with WithVerify; 409 while one runs)
//	POST   /admin/reload                                 {"reloaded": true} (with WithReload: SCIM clients and OAuth keys)
//	GET    /admin/backup                                 the data file (with WithBackup; 409 while one runs)
//	GET    /admin/lookup?q=<id|userName|email|displayName>  {"resources": [Resource]} (with WithService)
//	GET    /admin/activity?resource=...&cursor=&limit=   activity.Page: one resource's timeline (with WithService)
//	GET    /admin/activity?connector=&kind=&outcome=failed&since=&cursor=&limit=  activity.Page: the recent feed
//	POST   /admin/resources/{type}/{id}/check-fields[?repair=true]  FieldReport: one resource's fields in each target (with WithService)
//
// Errors, unknown paths and wrong methods included, are {"error": "..."}.
package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// Dispatcher is what the API needs from *connectors.Dispatcher.
type Dispatcher interface {
	Connectors() []string
	Status() ([]connectors.Status, error)
	DeadLetters(connector string) ([]store.DeadLetter, error)
	RetryDeadLetter(connector string, id uint64) error
	DiscardDeadLetter(connector string, id uint64) error
	TargetIDs(typ, id string) (map[string]string, error)
	StartTargetCheck(names []string, repair bool) error
	TargetCheck() connectors.TargetCheck
}

// Handler serves the admin API at /admin/... (full paths: mount it with
// chi's r.Mount("/admin", h) or http.ServeMux's Handle("/admin/", h)).
// Every request must carry "Authorization: Bearer <token>"; an empty
// token refuses every request.
func Handler(d Dispatcher, token string, opts ...Option) http.Handler {
	a := &api{d: d}
	for _, o := range opts {
		o(a)
	}
	mux := http.NewServeMux()
	if a.reconcile != nil {
		mux.HandleFunc("POST /admin/reconcile", a.runReconcile)
	}
	if a.verify != nil {
		mux.HandleFunc("GET /admin/verify", a.runVerify)
	}
	if a.reload != nil {
		mux.HandleFunc("POST /admin/reload", a.runReload)
	}
	if a.backup != nil {
		mux.HandleFunc("GET /admin/backup", a.backup)
	}
	if a.svc != nil {
		a.serviceRoutes(mux)
	}
	mux.HandleFunc("GET /admin/status", a.status)
	mux.HandleFunc("GET /admin/deadletters", a.listDead)
	mux.HandleFunc("GET /admin/deadletters/{connector}", a.listDead)
	mux.HandleFunc("POST /admin/deadletters/{connector}/{id}/retry", a.retryDead)
	mux.HandleFunc("POST /admin/deadletters/{connector}/retry", a.retryAll)
	mux.HandleFunc("DELETE /admin/deadletters/{connector}/{id}", a.discardDead)
	mux.HandleFunc("GET /admin/targets/{type}/{id}", a.targets)
	mux.HandleFunc("POST /admin/check-targets", a.startCheck)
	mux.HandleFunc("GET /admin/check-targets", a.checkReport)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scimbridge admin"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong admin token")
			return
		}
		if h, pattern := mux.Handler(r); pattern == "" {
			// net/http's own 404/405 are text/plain: answer in JSON like
			// every other admin error, keeping its Allow header.
			probe := &statusProbe{header: http.Header{}}
			h.ServeHTTP(probe, r)
			if allow := probe.header.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			writeError(w, probe.status, http.StatusText(probe.status)+": "+r.Method+" "+r.URL.Path)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// statusProbe learns what status (and headers) a handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) WriteHeader(s int) {
	if p.status == 0 {
		p.status = s
	}
}
func (p *statusProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

// Option adds an optional endpoint.
type Option func(*api)

// WithReconcile serves POST /admin/reconcile: re-evaluate every stored
// resource against every connector's scope and mapping and enqueue what
// the targets lack (what start-up does), e.g. after discarding dead
// letters or repairing a target by hand.
func WithReconcile(fn func() error) Option { return func(a *api) { a.reconcile = fn } }

// WithVerify serves GET /admin/verify: check that the data file agrees
// with itself (store.Verify) and list at most 1,000 problems. It reads the
// whole store in one read transaction.
func WithVerify(fn func(limit int) (problems []string, total int, err error)) Option {
	return func(a *api) { a.verify = fn }
}

// WithReload serves POST /admin/reload: re-read the SCIM clients (and
// OAuth signing keys) from config.yaml, as SIGHUP does. A bad file keeps
// the current clients and answers 400 with the reason.
func WithReload(fn func() error) Option { return func(a *api) { a.reload = fn } }

func (a *api) runReload(w http.ResponseWriter, _ *http.Request) {
	if err := a.reload(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"reloaded": true})
}

func (a *api) runVerify(w http.ResponseWriter, r *http.Request) {
	if !a.verifying.TryLock() {
		writeError(w, http.StatusConflict, "a verify is already running")
		return
	}
	defer a.verifying.Unlock()
	problems, total, err := a.verify(1000)
	a.operator(r, "verify", fmt.Sprintf("%d problems", total), err)
	if err != nil {
		writeErr(w, err)
		return
	}
	if problems == nil {
		problems = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": total == 0, "problems": problems, "total": total})
}

func (a *api) runReconcile(w http.ResponseWriter, r *http.Request) {
	if !a.reconciling.TryLock() {
		writeError(w, http.StatusConflict, "a reconcile is already running")
		return
	}
	defer a.reconciling.Unlock()
	err := a.reconcile()
	a.operator(r, "reconcile", "", err)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"reconciled": true})
}

// authorized accepts "Bearer <token>" with the scheme in any case (RFC
// 6750 §2.1, as scim.BearerAuth does). The comparison is of SHA-256 sums
// in constant time, so neither the token's content nor its length leaks.
func authorized(r *http.Request, token string) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

type api struct {
	d         Dispatcher
	reconcile func() error
	verify    func(limit int) ([]string, int, error)
	reload    func() error
	backup    http.HandlerFunc
	svc       *Service
	oplog     func(r *http.Request, action, detail string, err error) // activity log (WithActivity)
	// One reconcile (a write transaction over every resource) and one
	// verify (a read of the whole store) at a time: a client calling them
	// in a loop must not stack them up in front of SCIM writes.
	reconciling, verifying sync.Mutex
}

func (a *api) status(w http.ResponseWriter, _ *http.Request) {
	st, err := a.d.Status()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	now := time.Now()
	out := make([]statusWithHealth, len(st))
	for i, s := range st {
		out[i] = statusWithHealth{Status: s, Health: Health(s, now)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"connectors": out})
}

func (a *api) listDead(w http.ResponseWriter, r *http.Request) {
	names := a.d.Connectors()
	if c := r.PathValue("connector"); c != "" {
		names = []string{c}
	} else if c := r.URL.Query().Get("connector"); c != "" {
		names = []string{c}
	}
	out := map[string][]store.DeadLetter{}
	for _, n := range names {
		dl, err := a.d.DeadLetters(n)
		if err != nil {
			writeErr(w, err)
			return
		}
		out[n] = dl
	}
	writeJSON(w, http.StatusOK, map[string]any{"deadLetters": out})
}

func (a *api) retryDead(w http.ResponseWriter, r *http.Request) {
	id, err := store.ParseDeadLetterID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "dead letter id must be a number")
		return
	}
	if err := a.d.RetryDeadLetter(r.PathValue("connector"), id); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) retryAll(w http.ResponseWriter, r *http.Request) {
	n, err := RetryAll(a.d, r.PathValue("connector"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"retried": n})
}

// RetryAll queues every dead letter of the connector again (the API's
// POST /admin/deadletters/{connector}/retry and the console's "Retry all").
func RetryAll(d Dispatcher, connector string) (int, error) {
	dl, err := d.DeadLetters(connector)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range dl {
		if err := d.RetryDeadLetter(connector, l.ID); err != nil && !errors.Is(err, connectors.ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}

func (a *api) discardDead(w http.ResponseWriter, r *http.Request) {
	id, err := store.ParseDeadLetterID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "dead letter id must be a number")
		return
	}
	if err := a.d.DiscardDeadLetter(r.PathValue("connector"), id); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) targets(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	switch strings.ToLower(typ) {
	case "user", "users":
		typ = store.TypeUser
	case "group", "groups":
		typ = store.TypeGroup
	default:
		writeError(w, http.StatusBadRequest, "type must be Users or Groups")
		return
	}
	ids, err := a.d.TargetIDs(typ, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"type": typ, "id": r.PathValue("id"), "targets": ids})
}

// repairParam reads the optional ?repair=true|false of a drift check; a
// value that is not a boolean is answered 400 (and ok is false).
func repairParam(w http.ResponseWriter, r *http.Request) (repair, ok bool) {
	v := r.URL.Query().Get("repair")
	if v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, "repair must be true or false")
		return false, false
	}
	return b, true
}

// startCheck starts a drift check: what each target holds against what
// the bridge delivered there (see connectors.Dispatcher.StartTargetCheck).
func (a *api) startCheck(w http.ResponseWriter, r *http.Request) {
	var names []string
	if c := r.URL.Query().Get("connector"); c != "" {
		names = []string{c}
	}
	repair, ok := repairParam(w, r)
	if !ok {
		return
	}
	switch err := a.d.StartTargetCheck(names, repair); {
	case errors.Is(err, connectors.ErrCheckRunning):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, connectors.ErrCannotList):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeErr(w, err)
	default:
		which := "every connector that can list"
		if len(names) > 0 {
			which = names[0]
		}
		a.operator(r, "check-targets", fmt.Sprintf("%s, repair %v", which, repair), nil)
		writeJSON(w, http.StatusAccepted, map[string]bool{"started": true})
	}
}

func (a *api) checkReport(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.d.TargetCheck())
}

func writeErr(w http.ResponseWriter, err error) {
	if errors.Is(err, connectors.ErrNotFound) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
