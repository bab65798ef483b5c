// Package console is the status console at /admin/ui/: server-rendered
// pages over the same admin.Service the JSON admin API answers from —
// connector health, dead letters (retry, discard), a resource lookup with
// its timeline, and the recent activity.
//
// Signing in takes the admin token once (a password field, posted); the
// browser then holds only an HttpOnly, SameSite=Strict session cookie.
// Every form that changes something carries the session's CSRF token.
package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/admin"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the console.
type Options struct {
	// Token returns the admin token now; sessions opened with another
	// token end. Required: an empty token signs nobody in.
	Token func() string
	// Secure marks the cookie Secure even on plain HTTP (behind a proxy
	// that terminates TLS). Requests that arrive over TLS always get it.
	Secure bool
	// Refresh is how often pages refresh their live part (0: 5 s).
	Refresh time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	Log zerolog.Logger
	// Import enables the Import page (import.go); nil leaves it out.
	Import *ImportOptions
}

type console struct {
	svc      *admin.Service
	opts     Options
	sessions *sessions
	throttle *throttle
	pages    map[string]*template.Template
	imports  imports
	fields   fieldReports // the latest field check of each resource (fields.go)
}

// Handler serves the console at /admin/ui/ (full paths: mount it at
// /admin/ui).
func Handler(svc *admin.Service, opts Options) http.Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 5 * time.Second
	}
	c := &console{svc: svc, opts: opts, sessions: newSessions(), throttle: newThrottle(), pages: parsePages()}
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /admin/ui/static/", http.StripPrefix("/admin/ui/static/", http.FileServerFS(static)))
	mux.HandleFunc("POST /admin/ui/signin", c.signIn)
	mux.HandleFunc("POST /admin/ui/signout", c.withSession(c.signOut))
	mux.HandleFunc("GET /admin/ui/{$}", c.withSession(c.overview))
	mux.HandleFunc("GET /admin/ui/deadletters", c.withSession(c.deadLetters))
	mux.HandleFunc("POST /admin/ui/deadletters", c.withSession(c.actOnDeadLetters))
	mux.HandleFunc("GET /admin/ui/lookup", c.withSession(c.lookup))
	mux.HandleFunc("POST /admin/ui/lookup/fields", c.withSession(c.checkFields))
	mux.HandleFunc("GET /admin/ui/activity", c.withSession(c.activity))
	mux.HandleFunc("GET /admin/ui/import", c.withSession(c.importPage))
	mux.HandleFunc("POST /admin/ui/import", c.withSession(c.upload))
	mux.HandleFunc("POST /admin/ui/import/apply", c.withSession(c.apply))
	mux.HandleFunc("POST /admin/ui/import/discard", c.withSession(c.discard))
	mux.HandleFunc("GET /admin/ui/import/report", c.withSession(c.report))
	mux.HandleFunc("/admin/ui", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/ui/", http.StatusSeeOther)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such page", http.StatusNotFound)
	})
	return securityHeaders(mux)
}

// csp: everything from this origin only, no inline script, never framed.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.Method == http.MethodPost && !sameOrigin(r) {
			http.Error(w, "cross-site form posts are refused", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses posts a browser marks as coming from another site:
// by Sec-Fetch-Site when the browser sends it (it holds behind a proxy
// that rewrites Host), else by an Origin naming another host. Requests
// with neither (curl) pass on to the session and CSRF checks.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true
}

// request is what a page handler gets besides the request.
type request struct {
	ses *session
}

// withSession runs h for a live session. Without one, a page shows the
// sign-in form and a form post is refused, changing nothing.
func (c *console) withSession(h func(http.ResponseWriter, *http.Request, request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := c.opts.Now()
		refresh := r.Header.Get("X-Console-Refresh") != ""
		ses := c.sessions.get(r, now, c.opts.Token(), !refresh)
		if ses == nil {
			status := http.StatusOK
			msg := ""
			if r.Method != http.MethodGet {
				status, msg = http.StatusForbidden, "Your session has ended: sign in again. Nothing was changed."
			}
			c.signInPage(w, status, msg)
			return
		}
		if r.Method == http.MethodPost {
			err := c.parseForm(w, r)
			if _, big := errors.AsType[*http.MaxBytesError](err); big {
				c.render(w, http.StatusRequestEntityTooLarge, "error", ses, r, pageData{Title: "Refused",
					Error: fmt.Sprintf("The upload is larger than %d MiB. Nothing was changed.", c.maxUpload()>>20)})
				return
			}
			if err != nil || !csrfMatches(r.PostForm.Get("csrf"), ses.csrf) {
				c.render(w, http.StatusForbidden, "error", ses, r, pageData{Title: "Refused",
					Error: "This form has expired or did not come from this console. Nothing was changed: reload the page and try again."})
				return
			}
		}
		h(w, r, request{ses: ses})
	}
}

// parseForm reads a posted form; a multipart one (the Import page's
// upload) only up to the upload limit, and entirely in memory.
func (c *console) parseForm(w http.ResponseWriter, r *http.Request) error {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseForm()
	}
	limit := c.maxUpload() + 1<<20 // the file, the other fields and the part headers
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return r.ParseMultipartForm(limit)
}

func (c *console) signInPage(w http.ResponseWriter, status int, msg string) {
	c.render(w, status, "signin", nil, nil, pageData{Title: "Sign in", Error: msg})
}

func (c *console) signIn(w http.ResponseWriter, r *http.Request) {
	now := c.opts.Now()
	if !c.throttle.allow(r, now) {
		w.Header().Set("Retry-After", strconv.Itoa(int(attemptsEvery.Seconds())))
		c.signInPage(w, http.StatusTooManyRequests, "Too many sign-in attempts: wait a few seconds and try again.")
		return
	}
	token := c.opts.Token()
	if err := r.ParseForm(); err != nil || !tokenMatches(r.PostForm.Get("token"), token) {
		c.opts.Log.Warn().Str("remote", r.RemoteAddr).Msg("console: sign-in with a wrong admin token")
		c.signInPage(w, http.StatusUnauthorized, "That is not the admin token.")
		return
	}
	value, _ := c.sessions.open(now, token)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: cookiePath, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.opts.Secure || r.TLS != nil, MaxAge: int(maxLifetime.Seconds())})
	c.opts.Log.Info().Str("remote", r.RemoteAddr).Msg("console: signed in")
	http.Redirect(w, r, "/admin/ui/", http.StatusSeeOther)
}

func (c *console) signOut(w http.ResponseWriter, r *http.Request, q request) {
	c.sessions.close(q.ses)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: cookiePath, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.opts.Secure || r.TLS != nil, MaxAge: -1})
	c.render(w, http.StatusOK, "signin", nil, nil, pageData{Title: "Sign in", Notice: "Signed out."})
}

// pageData is what every template gets.
type pageData struct {
	Title     string
	Nav       string // the current section
	CSRF      string
	Refresh   string // for people ("5 s")
	RefreshMS int    // for the script
	Now       time.Time
	Error     string
	Notice    string
	Data      any
	Import    bool // the Import page is enabled (nav)
}

func (c *console) render(w http.ResponseWriter, status int, page string, ses *session, r *http.Request, d pageData) {
	if ses != nil {
		d.CSRF = ses.csrf
	}
	d.Refresh, d.RefreshMS = duration(c.opts.Refresh), int(c.opts.Refresh.Milliseconds())
	d.Now = c.opts.Now().UTC()
	d.Import = c.opts.Import != nil
	var buf bytes.Buffer
	if err := c.pages[page].ExecuteTemplate(&buf, "layout", d); err != nil {
		c.opts.Log.Error().Err(err).Str("page", page).Msg("console: render")
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *console) fail(w http.ResponseWriter, r *http.Request, q request, nav string, err error) {
	c.opts.Log.Error().Err(err).Str("path", r.URL.Path).Msg("console")
	c.render(w, http.StatusInternalServerError, "error", q.ses, r, pageData{Title: "Error", Nav: nav, Error: err.Error()})
}

func (c *console) overview(w http.ResponseWriter, r *http.Request, q request) {
	views, err := c.svc.Overview()
	if err != nil {
		c.fail(w, r, q, "overview", err)
		return
	}
	c.render(w, http.StatusOK, "overview", q.ses, r, pageData{Title: "Overview", Nav: "overview", Data: views})
}

const deadLettersPerPage = 50

type deadLettersData struct {
	Page       admin.DeadLetterPage
	Connector  string
	Connectors []string
	Done       string
	Count      int
	Prev, Next string // links, "" when none
}

func (c *console) deadLetters(w http.ResponseWriter, r *http.Request, q request) {
	qs := r.URL.Query()
	conn := qs.Get("connector")
	names := c.svc.Dispatcher.Connectors()
	if conn != "" && !contains(names, conn) {
		conn = ""
	}
	offset, _ := strconv.Atoi(qs.Get("offset"))
	page, err := c.svc.DeadLetters(conn, offset, deadLettersPerPage)
	if err != nil {
		c.fail(w, r, q, "deadletters", err)
		return
	}
	d := deadLettersData{Page: page, Connector: conn, Connectors: names}
	switch qs.Get("done") {
	case "retried", "discarded", "gone":
		d.Done = qs.Get("done")
		d.Count, _ = strconv.Atoi(qs.Get("n"))
	}
	link := func(off int) string {
		v := url.Values{"offset": {strconv.Itoa(off)}}
		if conn != "" {
			v.Set("connector", conn)
		}
		return "/admin/ui/deadletters?" + v.Encode()
	}
	if page.Offset > 0 {
		d.Prev = link(max(page.Offset-page.Limit, 0))
	}
	if page.Offset+len(page.Letters) < page.Total {
		d.Next = link(page.Offset + page.Limit)
	}
	c.render(w, http.StatusOK, "deadletters", q.ses, r, pageData{Title: "Dead letters", Nav: "deadletters", Data: d})
}

// actOnDeadLetters retries or discards one dead letter (a row's button:
// row=retry/connector/id) or the selected ones (action=retry|discard with
// dl=connector/id...), through the same Dispatcher calls as the JSON API.
func (c *console) actOnDeadLetters(w http.ResponseWriter, r *http.Request, q request) {
	action, picked := r.PostForm.Get("action"), r.PostForm["dl"]
	if row := r.PostForm.Get("row"); row != "" {
		a, ref, _ := strings.Cut(row, "/")
		action, picked = a, []string{ref}
	}
	if action == "retry-all" {
		c.retryAll(w, r, q)
		return
	}
	if action != "retry" && action != "discard" {
		c.render(w, http.StatusBadRequest, "error", q.ses, r, pageData{Title: "Error", Nav: "deadletters", Error: "Unknown action: nothing was changed."})
		return
	}
	n, gone := 0, 0
	for _, ref := range picked {
		conn, idText, _ := strings.Cut(ref, "/")
		id, err := store.ParseDeadLetterID(idText)
		if err != nil {
			continue
		}
		if action == "retry" {
			err = c.svc.Dispatcher.RetryDeadLetter(conn, id)
		} else {
			err = c.svc.Dispatcher.DiscardDeadLetter(conn, id)
		}
		switch {
		case err == nil:
			n++
			c.opts.Log.Info().Str("connector", conn).Uint64("dead_letter", id).Str("action", action).Msg("console: dead letter")
		case errors.Is(err, connectors.ErrNotFound):
			gone++ // retried or discarded meanwhile (another tab, the CLI)
		default:
			c.fail(w, r, q, "deadletters", err)
			return
		}
	}
	done := map[string]string{"retry": "retried", "discard": "discarded"}[action]
	if n == 0 && gone > 0 {
		done = "gone"
	}
	v := url.Values{"done": {done}, "n": {strconv.Itoa(max(n, gone))}}
	if conn := r.PostForm.Get("connector"); conn != "" {
		v.Set("connector", conn)
	}
	http.Redirect(w, r, "/admin/ui/deadletters?"+v.Encode(), http.StatusSeeOther)
}

// retryAll queues every dead letter of the form's connector again.
func (c *console) retryAll(w http.ResponseWriter, r *http.Request, q request) {
	conn := r.PostForm.Get("connector")
	if !contains(c.svc.Dispatcher.Connectors(), conn) {
		c.render(w, http.StatusBadRequest, "error", q.ses, r, pageData{Title: "Error", Nav: "deadletters", Error: "Pick a connector first: nothing was changed."})
		return
	}
	n, err := admin.RetryAll(c.svc.Dispatcher, conn)
	if err != nil {
		c.fail(w, r, q, "deadletters", err)
		return
	}
	c.opts.Log.Info().Str("connector", conn).Int("dead_letters", n).Msg("console: retried all dead letters")
	v := url.Values{"done": {"retried"}, "n": {strconv.Itoa(n)}, "connector": {conn}}
	http.Redirect(w, r, "/admin/ui/deadletters?"+v.Encode(), http.StatusSeeOther)
}

type lookupData struct {
	Query     string
	Resources []resourceView
	// Timeline of the query itself when no stored resource matches (a
	// deleted or renamed one).
	Orphan *timelineView
}

type resourceView struct {
	admin.Resource
	Timeline timelineView
	Fields   *admin.FieldReport // the latest field check, nil if none
}

type timelineView struct {
	Events      []activity.Event
	Next        string
	Unavailable bool
	Error       string
}

func (c *console) timeline(r *http.Request, resource, cursor string) timelineView {
	p, err := c.svc.Timeline(r.Context(), resource, cursor, 50)
	return toView(p, err)
}

func toView(p activity.Page, err error) timelineView {
	switch {
	case errors.Is(err, activity.ErrUnavailable):
		return timelineView{Unavailable: true}
	case err != nil:
		return timelineView{Error: err.Error()}
	}
	return timelineView{Events: p.Events, Next: p.Next}
}

func (c *console) lookup(w http.ResponseWriter, r *http.Request, q request) {
	query := strings.TrimSpace(r.URL.Query().Get("q"))
	d := lookupData{Query: query}
	if query != "" {
		found, err := c.svc.Lookup(query)
		if err != nil {
			c.fail(w, r, q, "lookup", err)
			return
		}
		// The cursor pages a single timeline: the one shown alone.
		cursor := ""
		if len(found) <= 1 {
			cursor = r.URL.Query().Get("cursor")
		}
		for _, res := range found {
			d.Resources = append(d.Resources, resourceView{Resource: res, Timeline: c.timeline(r, res.ID, cursor),
				Fields: c.fields.get(res.Type, res.ID)})
		}
		if len(found) == 0 {
			t := c.timeline(r, query, cursor)
			d.Orphan = &t
		}
	}
	c.render(w, http.StatusOK, "lookup", q.ses, r, pageData{Title: "Lookup", Nav: "lookup", Data: d})
}

type activityData struct {
	Failed     bool
	Connector  string
	Connectors []string
	Timeline   timelineView
	NextLink   string
}

func (c *console) activity(w http.ResponseWriter, r *http.Request, q request) {
	qs := r.URL.Query()
	d := activityData{Failed: qs.Get("failed") != "", Connector: qs.Get("connector"), Connectors: c.svc.Dispatcher.Connectors()}
	if d.Connector != "" && !contains(d.Connectors, d.Connector) {
		d.Connector = ""
	}
	f := activity.Filter{Connector: d.Connector, Failed: d.Failed, Cursor: qs.Get("cursor"), Limit: 100}
	p, err := c.svc.Recent(r.Context(), f)
	d.Timeline = toView(p, err)
	if p.Next != "" {
		v := url.Values{"cursor": {p.Next}}
		if d.Failed {
			v.Set("failed", "1")
		}
		if d.Connector != "" {
			v.Set("connector", d.Connector)
		}
		d.NextLink = "/admin/ui/activity?" + v.Encode()
	}
	c.render(w, http.StatusOK, "activity", q.ses, r, pageData{Title: "Activity", Nav: "activity", Data: d})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
