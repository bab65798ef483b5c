package main

import (
	"crypto/tls"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimbridge/scimbridge/config"
)

// servingCert is the TLS certificate the server presents. SIGHUP re-reads
// its files (a renewed certificate, e.g. from cert-manager, without a
// restart), and its expiry is exported for alerting.
type servingCert struct {
	files config.TLS
	cert  atomic.Pointer[tls.Certificate]
}

func newServingCert(files config.TLS) (*servingCert, error) {
	c := &servingCert{files: files}
	cert, err := loadTLS(files)
	if err != nil {
		return nil, err
	}
	c.cert.Store(cert)
	return c, nil
}

// reload replaces the certificate if the files load; otherwise the old one
// stays in use.
func (c *servingCert) reload() error {
	cert, err := loadTLS(c.files)
	if err != nil {
		return err
	}
	c.cert.Store(cert)
	return nil
}

func (c *servingCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cert.Load(), nil }

// collector exports the certificate's NotAfter.
func (c *servingCert) collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "scimbridge_tls_certificate_expiry_timestamp_seconds",
		Help: "When the serving TLS certificate expires (Unix time); re-read on SIGHUP.",
	}, func() float64 {
		if leaf := c.cert.Load().Leaf; leaf != nil {
			return float64(leaf.NotAfter.Unix())
		}
		return 0
	})
}
