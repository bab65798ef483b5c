package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	elimity "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/go-chi/chi/v5"

	"github.com/scimbridge/scimbridge/scimpath"
)

// Side-by-side read benchmarks for issue 16 (figures in docs/notes/scim.md
// § Speed): each runs the baseline (elimity over a map) and scimbridge in
// the same run, 4 clients, HTTP on loopback.
//
//	go test ./scim -run '^$' -bench 'ListPageVsBaseline|GroupGetVsBaseline' -benchtime 2000x -count 5

// baselineUsersGroups is the baseline with a Groups endpoint too (a
// separate map, so groups do not meet the users' userName index).
func baselineUsersGroups(b testing.TB) *httptest.Server {
	user, group, err := buildDefs(nil)
	if err != nil {
		b.Fatal(err)
	}
	uh := &memHandler{res: map[string]elimity.ResourceAttributes{}, byName: map[string]string{}, rs: user.path}
	gh := &memGroups{memHandler{res: map[string]elimity.ResourceAttributes{}, byName: map[string]string{}, rs: group.path}}
	var exts []elimity.SchemaExtension
	for _, e := range user.exts {
		exts = append(exts, elimity.SchemaExtension{Schema: e})
	}
	srv, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{MaxResults: 100, SupportPatch: true, SupportFiltering: true},
		ResourceTypes: []elimity.ResourceType{{
			Name: "User", Endpoint: "/Users", Schema: user.core,
			SchemaExtensions: exts,
			Handler:          uh,
		}, {
			Name: "Group", Endpoint: "/Groups", Schema: group.core, Handler: gh,
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

// memGroups is memHandler without the userName uniqueness.
type memGroups struct{ memHandler }

func (h *memGroups) Create(r *http.Request, a elimity.ResourceAttributes) (elimity.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := fmt.Sprintf("g%d", len(h.res)+1)
	h.res[id] = a
	return elimity.Resource{ID: id, Attributes: elimity.ResourceAttributes(scimpath.DeepCopy(a))}, nil
}

// Get serves a group without its members when the request excludes them,
// as Entra's read asks: the yardstick is an in-memory read of the same
// answer scimbridge gives (the library itself ignores excludedAttributes).
func (h *memGroups) Get(r *http.Request, id string) (elimity.Resource, error) {
	if !strings.EqualFold(r.URL.Query().Get("excludedAttributes"), "members") {
		return h.memHandler.Get(r, id)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	a, ok := h.res[id]
	if !ok {
		return elimity.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	out := make(elimity.ResourceAttributes, len(a))
	for k, v := range a {
		if k != "members" {
			out[k] = scimpath.DeepCopyValue(v)
		}
	}
	return elimity.Resource{ID: id, Attributes: out}, nil
}

// readKinds are the servers the read benchmarks compare: reads do not
// commit, so the no-fsync variant would measure nothing new.
var readKinds = []string{"baseline", "durable"}

func readServer(b *testing.B, kind string) *client {
	if *benchProcs {
		if kind == "baseline" {
			kind = "baseline-groups"
		}
		return processServer(b, kind)
	}
	if kind == "baseline" {
		return newClient(b, baselineUsersGroups(b))
	}
	ts, _ := durableServer(b, nil)
	return newClient(b, ts)
}

// BenchmarkListPageVsBaseline: GET /Users?startIndex=1&count=100 on a
// store of 1,000 users (created through POST, as userJSON), the first page
// and a page further on.
func BenchmarkListPageVsBaseline(b *testing.B) {
	const users = 1000
	for _, page := range []int{1, 501} {
		for _, kind := range readKinds {
			b.Run(fmt.Sprintf("%s/startIndex=%d", kind, page), func(b *testing.B) {
				c := readServer(b, kind)
				for i := range users {
					c.call("POST", "/Users", userJSON(fmt.Sprintf("list%d@example.com", i)), http.StatusCreated)
				}
				path := fmt.Sprintf("/Users?startIndex=%d&count=100", page)
				var check struct{ Resources []json.RawMessage }
				json.Unmarshal(c.call("GET", path, "", http.StatusOK), &check)
				if len(check.Resources) != 100 {
					b.Fatalf("page has %d resources", len(check.Resources))
				}
				parallel(b, 4, func(int) { c.call("GET", path, "", http.StatusOK) })
			})
		}
	}
}

// BenchmarkGroupGetVsBaseline: Entra's group read,
// GET /Groups/{id}?excludedAttributes=members, on a group of 2,000
// members. The baseline drops the members from its in-memory copy (see
// memGroups.Get); scimbridge never reads them.
func BenchmarkGroupGetVsBaseline(b *testing.B) {
	for _, kind := range readKinds {
		b.Run(kind, func(b *testing.B) {
			c := readServer(b, kind)
			path := "/Groups/" + bigGroup(c) + "?excludedAttributes=members"
			parallel(b, 4, func(int) { c.call("GET", path, "", http.StatusOK) })
		})
	}
}

// The machine these run on is shared: its load moves throughput by 2× within
// a minute, so two sub-benchmarks run one after the other can disagree by
// more than the difference being measured. The ratio benchmarks below
// interleave the servers instead: rounds of `per` operations (4 clients)
// against each in turn, timing each round, and report the ratio of the
// summed rates: load that drifts hits both sides alike.
//
//	go test ./scim -run '^$' -bench Ratio -benchtime 20x

// interleave runs b.N rounds; in each, per operations against every side
// (ops[name](i) does operation i), and reports each side's ops/s and each
// side's rate over the first side's as "<name>/<first>".
func interleave(b *testing.B, per int, names []string, ops map[string]func(i int)) {
	interleaveClients(b, per, 4, names, ops)
}

// interleaveClients is interleave with the given number of clients.
func interleaveClients(b *testing.B, per, clients int, names []string, ops map[string]func(i int)) {
	elapsed := make(map[string]time.Duration, len(names))
	b.ResetTimer()
	for round := range b.N {
		for _, name := range names {
			op := ops[name]
			start := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= per {
							return
						}
						op(round*per + i)
					}
				}()
			}
			wg.Wait()
			elapsed[name] += time.Since(start)
		}
	}
	b.StopTimer()
	base := float64(b.N*per) / elapsed[names[0]].Seconds()
	for _, name := range names {
		rate := float64(b.N*per) / elapsed[name].Seconds()
		b.ReportMetric(rate, name+"-ops/s")
		if name != names[0] {
			b.ReportMetric(rate/base, name+"/"+names[0])
		}
	}
}

// BenchmarkListPageRatio: a page of 100 users (first page, 1,000 users),
// scimbridge against the baseline, interleaved.
func BenchmarkListPageRatio(b *testing.B) {
	names := []string{"baseline", "durable"}
	ops := map[string]func(int){}
	for _, kind := range names {
		c := readServer(b, kind)
		for i := range 1000 {
			c.call("POST", "/Users", userJSON(fmt.Sprintf("list%d@example.com", i)), http.StatusCreated)
		}
		ops[kind] = func(int) { c.call("GET", "/Users?startIndex=1&count=100", "", http.StatusOK) }
	}
	interleave(b, 100, names, ops)
}

// bigGroup creates 2,000 users through c and a group holding them all,
// and returns the group's id: the group Entra's read is measured on.
func bigGroup(c *client) string {
	members := make([]string, 2000)
	for i := range members {
		var u struct{ ID string }
		json.Unmarshal(c.call("POST", "/Users", userJSON(fmt.Sprintf("m%d@example.com", i)), http.StatusCreated), &u)
		members[i] = `{"value":"` + u.ID + `"}`
	}
	var g struct{ ID string }
	json.Unmarshal(c.call("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"big","members":[`+strings.Join(members, ",")+`]}`, http.StatusCreated), &g)
	return g.ID
}

// BenchmarkGroupGetRatio: Entra's group read on a group of 2,000 members.
func BenchmarkGroupGetRatio(b *testing.B) {
	names := []string{"baseline", "durable"}
	ops := map[string]func(int){}
	for _, kind := range names {
		c := readServer(b, kind)
		path := "/Groups/" + bigGroup(c) + "?excludedAttributes=members"
		ops[kind] = func(int) { c.call("GET", path, "", http.StatusOK) }
	}
	interleave(b, 400, names, ops)
}

// BenchmarkPatchRatio: Entra's PATCH (as BenchmarkPatch) against the
// baseline, durable and with the no-fsync diagnostic, interleaved.
func BenchmarkPatchRatio(b *testing.B) {
	names := benchKinds
	ops := map[string]func(int){}
	for _, kind := range names {
		var c *client
		if *benchProcs {
			c = processServer(b, kind)
		} else {
			c, _ = kindServer(b, kind)
		}
		ops[kind] = entraPatches(b, c)
	}
	interleave(b, 200, names, ops)
}

// entraPatches creates 256 users through c and returns the operation of
// the PATCH benchmarks: Entra's replace of displayName and add of the
// work email (a filtered path), on user i%256.
func entraPatches(b *testing.B, c *client) func(int) {
	ids := make([]string, 256)
	for i := range ids {
		var r struct{ ID string }
		json.Unmarshal(c.call("POST", "/Users", userJSON(fmt.Sprintf("p%d@example.com", i)), http.StatusCreated), &r)
		ids[i] = r.ID
	}
	return func(i int) {
		c.call("PATCH", "/Users/"+ids[i%len(ids)], patchBody(
			fmt.Sprintf(`{"op":"Replace","path":"displayName","value":"New Name %d"}`, i),
			fmt.Sprintf(`{"op":"Add","path":"emails[type eq \"work\"].value","value":"new%d@example.com"}`, i)), http.StatusNoContent)
	}
}

// BenchmarkGroupCommitWait: the Entra PATCH of BenchmarkPatchRatio
// against two scimbridge servers interleaved, one whose group commit waits
// for the writers it saw outstanding (as shipped) and one that commits
// whatever is queued at once (as before): what the wait buys, durable and
// without fsync.
//
//	go test ./scim -run '^$' -bench GroupCommitWait -benchtime 20x -count 3
func BenchmarkGroupCommitWait(b *testing.B) {
	names := []string{"baseline", "nowait", "wait", "nowait-nofsync", "wait-nofsync"}
	workloads := []struct {
		name    string
		clients int
		op      func(*testing.B, *client) func(int)
	}{
		{"patch/clients=4", 4, entraPatches},
		{"patch/clients=32", 32, entraPatches},
		{"import/clients=4", 4, oktaImports},
	}
	for _, w := range workloads {
		b.Run(w.name, func(b *testing.B) {
			ops := map[string]func(int){}
			for _, name := range names {
				kind := "baseline"
				if name != "baseline" {
					kind = "durable"
				}
				c, s := kindServer(b, kind)
				if s != nil {
					s.commit.noWait = strings.HasPrefix(name, "nowait")
					s.db.SetNoSync(strings.HasSuffix(name, "-nofsync"))
				}
				ops[name] = w.op(b, c)
			}
			interleaveClients(b, 200, w.clients, names, ops)
		})
	}
}

// oktaImports is Okta's import: look the user up by userName, then create
// it (user i of a run).
func oktaImports(b *testing.B, c *client) func(int) {
	run := runID.Add(1)
	return func(i int) {
		name := fmt.Sprintf("u%d-%d@example.com", run, i)
		c.call("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`)+"&startIndex=1&count=100", "", http.StatusOK)
		c.call("POST", "/Users", userJSON(name), http.StatusCreated)
	}
}

// BenchmarkListPageDepth: a page of 100 users at 1,000 and 100,000 users:
// the first page; pages fetched in sequence (page k+1 right after page k,
// as a client pages through: the remembered cursor seeks); and a jump
// straight to the last page (walks startIndex-1 keys of the order bucket).
//
//	go test ./scim -run '^$' -bench ListPageDepth -benchtime 400x -count 3
func BenchmarkListPageDepth(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		ts, _ := durableServer(b, loadedStore(b, n, 0, 0))
		c := newClient(b, ts)
		pages := n / 100
		for _, mode := range []string{"first", "next", "jump"} {
			b.Run(fmt.Sprintf("users=%d/%s", n, mode), func(b *testing.B) {
				if mode != "next" {
					start := 1
					if mode == "jump" {
						start = n - 99
					}
					parallel(b, 4, func(int) {
						c.call("GET", fmt.Sprintf("/Users?startIndex=%d&count=100", start), "", http.StatusOK)
					})
					return
				}
				// Four clients, each paging through its own quarter of the
				// store in sequence (its first page is a jump).
				var done atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for k := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for p := k * pages / 4; done.Add(1) <= int64(b.N); p = (p + 1) % pages {
							c.call("GET", fmt.Sprintf("/Users?startIndex=%d&count=100", 1+p*100), "", http.StatusOK)
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
		}
	}
}

// BenchmarkGroupGetInProcess is BenchmarkGroupGetRatio's request served
// in-process (ServeHTTP on each side's handler by 4 goroutines, no
// network), so a profile shows the server's own work instead of loopback
// syscalls, and allocs/op count exactly what the server allocates per
// request (the response writer is reused, as net/http's buffers are).
//
//	go test ./scim -run '^$' -bench GroupGetInProcess -benchmem -cpuprofile cpu.out -memprofile mem.out
func BenchmarkGroupGetInProcess(b *testing.B) {
	for _, kind := range readKinds {
		b.Run(kind, func(b *testing.B) {
			var ts *httptest.Server
			if kind == "baseline" {
				ts = baselineUsersGroups(b)
			} else {
				ts, _ = durableServer(b, nil)
			}
			c := newClient(b, ts)
			req := httptest.NewRequest("GET", "/scim/v2/Groups/"+bigGroup(c)+"?excludedAttributes=members", nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			h := ts.Config.Handler
			b.ReportAllocs()
			b.SetParallelism(2) // 4 goroutines on the 2 cores, as the ratio benchmarks' 4 clients
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{header: http.Header{}}
				for pb.Next() {
					clear(w.header)
					w.status, w.n = 0, 0
					h.ServeHTTP(w, req)
					if w.status != http.StatusOK || w.n < 100 {
						b.Errorf("status %d, %d bytes", w.status, w.n)
						return
					}
				}
			})
		})
	}
}

// discardWriter is a reusable http.ResponseWriter that keeps only the
// status and the body's length.
type discardWriter struct {
	header    http.Header
	status, n int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
