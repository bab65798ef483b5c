package scim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/store"
)

const testToken = "test-token"

// recordSink keeps every change in a queue of the same transaction, so
// the test sees exactly what committed (a batch retry cannot duplicate).
type recordSink struct{}

const changesQueue = "test-changes"

func (recordSink) Enqueue(tx *store.Tx, c store.Change) error {
	v, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var fields map[string]any
	if err := json.Unmarshal(v, &fields); err != nil {
		return err
	}
	return tx.Append(changesQueue, &store.Entry{Type: c.Type, ID: c.ID, Op: "change", Fields: fields})
}

type env struct {
	t   testing.TB
	srv *httptest.Server
	db  *store.DB
	s   *Server
	log *bytes.Buffer
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "scim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Whatever a test sent, the store must still agree with itself.
	t.Cleanup(func() { verifyStore(t, db) })
	var logBuf bytes.Buffer
	log := zerolog.New(&logBuf)
	if opts.ExternalURL == "" {
		opts.ExternalURL = "https://scim.example.com"
	}
	s, err := New(opts, db, recordSink{}, log)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(BearerAuth([]string{"old-token", testToken}))
	r.Mount("/scim/v2", s.Handler())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, db: db, s: s, log: &logBuf}
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request to path (relative to /scim/v2) with body (a string
// or anything JSON-encodable) and decodes the answer.
func (e *env) do(method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/scim/v2"+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			e.t.Fatalf("%s %s: response is not a JSON object: %s", method, path, raw)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/scim+json" {
			e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return out
}

// must asserts the status and returns the response.
func (e *env) must(status int, method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	r := e.do(method, path, body, hdr...)
	if r.status != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.raw)
	}
	return r
}

// stored reads a resource straight from the store (what was committed),
// members included for groups.
func (e *env) stored(typ, id string) map[string]any {
	e.t.Helper()
	var doc map[string]any
	err := e.db.View(func(tx *store.Tx) error {
		raw, _, err := tx.GetResource(typ, id)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return err
		}
		if typ == store.TypeGroup {
			ids, err := tx.MemberIDs(id)
			if err != nil {
				return err
			}
			doc["_memberIDs"] = ids
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("stored %s %s: %v", typ, id, err)
	}
	return doc
}

func (e *env) exists(typ, id string) bool {
	var ok bool
	e.db.View(func(tx *store.Tx) error { ok = tx.ResourceExists(typ, id); return nil })
	return ok
}

// changes returns the committed changes since the last call.
func (e *env) changes() []store.Change {
	e.t.Helper()
	var out []store.Change
	err := e.db.Update(func(tx *store.Tx) error {
		var entries []*store.Entry
		if err := tx.Entries(changesQueue, 0, 0, func(en *store.Entry) bool {
			entries = append(entries, en)
			return true
		}); err != nil {
			return err
		}
		for _, en := range entries {
			v, err := json.Marshal(en.Fields)
			if err != nil {
				return err
			}
			var ch store.Change
			if err := json.Unmarshal(v, &ch); err != nil {
				return err
			}
			out = append(out, ch)
			if err := tx.DeleteEntry(changesQueue, en); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// createUser creates a user with userName and returns its id.
func (e *env) createUser(userName string, extra ...map[string]any) string {
	e.t.Helper()
	body := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"active":   true,
	}
	for _, x := range extra {
		for k, v := range x {
			body[k] = v
		}
	}
	return e.must(http.StatusCreated, "POST", "/Users", body).body["id"].(string)
}

func (e *env) createGroup(name string, members ...string) string {
	e.t.Helper()
	ms := []any{}
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	body := map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name,
		"members":     ms,
	}
	return e.must(http.StatusCreated, "POST", "/Groups", body).body["id"].(string)
}

func patchBody(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// get follows a dotted path through decoded JSON (list elements by index).
func get(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, c := range p {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// verifyStore fails t if store.Verify finds the data file inconsistent.
func verifyStore(t testing.TB, db *store.DB) {
	t.Helper()
	_ = db.View(func(tx *store.Tx) error {
		problems, n := tx.Verify(20)
		for _, p := range problems {
			t.Errorf("store: %s", p)
		}
		if n > len(problems) {
			t.Errorf("store: %d more problems", n-len(problems))
		}
		return nil
	})
}
