package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/config"
)

// addAdminFlags gives a command the admin API flags `status` has.
func addAdminFlags(c *cobra.Command, f *adminFlags) {
	c.Flags().StringVar(&f.server, "server", "", "admin API base URL (default $SCIMBRIDGE_ADMIN_URL, else http://<listen> from --config)")
	c.Flags().StringVar(&f.token, "admin-token", "", "admin token (default $SCIMBRIDGE_ADMIN_TOKEN, else admin_token or data_dir/admin-token from --config)")
}

// serverFromConfig is the URL a local client reaches the server at: its
// listen address, with a wildcard host (0.0.0.0, [::], none) dialled on
// loopback.
func serverFromConfig(cfg *config.Config) string {
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return scheme + "://" + cfg.Listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func init() {
	var f adminFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the server answers /readyz with 200 (for Docker's HEALTHCHECK: the image has no curl)",
		Long: `healthcheck asks the server's /readyz (on 127.0.0.1 when it listens on every
address) and exits 0 when it is ready, 1 otherwise. It needs no token; --server,
--admin-token and --config work as for status.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base := f.server
			if base == "" {
				base = os.Getenv("SCIMBRIDGE_ADMIN_URL")
			}
			if base == "" {
				cfg, err := loadConfig()
				if err != nil {
					return fmt.Errorf("healthcheck: set --server, or point --config at the server's config: %w", err)
				}
				base = serverFromConfig(cfg)
			}
			return healthcheck(cmd.Context(), strings.TrimSuffix(base, "/"), timeout, cmd.OutOrStdout())
		},
	}
	addAdminFlags(cmd, &f)
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	rootCmd.AddCommand(cmd)
}

// healthcheck GETs base/readyz. A loopback HTTPS server is not verified:
// no secret is sent, and its certificate names the public host.
func healthcheck(ctx context.Context, base string, timeout time.Duration, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if u, err := url.Parse(base); err == nil && isLoopback(u.Hostname()) {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // loopback liveness probe, no secret sent
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s/readyz answered %s", base, resp.Status)
	}
	_, err = fmt.Fprintln(out, "ready")
	return err
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
