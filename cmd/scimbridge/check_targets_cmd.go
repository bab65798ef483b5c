package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/connectors"
)

func init() {
	var f adminFlags
	var connector string
	var repair bool
	cmd := &cobra.Command{
		Use:   "check-targets",
		Short: "Compare what each target holds with what the bridge delivered there; --repair re-creates what an administrator deleted",
		Long: `check-targets lists what each target holds (connectors that can list: webex, scc,
secureaccess) and compares it with the resources the bridge delivered there. A resource
delivered but gone from the target is reported missing; with --repair it is queued again and
created anew (a group with all its members, a user rejoining its groups). Objects the bridge
did not make are only counted. The check runs in the running server (listing a rate-limited
target can take minutes); this command starts it and waits for its report.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if connector != "" {
				q.Set("connector", connector)
			}
			if repair {
				q.Set("repair", "true")
			}
			if err := c.do(cmd.Context(), http.MethodPost, "/admin/check-targets?"+q.Encode(), nil); err != nil {
				return err
			}
			rep, err := c.waitTargetCheck(cmd.Context())
			if err != nil {
				return err
			}
			if f.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return printTargetCheck(cmd.OutOrStdout(), rep)
		},
	}
	cmd.Flags().StringVar(&connector, "connector", "", "check this connector only (default: every connector that can list)")
	cmd.Flags().BoolVar(&repair, "repair", false, "queue missing resources again so they are re-created")
	cmd.Flags().StringVar(&f.server, "server", "", "admin API base URL (default $SCIMBRIDGE_ADMIN_URL, else http://<listen> from --config)")
	cmd.Flags().StringVar(&f.token, "admin-token", "", "admin token (default $SCIMBRIDGE_ADMIN_TOKEN, else admin_token or data_dir/admin-token from --config)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the API's JSON")
	rootCmd.AddCommand(cmd)
}

// waitTargetCheck polls the server until the check it started is done.
func (c *adminClient) waitTargetCheck(ctx context.Context) (connectors.TargetCheck, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		var rep connectors.TargetCheck
		if err := c.do(ctx, http.MethodGet, "/admin/check-targets", &rep); err != nil {
			return rep, err
		}
		if !rep.Running {
			return rep, nil
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func printTargetCheck(w io.Writer, rep connectors.TargetCheck) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTOR\tTYPE\tIN TARGET\tDELIVERED\tMISSING\tREQUEUED\tNOT OURS\tERROR")
	missing := 0
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Connector, r.Type, r.Listed, r.Mapped, len(r.Missing), r.Requeued, r.Unknown, r.Error)
		missing += len(r.Missing) - r.Requeued
	}
	tw.Flush()
	for _, r := range rep.Results {
		if len(r.Missing) > 0 {
			fmt.Fprintf(w, "%s %s missing: %s\n", r.Connector, r.Type, strings.Join(r.Missing, " "))
		}
	}
	if missing > 0 {
		fmt.Fprintln(w, "run again with --repair to re-create them")
	}
	return nil
}
