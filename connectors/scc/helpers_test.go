package scc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/scc/sccsim"
)

const (
	testOrg = "org-1"
	testKey = "key-1"
	testAT  = "at-secret-0001"
	testRT  = "rt-secret-0001"
)

// memState is an in-memory connectors.StateStore.
type memState struct {
	mu   sync.Mutex
	m    map[string][]byte
	fail error // Put fails with it when set
}

func (s *memState) Get(k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k], nil
}

func (s *memState) Put(k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[k] = append([]byte(nil), v...)
	return nil
}

func (s *memState) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// call is one request the connector made, as the target saw it.
type call struct {
	Method, Path, Body string
	Status             int
}

func (c call) String() string {
	s := c.Method + " " + c.Path
	if c.Body != "" {
		s += " " + c.Body
	}
	return fmt.Sprintf("%s -> %d", s, c.Status)
}

// recorder wraps a handler and keeps every request and its status.
type recorder struct {
	next  http.Handler
	mu    sync.Mutex
	calls []call
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: 200}
	r.next.ServeHTTP(sw, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	path := strings.TrimPrefix(req.URL.RequestURI(), "/v1/organizations/"+testOrg)
	r.calls = append(r.calls, call{Method: req.Method, Path: path, Body: string(body), Status: sw.status})
}

func (r *recorder) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// count counts recorded calls whose "METHOD path" starts with prefix.
func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if strings.HasPrefix(c.Method+" "+c.Path, prefix) {
			n++
		}
	}
	return n
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

// env is one simulator behind httptest, with a recorder and a state store.
type env struct {
	sim      *sccsim.Server
	rec      *recorder
	srv      *httptest.Server
	state    *memState
	settings connectors.Settings
}

// newEnv starts a simulator; wrap, if set, sits between the recorder and
// the simulator (to rewrite answers into other documented variants).
func newEnv(t testing.TB, opts sccsim.Options, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	opts.OrgID, opts.APIKeyID = testOrg, testKey
	if opts.AccessToken == "" {
		opts.AccessToken, opts.RefreshToken = testAT, testRT
	}
	sim := sccsim.New(opts)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	rec := &recorder{next: h}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	creds := sim.Credentials()
	return &env{sim: sim, rec: rec, srv: srv, state: &memState{}, settings: connectors.Settings{
		Name: "scc-test", Type: "scc", BaseURL: srv.URL + sim.BasePath(), Credentials: creds,
		RateLimit: 10000, // request pacing is measured in connectors/limitbench
	}}
}

func (e *env) connector(t testing.TB) *Connector {
	t.Helper()
	c, err := newConnector(e.settings, connectors.Deps{HTTPClient: e.srv.Client(), State: e.state})
	if err != nil {
		t.Fatalf("new connector: %v", err)
	}
	return c
}

func apply(t testing.TB, c *Connector, batch ...connectors.Change) []connectors.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := c.Apply(ctx, batch)
	if len(res) != len(batch) {
		t.Fatalf("%d results for %d changes", len(res), len(batch))
	}
	return res
}

func mustApply(t testing.TB, c *Connector, ch connectors.Change) connectors.Result {
	t.Helper()
	r := apply(t, c, ch)[0]
	if r.Err != nil {
		t.Fatalf("%s %s %s: %v", ch.Op, ch.Type, ch.ID, r.Err)
	}
	return r
}

func userFieldsOf(mail, first, last string, active bool) map[string]any {
	return map[string]any{fieldEmail: mail, fieldFirstName: first, fieldLastName: last, fieldActive: active}
}

func createUser(id, mail, first, last string) connectors.Change {
	return connectors.Change{Type: connectors.User, ID: id, Op: connectors.OpUpsert, Fields: userFieldsOf(mail, first, last, true)}
}

// mapFields is the default mapping written out by hand, so these tests do
// not depend on package mapping's evaluator.
func mapFields(typ string, res map[string]any) (map[string]any, error) {
	if typ == connectors.Group {
		return map[string]any{fieldName: res["displayName"]}, nil
	}
	mail, _ := res["userName"].(string)
	if emails, ok := res["emails"].([]any); ok {
		for _, e := range emails {
			if m, ok := e.(map[string]any); ok && m["primary"] == true {
				mail, _ = m["value"].(string)
			}
		}
	}
	name, _ := res["name"].(map[string]any)
	return map[string]any{
		fieldEmail:     strings.ToLower(mail),
		fieldFirstName: name["givenName"],
		fieldLastName:  name["familyName"],
		fieldActive:    res["active"],
	}, nil
}
