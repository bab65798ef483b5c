package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureaccess"
	"github.com/scimbridge/scimbridge/connectors/testconn"
)

// syncBuffer is a bytes.Buffer safe to read while simulate writes it.
type syncBuffer struct {
	ch chan []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) { b.ch <- bytes.Clone(p); return len(p), nil }

func TestSimulateServesAndReportsState(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{ch: make(chan []byte, 1)}
	done := make(chan error, 1)
	go func() {
		done <- runSimulate(ctx, simulateFlags{host: "127.0.0.1"}, []connectors.Registration{testconn.Registration}, out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var info SimulateInfo
	select {
	case line := <-out.ch:
		if err := json.Unmarshal(line, &info); err != nil {
			t.Fatalf("output %q: %v", line, err)
		}
	case err := <-done:
		t.Fatalf("simulate ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("simulate printed nothing")
	}
	sim, ok := info.Simulators["testconn"]
	if !ok || !strings.HasPrefix(sim.BaseURL, "http://127.0.0.1:") || sim.Credentials["token"] == "" {
		t.Fatalf("info = %+v", info)
	}

	// A connector built from the printed settings delivers to the simulator.
	c, err := testconn.Registration.New(connectors.Settings{Name: "t", BaseURL: sim.BaseURL, Credentials: sim.Credentials}, connectors.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	res := c.Apply(ctx, []connectors.Change{{Type: connectors.User, ID: "u1", Op: connectors.OpUpsert, Fields: map[string]any{"userName": "a@example.com", "active": true}}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	resp, err := http.Get(info.Control + "/_sim/testconn/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st SimState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Users) != 1 || st.Users[0].UserName != "a@example.com" || st.Calls != 1 {
		t.Errorf("state = %+v, want one user and one call", st)
	}

	resp, err = http.Post(info.Control+"/_sim/testconn/fail?fault=5xx&n=1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("fail: %d", resp.StatusCode)
	}
	res = c.Apply(ctx, []connectors.Change{{Type: connectors.User, ID: "u2", Op: connectors.OpUpsert, Fields: map[string]any{"userName": "b@example.com"}}})
	if connectors.ClassOf(res[0].Err) != connectors.Transient {
		t.Errorf("after fail=5xx: %v, want a transient error", res[0].Err)
	}
}

// --rate-scale speeds up the simulators that have rate windows and prints
// the connector options that match them.
func TestSimulateRateScale(t *testing.T) {
	for _, tt := range []struct {
		scale float64
		want  string
	}{{0, ""}, {0.05, "0.05"}} {
		ctx, cancel := context.WithCancel(context.Background())
		out := &syncBuffer{ch: make(chan []byte, 1)}
		done := make(chan error, 1)
		go func() {
			done <- runSimulate(ctx, simulateFlags{host: "127.0.0.1", rateScale: tt.scale}, []connectors.Registration{secureaccess.Registration}, out)
		}()
		var info SimulateInfo
		select {
		case line := <-out.ch:
			if err := json.Unmarshal(line, &info); err != nil {
				t.Fatalf("output %q: %v", line, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("simulate printed nothing")
		}
		cancel()
		<-done
		if got := info.Simulators["secureaccess"].Options["rate_scale"]; got != tt.want {
			t.Errorf("scale %v: options rate_scale = %q, want %q", tt.scale, got, tt.want)
		}
	}
}

// --advertise names another host in the URLs, and --credentials-dir
// writes what config.yaml's ${file:...} references read (compose).
func TestSimulateAdvertiseAndCredentialFiles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	out := &syncBuffer{ch: make(chan []byte, 1)}
	done := make(chan error, 1)
	go func() {
		done <- runSimulate(ctx, simulateFlags{host: "127.0.0.1", advertise: "simulate", credDir: dir}, []connectors.Registration{testconn.Registration}, out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var info SimulateInfo
	select {
	case line := <-out.ch:
		if err := json.Unmarshal(line, &info); err != nil {
			t.Fatal(err)
		}
	case err := <-done:
		t.Fatalf("simulate ended: %v", err)
	}
	sim := info.Simulators["testconn"]
	if !strings.HasPrefix(sim.BaseURL, "http://simulate:") || !strings.HasPrefix(info.Control, "http://simulate:") {
		t.Errorf("not advertised: %+v", info)
	}
	cfg, err := config.Parse([]byte("connectors:\n  t:\n    type: testconn\n    base_url: ${file:"+dir+"/testconn/base_url}\n    credentials:\n      token: ${file:"+dir+"/testconn/token}\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Connectors["t"]; got.BaseURL != sim.BaseURL || got.Credentials["token"] != sim.Credentials["token"] {
		t.Errorf("from the files: %q %q, want %q %q", got.BaseURL, got.Credentials["token"], sim.BaseURL, sim.Credentials["token"])
	}
}
