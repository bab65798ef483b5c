package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/hrimport"
)

// scimFlags say how to reach a running bridge's SCIM endpoint as a SCIM
// client. Unset, they come from the environment, then config.yaml.
type scimFlags struct {
	server, token string
}

func (f *scimFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.server, "server", "", "bridge base URL, /scim/v2 appended (default $SCIMBRIDGE_URL, else external_url or http://<listen> from --config)")
	c.Flags().StringVar(&f.token, "token", "", "SCIM bearer token (default $SCIM_TOKEN, else from --config: the bearer token of the client import.client names, the first of tokens, or data_dir/scim-token)")
}

// client resolves the flags; cfg is config.yaml when it could be read.
func (f scimFlags) client() (*hrimport.Client, *config.Config, error) {
	server, token := f.server, f.token
	if server == "" {
		server = os.Getenv("SCIMBRIDGE_URL")
	}
	if token == "" {
		token = os.Getenv("SCIM_TOKEN")
	}
	cfg, cfgErr := config.Load(configPath)
	if server == "" || token == "" {
		if cfgErr != nil {
			return nil, nil, fmt.Errorf("SCIM address and token: set --server and --token, or point --config at the server's config: %w", cfgErr)
		}
		if server == "" {
			server = cfg.ExternalURL
		}
		if server == "" {
			scheme := "http"
			if cfg.TLS.CertFile != "" {
				scheme = "https"
			}
			server = scheme + "://" + cfg.Listen
		}
		if token == "" {
			token = importClientToken(cfg)
		}
		if token == "" && len(cfg.Tokens) > 0 {
			token = cfg.Tokens[0]
		}
		if token == "" {
			data, err := os.ReadFile(filepath.Join(cfg.DataDir, "scim-token"))
			if err != nil {
				return nil, nil, fmt.Errorf("no SCIM token: set --token or SCIM_TOKEN (%v)", err)
			}
			token = strings.TrimSpace(string(data))
		}
	}
	if cfgErr != nil {
		cfg = nil
	}
	return hrimport.NewClient(server, token, nil), cfg, nil
}

// importClientToken is the first bearer token of the client import.client
// names, unless it is stored as a hash (then --token must give it).
func importClientToken(cfg *config.Config) string {
	for _, c := range cfg.SCIM.Clients {
		if c.Name != "" && c.Name == cfg.Import.Client && len(c.Bearer) > 0 && !auth.IsHash(c.Bearer[0]) {
			return strings.TrimSpace(c.Bearer[0])
		}
	}
	return ""
}

func init() {
	var f scimFlags
	var opts hrimport.Options
	var reportPath string
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Apply an HR system's CSV export (creates, minimal PATCHes, memberships, managers; --roster deactivates the missing) through the SCIM endpoint",
		Long: `import reads an HR export (UTF-8 with or without BOM, ',' or ';', quoted fields,
CRLF) whose header row holds SCIM paths (userName, name.givenName,
emails[type eq "work"].value, urn:...:enterprise:2.0:User:department, active, groups,
manager) or the HR system's own names mapped in config.yaml's import.columns. It
compares every row with the running bridge's users and sends only what changed, through
/Bulk, as a SCIM client: validation, the outbox and every connector apply. Run it again
after an interruption: it finishes the job. Exit status 0 only if every row was applied
or unchanged. See README.md "Onboarding from HR".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, cfg, err := f.client()
			if err != nil {
				return err
			}
			opts := opts // the flags' values; what this run adds stays local
			if cfg != nil {
				opts.Config = cfg.Import
			}
			path := args[0]
			if _, err := os.Stat(path); err != nil {
				return err
			}
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.Out = stdout
			if reportPath != "" {
				rf, err := createPrivate(reportPath)
				if err != nil {
					return err
				}
				defer rf.Close()
				opts.Report = rf
			}
			if !opts.DryRun {
				opts.Progress = hrimport.NewProgress(stderr, isTerminal(stderr))
			}
			start := time.Now()
			sum, err := hrimport.Run(cmd.Context(), c, func() (io.ReadCloser, error) { return os.Open(path) }, opts)
			if sum != nil {
				if len(sum.Ignored) > 0 {
					fmt.Fprintf(stdout, "ignored columns: %s\n", strings.Join(sum.Ignored, ", "))
				}
				fmt.Fprintf(stdout, "%s in %s\n", sum, time.Since(start).Round(time.Millisecond))
			}
			if err != nil {
				return err
			}
			if !sum.OK() {
				return fmt.Errorf("%d rows rejected, %d failed, %d deactivations failed (see above%s)", sum.Rejected, sum.Failed, sum.DeactivateFailed, reportHint(reportPath))
			}
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opts.Match, "match", "", "attribute matching rows to users: userName, externalId or another indexed attribute (default import.match, else userName)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print what would be created, updated (old -> new), deactivated, left unchanged or rejected; write nothing")
	fl.BoolVar(&opts.Roster, "roster", false, "the file lists everyone: deactivate (never delete) users in scope missing from it")
	fl.StringVar(&opts.Scope, "scope", "", "roster scope as a SCIM filter (default: users the import manages, by their provenance mark)")
	fl.StringVar(&opts.MaxDeactivate, "max-deactivate", "5%", "refuse a roster that would deactivate more than this (N% of the scope, or a number)")
	fl.BoolVar(&opts.Force, "force", false, "deactivate beyond --max-deactivate")
	fl.IntVar(&opts.Concurrency, "concurrency", hrimport.DefaultConcurrency, "/Bulk requests in flight (more is faster and weighs more on the bridge)")
	fl.StringVar(&reportPath, "report", "", "write each row's outcome to this CSV file (created 0600)")
	rootCmd.AddCommand(cmd)
}

func reportHint(path string) string {
	if path == "" {
		return ""
	}
	return " and " + path
}

// createPrivate creates (or truncates) a file only its owner can read:
// reports and exports hold personal data.
func createPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	// OpenFile keeps the mode of a file that was already there.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
