package hrimport

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/store"
)

const testToken = "import-test-token"

// testBridge is a real SCIM endpoint over a bbolt store, in-process, that
// counts the writes it receives (a dry run must cause none).
type testBridge struct {
	t      testing.TB
	srv    *httptest.Server
	db     *store.DB
	writes atomic.Int64 // non-GET requests the server received
	mu     sync.Mutex
	gets   []string // GET request URIs, in order
}

// listGets returns the GETs of /Users lists received since n.
func (b *testBridge) userLists(from int) (paged, filtered int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.gets[from:] {
		switch {
		case !strings.Contains(u, "/Users?"):
		case strings.Contains(u, "filter="):
			filtered++
		case strings.Contains(u, "startIndex="):
			paged++
		}
	}
	return paged, filtered
}

func (b *testBridge) getCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.gets)
}

func newTestBridge(t testing.TB, opts scim.Options) *testBridge {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "scim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := scim.New(opts, db, store.NopSink{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	b := &testBridge{t: t, db: db}
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				b.writes.Add(1)
			} else {
				b.mu.Lock()
				b.gets = append(b.gets, r.URL.RequestURI())
				b.mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	r.Use(scim.BearerAuth([]string{testToken}))
	r.Mount("/scim/v2", s.Handler())
	b.srv = httptest.NewServer(r)
	t.Cleanup(b.srv.Close)
	t.Cleanup(func() {
		_ = db.View(func(tx *store.Tx) error {
			if problems, n := tx.Verify(20); n > 0 {
				t.Errorf("store.Verify: %d problems: %q", n, problems)
			}
			return nil
		})
	})
	return b
}

func (b *testBridge) client() *Client { return NewClient(b.srv.URL, testToken, b.srv.Client()) }

// do sends a SCIM request and decodes the answer.
func (b *testBridge) do(method, path string, body any) map[string]any {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, b.srv.URL+"/scim/v2"+path, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := b.srv.Client().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		b.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// user finds a user by userName (nil if none).
func (b *testBridge) user(userName string) map[string]any {
	b.t.Helper()
	r := b.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`), nil)
	list, _ := r["Resources"].([]any)
	if len(list) == 0 {
		return nil
	}
	return list[0].(map[string]any)
}

func (b *testBridge) createUser(doc map[string]any) string {
	b.t.Helper()
	if doc["schemas"] == nil {
		doc["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:User"}
	}
	return b.do("POST", "/Users", doc)["id"].(string)
}

// run imports data (the file's bytes) with opts.
func (b *testBridge) run(data []byte, opts Options) (*Summary, string, error) {
	b.t.Helper()
	var out bytes.Buffer
	opts.Out = &out
	sum, err := Run(context.Background(), b.client(), bytesOpener(data), opts)
	return sum, out.String(), err
}

func bytesOpener(data []byte) Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// str follows a dotted path of plain keys (no URNs) through decoded JSON.
func str(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}
