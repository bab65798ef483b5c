package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPatchHandler is the CPU one Entra PATCH (as BenchmarkPatch)
// costs the server without the network: the production router called
// in-process, one request at a time, bbolt without fsync (so the commit's
// CPU is counted but not the disk's wait). ns/op and allocs/op are the
// server's alone (plus building the request); no client, no sockets.
//
//	go test ./scim -run '^$' -bench PatchHandler -benchtime 20000x -benchmem -count 6
func BenchmarkPatchHandler(b *testing.B) {
	h, s := durableHandler(b, nil)
	s.db.SetNoSync(true)
	ids := make([]string, 256)
	for i := range ids {
		rec := serveInProcess(h, "POST", "/scim/v2/Users", userJSON(fmt.Sprintf("p%d@example.com", i)))
		if rec.Code != http.StatusCreated {
			b.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		var r struct{ ID string }
		json.Unmarshal(rec.Body.Bytes(), &r)
		ids[i] = r.ID
	}
	// Every PATCH changes its user (as in BenchmarkPatch); the bodies are
	// built before the timer.
	const distinct = 4096
	bodies := make([][]byte, distinct)
	for i := range bodies {
		bodies[i] = []byte(patchBody(
			fmt.Sprintf(`{"op":"Replace","path":"displayName","value":"New Name %d"}`, i),
			fmt.Sprintf(`{"op":"Add","path":"emails[type eq \"work\"].value","value":"new%d@example.com"}`, i)))
	}
	paths := make([]string, len(ids))
	for i, id := range ids {
		paths[i] = "/scim/v2/Users/" + id
	}
	w := &discardWriter{header: http.Header{}} // speed_bench_test.go's
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// i/len(ids) varies the value once per pass over the users, so
		// consecutive passes never repeat a user's last PATCH.
		req := httptest.NewRequest("PATCH", paths[i%len(ids)], bytes.NewReader(bodies[(i/len(ids)+i)%distinct]))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/scim+json")
		clear(w.header)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, req)
		if w.status != http.StatusNoContent {
			b.Fatalf("PATCH: %d", w.status)
		}
	}
}

func serveInProcess(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
