package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
)

// /readyz is 503 until the app is ready and again once shutdown starts.
func TestReadyz(t *testing.T) {
	a := &app{}
	get := func() int {
		rec := httptest.NewRecorder()
		a.readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	if got := get(); got != http.StatusServiceUnavailable {
		t.Errorf("before start: %d", got)
	}
	a.ready.Store(true)
	if got := get(); got != http.StatusOK {
		t.Errorf("running: %d", got)
	}
	a.ready.Store(false)
	if got := get(); got != http.StatusServiceUnavailable {
		t.Errorf("shutting down: %d", got)
	}
}

func TestServerFromConfig(t *testing.T) {
	for listen, want := range map[string]string{
		"0.0.0.0:8080":     "http://127.0.0.1:8080",
		"[::]:8080":        "http://127.0.0.1:8080",
		":8080":            "http://127.0.0.1:8080",
		"10.0.0.5:9000":    "http://10.0.0.5:9000",
		"127.0.0.1:8080":   "http://127.0.0.1:8080",
		"scim.example:443": "http://scim.example:443",
	} {
		if got := serverFromConfig(&config.Config{Listen: listen}); got != want {
			t.Errorf("%s: %s, want %s", listen, got, want)
		}
	}
	if got := serverFromConfig(&config.Config{Listen: "0.0.0.0:8443", TLS: config.TLS{CertFile: "c", KeyFile: "k"}}); got != "https://127.0.0.1:8443" {
		t.Errorf("tls: %s", got)
	}
}

// A running TLS server: healthcheck passes, SIGHUP neither kills the
// process nor stops the server, and it re-reads the certificate (the
// expiry metric moves to the new one's).
func TestServeHealthcheckAndSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Tokens = []string{"scim"}
	cfg.AdminToken = "adm"
	cfg.Log.Level = "error"
	cfg.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	expiry := func(base string) string {
		resp, err := client.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, "scimbridge_tls_certificate_expiry_timestamp_seconds ") {
				return l
			}
		}
		t.Fatal("no certificate expiry metric")
		return ""
	}
	err := serve(ctx, &cfg, io.Discard, func(ctx context.Context, r running) error {
		defer cancel()
		if err := healthcheck(ctx, r.base, 5*time.Second, io.Discard); err != nil {
			t.Errorf("healthcheck: %v", err)
		}
		// A renewed certificate (a new key) replaces the files.
		selfSigned(t, dir)
		data, _ := os.ReadFile(certFile)
		block, _ := pem.Decode(data)
		want, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		presented := func() *x509.Certificate {
			conn, err := tls.Dial("tcp", strings.TrimPrefix(r.base, "https://"), &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			return conn.ConnectionState().PeerCertificates[0]
		}
		for deadline := time.Now().Add(10 * time.Second); !presented().Equal(want); {
			if time.Now().After(deadline) {
				t.Fatal("after SIGHUP the server still presents the old certificate")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got, wantLine := expiry(r.base), fmt.Sprintf("scimbridge_tls_certificate_expiry_timestamp_seconds %g", float64(want.NotAfter.Unix())); got != wantLine {
			t.Errorf("metric %q, want %q", got, wantLine)
		}
		return healthcheck(ctx, r.base, 5*time.Second, io.Discard)
	})
	if err != nil {
		t.Fatal(err)
	}
}
