package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
)

// selfSigned writes a loopback certificate and key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// The server refuses TLS 1.0 and 1.1 even when GODEBUG=tls10server=1
// would let net/http's default accept them.
func TestHTTPServerTLSMinimum(t *testing.T) {
	t.Setenv("GODEBUG", "tls10server=1")
	certFile, keyFile := selfSigned(t, t.TempDir())
	srv := newHTTPServer(config.Default().Server, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeTLS(ln, certFile, keyFile) }()
	t.Cleanup(func() { _ = srv.Close() })

	handshake := func(v uint16) error {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
			InsecureSkipVerify: true, // loopback, self-signed
			MinVersion:         v,
			MaxVersion:         v,
		})
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		if err := handshake(v); err == nil {
			t.Errorf("%s handshake accepted", tls.VersionName(v))
		}
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		if err := handshake(v); err != nil {
			t.Errorf("%s handshake: %v", tls.VersionName(v), err)
		}
	}
}

// A header block over maxHeaderBytes is refused before any handler runs.
func TestHTTPServerHeaderLimit(t *testing.T) {
	var reached atomic.Bool
	srv := newHTTPServer(config.Default().Server, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached.Store(true) }))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 2*maxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || reached.Load() {
		t.Errorf("status %d, handler reached %v; want 431 before the handler", resp.StatusCode, reached.Load())
	}
}
