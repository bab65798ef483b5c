package secureauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureauth/secureauthsim"
)

// benchFixture is a connector against a simulator answering after latency.
func benchFixture(b *testing.B, latency time.Duration) (*Connector, *secureauthsim.Server) {
	sim := secureauthsim.New(secureauthsim.Options{Latency: latency})
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	c, err := New(connectors.Settings{Name: "bench", BaseURL: srv.URL + sim.BasePath(), Credentials: sim.Credentials(), RateLimit: 1e6 /* the connector's own speed */},
		connectors.Deps{HTTPClient: srv.Client(), Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	return c.(*Connector), sim
}

// BenchmarkApplyUsers creates users in batches of Limits().BatchSize
// against a 20 ms target: users/s is what one dispatcher worker reaches.
func BenchmarkApplyUsers(b *testing.B) {
	c, _ := benchFixture(b, 20*time.Millisecond)
	size := c.Limits().BatchSize
	n := 0
	b.ResetTimer()
	for b.Loop() {
		batch := make([]connectors.Change, size)
		for i := range batch {
			n++
			batch[i] = createUser(fmt.Sprintf("user%d", n), "firstName", "Bench", "email1", fmt.Sprintf("user%d@example.com", n))
		}
		for _, r := range c.Apply(context.Background(), batch) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "users/s")
}

// BenchmarkApplyMembers adds 500 members to a group in one change against a
// 20 ms target: the list form carries association_batch (100) per call.
func BenchmarkApplyMembers(b *testing.B) {
	c, sim := benchFixture(b, 0)
	const members = 500
	ms := make([]connectors.Member, members)
	var setup []connectors.Change
	for i := range ms {
		id := fmt.Sprintf("m%d", i)
		ms[i] = connectors.Member{ID: "scim-" + id, TargetID: id}
		setup = append(setup, createUser(id))
	}
	for _, r := range c.Apply(context.Background(), setup) {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	c, _ = benchOn(b, sim, 20*time.Millisecond)
	g := 0
	b.ResetTimer()
	for b.Loop() {
		g++
		r := c.Apply(context.Background(), []connectors.Change{{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert,
			Fields: map[string]any{"name": fmt.Sprintf("G%d", g)}, MembersAdded: ms}})[0]
		if r.Err != nil || len(r.MemberErrors) > 0 {
			b.Fatal(r.Err, r.MemberErrors)
		}
	}
	b.ReportMetric(float64(g*members)/b.Elapsed().Seconds(), "members/s")
}

// benchOn puts latency in front of an existing simulator.
func benchOn(b *testing.B, sim *secureauthsim.Server, latency time.Duration) (*Connector, *httptest.Server) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		sim.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	c, err := New(connectors.Settings{Name: "bench", BaseURL: srv.URL + sim.BasePath(), Credentials: sim.Credentials(), RateLimit: 1e6 /* the connector's own speed */},
		connectors.Deps{HTTPClient: srv.Client(), Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	return c.(*Connector), srv
}

// BenchmarkSignerOverhead: signing and verifying one loopback round trip
// against a plain one (no latency).
func BenchmarkSignerOverhead(b *testing.B) {
	srv := httptest.NewServer(&echo{})
	defer srv.Close()
	for _, signed := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "signed"}[signed], func(b *testing.B) {
			rt := srv.Client().Transport
			if signed {
				s, _ := NewSigner(vectorAppID, vectorAppKey, rt)
				rt = s
			}
			c := &http.Client{Transport: rt}
			for b.Loop() {
				req, _ := http.NewRequest("POST", srv.URL+"/secureauth2/api/v2/users/jdoe", nil)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body) // as the signer does: keeps the connection
				resp.Body.Close()
			}
		})
	}
}
