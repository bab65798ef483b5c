package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	elimity "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/internal/rawjson"
	"github.com/scimbridge/scimbridge/store"
)

// Defaults for zero Options fields; config.Default uses them too.
const (
	DefaultMaxResults      = 1000
	DefaultMaxPayloadBytes = 1 << 20
)

// Server is the SCIM 2.0 endpoint for Users and Groups on the store.
type Server struct {
	opts  Options
	db    *store.DB
	sink  store.Sink
	log   zerolog.Logger
	user  *resourceDef
	group *resourceDef
	elim  elimity.Server // validation, /Schemas, /ResourceTypes
	base  string         // absolute URL of the SCIM root, "" to derive from requests

	commit      *groupCommit                   // every SCIM write goes through it
	activity    *activitylog.Log               // nil: no activity log
	clientOf    func(context.Context) string   // the SCIM client of a request (activity log)
	patchChecks map[*resourceDef]*patchChecker // PATCH validation, by resource type

	unknownAttrs *prometheus.CounterVec
	warned       sync.Map // attribute name → struct{}: warn once per name
	warnedCount  atomic.Int64

	pages pageCursors // where recent list pages ended, so the next one seeks
}

var allowStringValues sync.Once

// New builds the endpoint: schemas (with opts.Extensions), the elimity
// server that validates requests, and our handlers over db. Every write
// hands its changes to sink inside its transaction.
func New(opts Options, db *store.DB, sink store.Sink, log zerolog.Logger) (*Server, error) {
	if db == nil {
		return nil, errors.New("scim: no store")
	}
	if sink == nil {
		sink = store.NopSink{}
	}
	if opts.MaxResults <= 0 {
		opts.MaxResults = DefaultMaxResults
	}
	if opts.MaxPayloadBytes <= 0 {
		opts.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	user, group, err := buildDefs(opts.Extensions)
	if err != nil {
		return nil, err
	}
	// Entra sends "True"/"False" for booleans; the library's switch is
	// global, so set it once.
	allowStringValues.Do(func() { schema.SetAllowStringValues(true) })

	s := &Server{
		opts: opts, db: db, sink: sink, log: log,
		user: user, group: group,
		base:   strings.TrimRight(opts.ExternalURL, "/"),
		commit: newGroupCommit(db),
		patchChecks: map[*resourceDef]*patchChecker{
			user: newPatchChecker(user), group: newPatchChecker(group),
		},
		unknownAttrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimbridge_scim_unknown_attributes_total",
			Help: "Attributes in SCIM requests that no schema declares (ignored, or rejected in strict mode).",
		}, []string{"resource_type"}),
	}
	if s.base != "" {
		s.base += "/scim/v2"
	}
	var types []elimity.ResourceType
	for _, d := range []*resourceDef{user, group} {
		var exts []elimity.SchemaExtension
		for _, e := range d.exts {
			exts = append(exts, elimity.SchemaExtension{Schema: e})
		}
		types = append(types, elimity.ResourceType{
			ID: optional.NewString(d.typ), Name: d.typ, Endpoint: d.endpoint,
			Description:      optional.NewString(d.typ + " Account"),
			Schema:           d.core,
			SchemaExtensions: exts,
			Handler:          captureHandler{},
		})
	}
	s.elim, err = elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{MaxResults: opts.MaxResults, SupportFiltering: true, SupportPatch: true},
		ResourceTypes:         types,
	})
	if err != nil {
		return nil, fmt.Errorf("scim: %w", err)
	}
	return s, nil
}

// Collectors returns the endpoint's Prometheus metrics.
func (s *Server) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.unknownAttrs}
}

// Handler serves the SCIM API with paths relative to its root: mount it
// with chi (r.Mount("/scim/v2", s.Handler())) or strip the prefix. It does
// no authentication: wrap it in BearerAuth.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		labelResourceMiss(r)
		WriteError(w, http.StatusNotFound, "", "no such endpoint: "+r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		rctx := chi.RouteContext(req.Context())
		p := rctx.RoutePath
		if p == "" {
			p = req.URL.Path
		}
		// HEAD is GET without the body (RFC 9110 §9.3.2; every server MUST
		// support it): routed as GET here, where no route took it, so
		// other requests pay nothing for it. net/http sends no body for a
		// HEAD request whatever the handler writes.
		if req.Method == http.MethodHead && r.Match(chi.NewRouteContext(), http.MethodGet, p) {
			get := req.Clone(req.Context())
			get.Method = http.MethodGet
			mounts := slices.Clone(rctx.RoutePatterns) // where this router is mounted: the route label keeps it
			rctx.Reset()
			rctx.RoutePath, rctx.RoutePatterns = p, mounts
			r.ServeHTTP(w, get)
			return
		}
		labelResourceMiss(req)
		if strings.HasSuffix(p, "/"+searchID) {
			searchTakesPost(w, req)
			return
		}
		// RFC 9110 §15.5.6: a 405 lists the methods the path has.
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if r.Match(chi.NewRouteContext(), m, p) {
				w.Header().Add("Allow", m)
			}
		}
		WriteError(w, http.StatusMethodNotAllowed, "", "method "+req.Method+" not allowed on "+req.URL.Path)
	})
	// Each bulk operation runs through this same router (h, set below).
	var h http.Handler
	r.Post("/Bulk", func(w http.ResponseWriter, req *http.Request) { s.bulk(h)(w, req) })
	// A query at the server root (GET on it, POST to its /.search) is one
	// the RFC lets a server leave out (RFC 7644 §3.4.2.1 "MAY"): say so with
	// the RFC's "not supported" status, not as an unknown path.
	rootQuery := func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotImplemented, "", "queries at the server root are not supported (optional in RFC 7644 §3.4.2.1): query /Users or /Groups")
	}
	r.Get("/", rootQuery)
	r.Post("/.search", rootQuery)
	r.Handle("/Me", http.HandlerFunc(notImplementedMe))
	r.Handle("/Me/*", http.HandlerFunc(notImplementedMe))
	r.Get("/ServiceProviderConfig", s.serviceProviderConfig)
	r.Get("/serviceConfiguration", s.serviceProviderConfig) // Microsoft's reference name
	for _, p := range []string{"/Schemas", "/Schemas/*", "/ResourceTypes", "/ResourceTypes/*"} {
		r.Get(p, s.discovery)
	}
	// The resource routes sit on this router itself, not on a subrouter
	// each (chi's Route): a level less to route through for every request
	// (TestRoutesGolden checks the answers and route labels are the same).
	for _, d := range []*resourceDef{s.user, s.group} {
		e := d.endpoint
		list, create := s.list(d), s.create(d)
		// "/Users/?filter=..." is a list, not a Get with an empty id.
		r.Get(e, list)
		r.Get(e+"/", list)
		r.Post(e, create)
		r.Post(e+"/", create)
		r.Post(e+"/.search", s.search(d))
		r.Get(e+"/{id}", s.get(d))
		r.Put(e+"/{id}", s.replace(d))
		r.Patch(e+"/{id}", s.patch(d))
		r.Delete(e+"/{id}", s.delete(d))
	}
	h = canonicalPaths(r)
	return h
}

// labelResourceMiss gives a request under /Users or /Groups that no route
// answers the route label it had when each resource type had its own
// subrouter (chi's Route mounts "/Users", "/Users/" and "/Users/*"), so the
// request metrics count 404s and 405s as before.
func labelResourceMiss(r *http.Request) {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil {
		return
	}
	p := rctx.RoutePath
	if p == "" {
		p = r.URL.Path
	}
	seg, rest, slash := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if seg != "Users" && seg != "Groups" {
		return
	}
	switch {
	case !slash:
		rctx.RoutePatterns = append(rctx.RoutePatterns, "/"+seg)
	case rest == "":
		rctx.RoutePatterns = append(rctx.RoutePatterns, "/"+seg+"/")
	default:
		rctx.RoutePatterns = append(rctx.RoutePatterns, "/"+seg+"/*")
	}
}

// endpoints are the first path segments we serve, by lower-case name:
// clients (Microsoft's suite among them) do not always spell them as the
// RFC does.
var endpoints = map[string]string{}

// canonical are the first segments as we spell them.
var canonical = map[string]bool{}

func init() {
	for _, e := range []string{"Users", "Groups", "Schemas", "ResourceTypes", "ServiceProviderConfig", "serviceConfiguration", "Bulk", "Me"} {
		endpoints[strings.ToLower(e)] = e
		canonical[e] = true
	}
}

// canonicalPaths rewrites the first path segment to its canonical case.
func canonicalPaths(next http.Handler) http.Handler {
	canon := func(p string) string {
		rest := strings.TrimPrefix(p, "/")
		seg, tail, _ := strings.Cut(rest, "/")
		if canonical[seg] {
			return p // as most clients spell it: no lower-casing
		}
		if c, ok := endpoints[strings.ToLower(seg)]; ok && c != seg {
			if tail != "" || strings.HasSuffix(rest, "/") {
				return "/" + c + "/" + tail
			}
			return "/" + c
		}
		return p
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q, ok := canonicalQuery(r.URL.RawQuery); ok {
			r2 := r.Clone(r.Context())
			r2.URL.RawQuery = q
			r = r2
		}
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePath != "" {
			rctx.RoutePath = canon(rctx.RoutePath)
		} else if c := canon(r.URL.Path); c != r.URL.Path {
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = c, ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// queryNames are RFC 7644's query parameters (§3.4.2, §3.4.2.5, §3.9).
var queryNames = []string{"filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder"}

// queryName is the RFC's spelling of a query parameter name given in any
// case, or "" for another parameter. EqualFold, not a map of lower-case
// names: lowering "excludedAttributes" cost every group GET an allocation.
func queryName(key string) string {
	for _, n := range queryNames {
		if len(n) == len(key) && strings.EqualFold(n, key) {
			return n
		}
	}
	return ""
}

// canonicalQuery spells RFC 7644's query parameter names as the RFC does,
// and reports whether it changed any. Attribute names are
// case-insensitive in SCIM (RFC 7643 §2.1) and clients carry that over to
// the parameters: read case-sensitively, "Filter=userName eq …" was
// ignored and the whole list came back, which a match-before-create
// client takes for a match.
func canonicalQuery(raw string) (string, bool) {
	if raw == "" {
		return raw, false
	}
	var pairs []string
	for i, rest := 0, raw; rest != ""; i++ {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		key, value, hasValue := strings.Cut(pair, "=")
		c := queryName(key)
		if c == "" || c == key {
			continue
		}
		if pairs == nil {
			pairs = strings.Split(raw, "&")
		}
		pairs[i] = c
		if hasValue {
			pairs[i] += "=" + value
		}
	}
	if pairs == nil {
		return raw, false
	}
	return strings.Join(pairs, "&"), true
}

// baseURL is the absolute URL of the SCIM root: the configured external
// URL, or one derived from the request when none is configured.
func (s *Server) baseURL(r *http.Request) string {
	if s.base != "" {
		return s.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/scim/v2"
}

func (s *Server) serviceProviderConfig(w http.ResponseWriter, r *http.Request) {
	if refuseDiscoveryFilter(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, serviceProviderConfig(s.opts, s.baseURL(r)))
}

// discovery serves /Schemas and /ResourceTypes through the library.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	rc := chi.RouteContext(r.Context())
	path := r.URL.Path
	if rc != nil && rc.RoutePath != "" {
		path = rc.RoutePath
	}
	if refuseDiscoveryFilter(w, r) {
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = path
	r2.URL.RawPath = ""
	// The library's filter evaluation panics on type mismatches, and these
	// lists are a handful of items: other query parameters are ignored
	// (RFC 7644 §4).
	r2.URL.RawQuery = ""
	resourceType, base := "Schema", s.baseURL(r)
	if strings.HasPrefix(path, "/ResourceTypes") {
		resourceType = "ResourceType"
	}
	if strings.HasPrefix(path, "/Schemas/") || strings.HasPrefix(path, "/ResourceTypes/") {
		if res, ok := s.libraryJSON(w, r2); ok {
			writeJSON(w, http.StatusOK, withDiscoveryMeta(withExternalID(res), resourceType, base))
		}
		return
	}
	if path != "/Schemas" && path != "/ResourceTypes" {
		s.elim.ServeHTTP(w, r2)
		return
	}
	// List responses: the library reports the requested count as
	// itemsPerPage and null for no resources; fix both.
	lr, ok := s.libraryJSON(w, r2)
	if !ok {
		return
	}
	res, _ := lr["Resources"].([]any)
	if res == nil {
		res = []any{}
	}
	for _, x := range res {
		if sc, ok := x.(map[string]any); ok {
			withDiscoveryMeta(withExternalID(sc), resourceType, base)
		}
	}
	lr["Resources"] = res
	lr["itemsPerPage"] = len(res)
	writeJSON(w, http.StatusOK, lr)
}

// readBody reads a request body up to the payload limit: 413 beyond it,
// 415 for a body that is not JSON.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt := strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
		if mt != "application/scim+json" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return nil, errorf(http.StatusUnsupportedMediaType, "", "Content-Type must be application/scim+json or application/json")
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxPayloadBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "", fmt.Sprintf("request body exceeds maxPayloadSize (%d bytes)", s.opts.MaxPayloadBytes))
		}
		return nil, errorf(http.StatusBadRequest, "invalidSyntax", "cannot read request body")
	}
	if e := checkText(b); e != nil {
		return nil, e
	}
	return b, nil
}

// fail writes err as a SCIM error, logging internal errors.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	se, known := asError(err)
	if !known {
		s.logger(r).Error().Err(err).Msg("scim request failed")
	}
	WriteError(w, se.Status, se.ScimType, se.Detail)
}

func (s *Server) logger(r *http.Request) *zerolog.Logger {
	if l := zerolog.Ctx(r.Context()); l != nil && l.GetLevel() != zerolog.Disabled {
		return l
	}
	return &s.log
}

// decodeObject decodes a JSON object, numbers kept as json.Number.
func decodeObject(b []byte) (map[string]any, *Error) {
	// The fast decoder takes a lone well-formed object; anything else (and
	// any error) is encoding/json's to decide.
	if m, end, ok := rawjson.DecodeObject(b, true); ok && onlySpace(b[end:]) {
		return m, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil {
		// Say what is wrong: empty, not JSON (with the decoder's reason,
		// e.g. its nesting limit), or JSON but not an object.
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return nil, errorf(http.StatusBadRequest, "invalidSyntax", "request body is empty")
		case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
			// RFC 8259 §8.1: senders MUST NOT add one; a parser MAY skip it.
			return nil, errorf(http.StatusBadRequest, "invalidSyntax", "request body starts with a byte order mark (RFC 8259 §8.1: JSON has none)")
		case err != nil && !errors.As(err, &typeErr):
			return nil, errorf(http.StatusBadRequest, "invalidSyntax", "request body is not valid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
		}
		return nil, errorf(http.StatusBadRequest, "invalidSyntax", "request body is not a JSON object")
	}
	if d.More() {
		return nil, errorf(http.StatusBadRequest, "invalidSyntax", "request body has data after the JSON object")
	}
	return m, nil
}

func onlySpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

type ctxKey struct{}

func withCapture(ctx context.Context, c *captured) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// withExternalID lists the common attribute externalId in the core User
// and Group schemas. RFC 7643 §3.1 lets a schema list common attributes,
// and Entra's validator (Schema_Discoverability_Test) looks every mapped
// target attribute up in /Schemas: its default mappings write externalId
// (mailNickname, a group's objectId), reported missing otherwise. id and
// meta stay out (the validator skips id; neither is mapped).
func withExternalID(sc map[string]any) map[string]any {
	switch sc["id"] {
	case schema.UserSchema, schema.GroupSchema:
	default:
		return sc
	}
	attrs, _ := sc["attributes"].([]any)
	for _, a := range attrs {
		if m, ok := a.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["name"]), "externalId") {
			return sc
		}
	}
	sc["attributes"] = append(attrs, map[string]any{
		"name": "externalId", "type": "string", "multiValued": false,
		"description": "A String that is an identifier for the resource as defined by the provisioning client.",
		"required":    false, "caseExact": true, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
	})
	return sc
}

// libraryJSON serves r through the library and decodes its JSON answer.
// An error answer, or one that is not a JSON object, goes to w as it is,
// and ok is false.
func (s *Server) libraryJSON(w http.ResponseWriter, r *http.Request) (m map[string]any, ok bool) {
	var bw bufferWriter
	s.elim.ServeHTTP(&bw, r)
	if bw.status != 0 && bw.status != http.StatusOK || json.Unmarshal(bw.body.Bytes(), &m) != nil {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(max(bw.status, http.StatusOK))
		_, _ = w.Write(bw.body.Bytes())
		return nil, false
	}
	return m, true
}
