package main

import (
	"testing"

	"github.com/scimbridge/scimbridge/config"
)

func TestConsoleURL(t *testing.T) {
	tests := []struct {
		external, cert, want string
	}{
		{"", "", "http://127.0.0.1:8080/admin/ui/"},
		{"", "cert.pem", "https://127.0.0.1:8080/admin/ui/"},
		{"https://bridge.example.com/", "", "https://bridge.example.com/admin/ui/"},
	}
	for _, tt := range tests {
		cfg := &config.Config{ExternalURL: tt.external}
		cfg.TLS.CertFile = tt.cert
		if got := consoleURL(cfg, "127.0.0.1:8080"); got != tt.want {
			t.Errorf("%+v: %s", tt, got)
		}
	}
	if w := newConsoleWiring(nil, "https://bridge.example.com"); !w.secure || w.rates != nil {
		t.Errorf("https external_url: %+v", w)
	}
	if w := newConsoleWiring(nil, "http://bridge.example.com"); w.secure {
		t.Errorf("http external_url: %+v", w)
	}
}
