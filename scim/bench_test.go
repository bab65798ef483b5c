package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	elimity "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/internal/httpmw"
	"github.com/scimbridge/scimbridge/scimpath"
	"github.com/scimbridge/scimbridge/store"
)

// Benchmarks. The yardstick is the pinned elimity library serving a plain
// in-memory map with no durability (memHandler below); scimbridge is
// measured durable, on a bbolt file, through the same HTTP stack.
//
//	go test ./scim -run '^$' -bench . -benchtime 2000x
//
// Figures and ratios are in docs/notes/scim.md.

var benchDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// memHandler is the baseline: elimity's server over a map, with a
// userName index so that `userName eq` is not a scan either.
type memHandler struct {
	mu     sync.RWMutex
	res    map[string]elimity.ResourceAttributes
	byName map[string]string
	rs     scimpath.ResourceSchema
}

var userNameEq = regexp.MustCompile(`(?i)^userName eq "(.*)"$`)

func (h *memHandler) Create(r *http.Request, a elimity.ResourceAttributes) (elimity.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := strings.ToLower(fmt.Sprint(a["userName"]))
	if _, dup := h.byName[name]; dup {
		return elimity.Resource{}, scimerrors.ScimErrorUniqueness
	}
	id := uuid.NewString()
	h.res[id] = a
	h.byName[name] = id
	return elimity.Resource{ID: id, Attributes: copyAttrs(a)}, nil
}

func copyAttrs(a elimity.ResourceAttributes) elimity.ResourceAttributes {
	return elimity.ResourceAttributes(scimpath.DeepCopy(a))
}

func (h *memHandler) Get(r *http.Request, id string) (elimity.Resource, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	a, ok := h.res[id]
	if !ok {
		return elimity.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return elimity.Resource{ID: id, Attributes: copyAttrs(a)}, nil
}

func (h *memHandler) GetAll(r *http.Request, p elimity.ListRequestParams) (elimity.Page, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	page := elimity.Page{Resources: []elimity.Resource{}}
	if m := userNameEq.FindStringSubmatch(r.URL.Query().Get("filter")); m != nil {
		if id, ok := h.byName[strings.ToLower(m[1])]; ok {
			page.TotalResults = 1
			page.Resources = append(page.Resources, elimity.Resource{ID: id, Attributes: copyAttrs(h.res[id])})
		}
		return page, nil
	}
	for id, a := range h.res {
		page.TotalResults++
		if len(page.Resources) < p.Count {
			page.Resources = append(page.Resources, elimity.Resource{ID: id, Attributes: copyAttrs(a)})
		}
	}
	return page, nil
}

func (h *memHandler) Replace(r *http.Request, id string, a elimity.ResourceAttributes) (elimity.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.res[id] = a
	return elimity.Resource{ID: id, Attributes: copyAttrs(a)}, nil
}

func (h *memHandler) Delete(r *http.Request, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.res, id)
	return nil
}

// Patch applies the library's parsed operations with the same applier
// scimbridge uses, so the comparison is about storage and protocol.
func (h *memHandler) Patch(r *http.Request, id string, ops []elimity.PatchOperation) (elimity.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.res[id]
	if !ok {
		return elimity.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	next := scimpath.DeepCopy(a)
	var sops []scimpath.Operation
	for _, op := range ops {
		p := ""
		if op.Path != nil {
			p = op.Path.String()
		}
		sops = append(sops, scimpath.Operation{Op: op.Op, Path: p, Value: op.Value})
	}
	if err := scimpath.ApplyPatch(next, sops, &h.rs); err != nil {
		return elimity.Resource{}, scimerrors.ScimErrorInvalidValue
	}
	h.res[id] = next
	return elimity.Resource{}, nil
}

func baselineServer(b testing.TB) *httptest.Server {
	user, _, err := buildDefs(nil)
	if err != nil {
		b.Fatal(err)
	}
	h := &memHandler{res: map[string]elimity.ResourceAttributes{}, byName: map[string]string{}, rs: user.path}
	srv, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{MaxResults: 100, SupportPatch: true, SupportFiltering: true},
		ResourceTypes: []elimity.ResourceType{{
			Name: "User", Endpoint: "/Users", Schema: user.core,
			SchemaExtensions: []elimity.SchemaExtension{{Schema: user.exts[0]}},
			Handler:          h,
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(BearerAuth([]string{testToken}))
	r.Mount("/scim", http.StripPrefix("/scim", srv))
	ts := httptest.NewServer(r)
	b.Cleanup(ts.Close)
	return ts
}

// durableServer is scimbridge on a fresh bbolt file (or db, if given),
// behind the production HTTP chain.
func durableServer(b testing.TB, db *store.DB) (*httptest.Server, *Server) {
	h, s := durableHandler(b, db)
	ts := httptest.NewServer(h)
	b.Cleanup(ts.Close)
	return ts, s
}

// durableHandler is durableServer's router, for benchmarks that call it
// in-process (no network).
func durableHandler(b testing.TB, db *store.DB) (http.Handler, *Server) {
	if db == nil {
		var err error
		if db, err = store.Open(filepath.Join(b.TempDir(), "bench.db")); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
	}
	// What cmd/scimbridge serves: its middleware chain with a real
	// (discarded) JSON access log and Prometheus metrics, the client
	// registry's authentication and the activity log of writes.
	log := zerolog.New(io.Discard).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	s, err := New(Options{ExternalURL: "https://scim.example.com"}, db, store.NopSink{}, log)
	if err != nil {
		b.Fatal(err)
	}
	// The activity log with its background indexing and pruning running,
	// as the server runs it.
	al := activitylog.New(db, activitylog.Options{})
	s.SetActivity(al, auth.ClientFrom)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); al.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	reg, err := auth.NewRegistry(func() (auth.Config, error) { return auth.Config{Tokens: []string{testToken}}, nil }, auth.Options{Log: log})
	if err != nil {
		b.Fatal(err)
	}
	r := chi.NewRouter()
	r.With(reg.Middleware).Mount("/scim/v2", s.Handler())
	return httpmw.Handler(log, prometheus.NewRegistry(), r), s
}

// benchKinds are the servers the throughput benchmarks compare:
//
//	baseline        elimity over an in-memory map (the yardstick)
//	durable         scimbridge on bbolt, every write fsynced: what ships
//	durable-nofsync the same server with bbolt's NoSync set. Diagnostic
//	                only (scimbridge never runs so): the gap between it and
//	                durable is exactly what the disk's flushes cost, the
//	                gap between it and baseline is what our code costs.
var benchKinds = []string{"baseline", "durable", "durable-nofsync"}

// kindServer starts the server of kind and returns a client for it, and
// the scimbridge server (nil for the baseline).
func kindServer(b *testing.B, kind string) (*client, *Server) {
	if kind == "baseline" {
		return newClient(b, baselineServer(b)), nil
	}
	ts, s := durableServer(b, nil)
	s.db.SetNoSync(kind == "durable-nofsync")
	return newClient(b, ts), s
}

// commitMark is where a benchmark's measured part began, for reportCommits.
type commitMark struct {
	commits, writes int64
	writeTime       time.Duration
}

func markCommits(s *Server) commitMark {
	if s == nil {
		return commitMark{}
	}
	return commitMark{s.commit.commits.Load(), s.commit.writes.Load(), s.db.WriteTime()}
}

// reportCommits adds, for the part measured since m, how many writes
// shared each bbolt commit and how long each commit spent writing and
// flushing pages.
func reportCommits(b *testing.B, s *Server, m commitMark) {
	if s == nil {
		return
	}
	commits := s.commit.commits.Load() - m.commits
	if commits <= 0 {
		return
	}
	writeTime := s.db.WriteTime() - m.writeTime
	b.ReportMetric(float64(s.commit.writes.Load()-m.writes)/float64(commits), "writes/commit")
	b.ReportMetric(float64(writeTime.Microseconds())/float64(commits), "flush-µs/commit")
}

type client struct {
	b    *testing.B
	base string
	hc   *http.Client
}

func newClient(b *testing.B, ts *httptest.Server) *client { return urlClient(b, ts.URL) }

// urlClient is a client of the server at base (http://host:port).
func urlClient(b *testing.B, base string) *client {
	tr := &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128}
	b.Cleanup(tr.CloseIdleConnections)
	return &client{b: b, base: base + "/scim/v2", hc: &http.Client{Transport: tr}}
}

func (c *client) call(method, path, body string, want int) []byte {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := c.hc.Do(req)
	if err != nil {
		c.b.Error(err)
		return nil
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.b.Errorf("%s %s: %d, want %d: %.200s", method, path, res.StatusCode, want, out)
	}
	return out
}

// parallel runs b.N operations spread over n client goroutines and
// reports operations per second.
func parallel(b *testing.B, n int, op func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				op(i)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func userJSON(name string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name +
		`","name":{"givenName":"Jane","familyName":"Doe"},"emails":[{"primary":true,"value":"` + name +
		`","type":"work"}],"displayName":"Jane Doe","locale":"en-US","externalId":"` + name + `","groups":[],"active":true}`
}

var runID atomic.Int64

// BenchmarkImport is Okta's import: look the user up by userName, then create it.
func BenchmarkImport(b *testing.B) {
	for _, clients := range []int{4, 32} {
		for _, kind := range benchKinds {
			b.Run(fmt.Sprintf("%s/clients=%d", kind, clients), func(b *testing.B) {
				c, s := kindServer(b, kind)
				run := runID.Add(1)
				mark := markCommits(s)
				parallel(b, clients, func(i int) {
					name := fmt.Sprintf("u%d-%d@example.com", run, i)
					c.call("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`)+"&startIndex=1&count=100", "", http.StatusOK)
					c.call("POST", "/Users", userJSON(name), http.StatusCreated)
				})
				reportCommits(b, s, mark)
			})
		}
	}
}

// BenchmarkPatch is Entra's PATCH: replace displayName and add the work email.
func BenchmarkPatch(b *testing.B) {
	// Every PATCH changes the user (the value carries the iteration), so
	// each one is a real write: a repeated identical PATCH would be a no-op.
	body := func(i int) string {
		return patchBody(fmt.Sprintf(`{"op":"Replace","path":"displayName","value":"New Name %d"}`, i),
			fmt.Sprintf(`{"op":"Add","path":"emails[type eq \"work\"].value","value":"new%d@example.com"}`, i))
	}
	for _, clients := range []int{4, 32} {
		for _, kind := range benchKinds {
			b.Run(fmt.Sprintf("%s/clients=%d", kind, clients), func(b *testing.B) {
				c, s := kindServer(b, kind)
				ids := make([]string, 256)
				for i := range ids {
					var r struct{ ID string }
					json.Unmarshal(c.call("POST", "/Users", userJSON(fmt.Sprintf("p%d@example.com", i)), http.StatusCreated), &r)
					ids[i] = r.ID
				}
				mark := markCommits(s)
				parallel(b, clients, func(i int) {
					c.call("PATCH", "/Users/"+ids[i%len(ids)], body(i), http.StatusNoContent)
				})
				reportCommits(b, s, mark)
			})
		}
	}
}

// bigStores caches stores bulk-loaded with n users (and groups), shared
// by the size benchmarks of one run.
var bigStores = struct {
	sync.Mutex
	m map[int]*store.DB
}{m: map[int]*store.DB{}}

// loadedStore returns a store holding n users named user<i>@example.com
// and groups groups with membersPer members each, written straight
// through the store in large transactions (not through HTTP).
func loadedStore(b *testing.B, n, groups, membersPer int) *store.DB {
	bigStores.Lock()
	defer bigStores.Unlock()
	key := n*1000 + groups
	if db, ok := bigStores.m[key]; ok {
		return db
	}
	if benchDir == "" {
		var err error
		if benchDir, err = os.MkdirTemp("", "scim-bench-"); err != nil {
			b.Fatal(err)
		}
	}
	db, err := store.Open(filepath.Join(benchDir, strconv.Itoa(key)+".db"))
	if err != nil {
		b.Fatal(err)
	}
	db.SetNoSync(true) // bulk load only; durability is not what is measured here
	s, err := New(Options{}, db, store.NopSink{}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	uids := make([]string, 0, n)
	const chunk = 10000
	for start := 0; start < n; start += chunk {
		err := db.Update(func(tx *store.Tx) error {
			for i := start; i < min(start+chunk, n); i++ {
				var attrs map[string]any
				json.Unmarshal([]byte(userJSON(fmt.Sprintf("user%d@example.com", i))), &attrs)
				delete(attrs, "groups")
				id := uuid.NewString()
				_, raw, err := roundTrip(s.newDoc(s.user, id, attrs, nil))
				if err != nil {
					return err
				}
				if _, err := tx.CreateResource(store.TypeUser, id, raw); err != nil {
					return err
				}
				uids = append(uids, id)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	err = db.Update(func(tx *store.Tx) error {
		for g := range groups {
			id := uuid.NewString()
			_, raw, err := roundTrip(s.newDoc(s.group, id, map[string]any{"displayName": fmt.Sprintf("group%d", g)}, nil))
			if err != nil {
				return err
			}
			if _, err := tx.CreateResource(store.TypeGroup, id, raw); err != nil {
				return err
			}
			for m := range membersPer {
				if _, err := tx.AddMember(id, uids[(g*membersPer+m)%len(uids)], []byte("{}")); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	db.SetNoSync(false)
	bigStores.m[key] = db
	return db
}

// BenchmarkLookupUserName: `userName eq` must cost the same at 100,000
// users as at 1,000 (index, not scan).
func BenchmarkLookupUserName(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			ts, _ := durableServer(b, loadedStore(b, n, 0, 0))
			c := newClient(b, ts)
			parallel(b, 4, func(i int) {
				name := fmt.Sprintf("user%d@example.com", (i*7919)%n)
				out := c.call("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), "", http.StatusOK)
				if !bytes.Contains(out, []byte(`"totalResults":1`)) {
					b.Errorf("lookup %s: %.200s", name, out)
				}
			})
		})
	}
}

// BenchmarkLookupWorkEmail: Entra's email matching,
// `emails[type eq "work"].value eq "x"`, costs the same at 100,000 users
// as at 1,000 (the email index; it used to scan every user).
//
//	go test ./scim -run '^$' -bench LookupWorkEmail -benchtime 2000x -count 3
func BenchmarkLookupWorkEmail(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			ts, _ := durableServer(b, loadedStore(b, n, 0, 0))
			c := newClient(b, ts)
			parallel(b, 4, func(i int) {
				mail := fmt.Sprintf("user%d@example.com", (i*7919)%n)
				out := c.call("GET", "/Users?filter="+url.QueryEscape(`emails[type eq "work"].value eq "`+mail+`"`), "", http.StatusOK)
				if !bytes.Contains(out, []byte(`"totalResults":1`)) {
					b.Errorf("lookup %s: %.200s", mail, out)
				}
			})
		})
	}
}

// BenchmarkListPage: a page of 100 users costs the same whatever the store's size.
func BenchmarkListPage(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			ts, _ := durableServer(b, loadedStore(b, n, 0, 0))
			c := newClient(b, ts)
			parallel(b, 4, func(i int) {
				c.call("GET", "/Users?startIndex=1&count=100", "", http.StatusOK)
			})
		})
	}
}

// BenchmarkGroupMembershipCheck is Entra's membership check,
// `id eq "g" and members eq "u"`: answered from the id index whatever the
// number of groups (it used to scan every group and its members).
//
//	go test ./scim -run '^$' -bench GroupMembershipCheck -benchtime 2000x -count 3
func BenchmarkGroupMembershipCheck(b *testing.B) {
	for _, groups := range []int{10, 1000} {
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			ts, _ := durableServer(b, loadedStore(b, 1000, groups, 100))
			c := newClient(b, ts)
			var page struct {
				Resources []struct{ ID string }
			}
			json.Unmarshal(c.call("GET", "/Groups?attributes=id&count=10", "", http.StatusOK), &page)
			if len(page.Resources) == 0 {
				b.Fatal("no groups")
			}
			parallel(b, 4, func(i int) {
				gid := page.Resources[i%len(page.Resources)].ID
				c.call("GET", "/Groups?attributes=id&filter="+url.QueryEscape(`id eq "`+gid+`" and members eq "nobody"`), "", http.StatusOK)
			})
		})
	}
}

// BenchmarkAddMembers: adding (or removing) 100 members to a group of
// 10,000 costs about the same as to a group of 100 (delta, no rewrite).
func BenchmarkAddMembers(b *testing.B) {
	for _, size := range []int{100, 10000} {
		b.Run(fmt.Sprintf("members=%d", size), func(b *testing.B) {
			ts, _ := durableServer(b, nil)
			c := newClient(b, ts)
			var g struct{ ID string }
			members := make([]string, size)
			for i := range members {
				members[i] = fmt.Sprintf(`{"value":"m%d"}`, i)
			}
			json.Unmarshal(c.call("POST", "/Groups", `{"displayName":"big","members":[`+strings.Join(members, ",")+`]}`, http.StatusCreated), &g)
			// Even operations add 100 new members, odd ones remove the same
			// 100 (Entra's value-list remove), so the group stays at its size.
			var bodies []string
			for i := range 32 {
				add := make([]string, 100)
				for j := range add {
					add[j] = fmt.Sprintf(`{"value":"n%d-%d"}`, i, j)
				}
				list := `[` + strings.Join(add, ",") + `]`
				bodies = append(bodies,
					patchBody(`{"op":"add","path":"members","value":`+list+`}`),
					patchBody(`{"op":"remove","path":"members","value":`+list+`}`))
			}
			parallel(b, 1, func(i int) {
				c.call("PATCH", "/Groups/"+g.ID, bodies[i%len(bodies)], http.StatusNoContent)
			})
		})
	}
}

// BenchmarkMemory reports heap and resident memory with 100,000 users and
// 1,000 groups of 100 members, after serving reads across the store.
func BenchmarkMemory(b *testing.B) {
	db := loadedStore(b, 100000, 1000, 100)
	ts, _ := durableServer(b, db)
	c := newClient(b, ts)
	parallel(b, 4, func(i int) {
		c.call("GET", fmt.Sprintf("/Users?startIndex=%d&count=100", 1+(i*100)%100000), "", http.StatusOK)
		c.call("GET", "/Groups?startIndex=1&count=10", "", http.StatusOK)
	})
	// The bulk load above ran in this process; hand what it freed back to
	// the OS so that RSS shows what serving holds, as a server started on
	// this file would.
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	if rss := residentMB(); rss > 0 {
		b.ReportMetric(rss, "rss-MB")
	}
}

// residentMB reads VmRSS from /proc (Linux); 0 elsewhere.
func residentMB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
