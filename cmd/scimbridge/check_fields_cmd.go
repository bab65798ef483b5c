package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/admin"
)

func init() {
	var f adminFlags
	var repair bool
	cmd := &cobra.Command{
		Use:   "check-fields Users|Groups ID",
		Short: "Compare one resource's fields in each target with SCIM's; --repair sends SCIM's values back",
		Long: `check-fields reads one SCIM resource from every target whose connector can read one
object (webex; the others answer "not available") and compares the fields the connector maps
with SCIM's, as check-targets does for every object: in sync, drifted (field, target value,
SCIM value), missing, or an error. With --repair, SCIM's values are queued again through the
outbox (a missing object is re-created). The console's lookup page has the same check.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			path := "/admin/resources/" + url.PathEscape(args[0]) + "/" + url.PathEscape(args[1]) + "/check-fields"
			if repair {
				path += "?repair=true"
			}
			var rep admin.FieldReport
			if err := c.do(cmd.Context(), http.MethodPost, path, &rep); err != nil {
				return err
			}
			if f.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return printFieldReport(cmd.OutOrStdout(), rep)
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "queue SCIM's values again for the connectors where the resource drifted")
	cmd.Flags().StringVar(&f.server, "server", "", "admin API base URL (default $SCIMBRIDGE_ADMIN_URL, else http://<listen> from --config)")
	cmd.Flags().StringVar(&f.token, "admin-token", "", "admin token (default $SCIMBRIDGE_ADMIN_TOKEN, else admin_token or data_dir/admin-token from --config)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the API's JSON")
	rootCmd.AddCommand(cmd)
}

func printFieldReport(w io.Writer, rep admin.FieldReport) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTOR\tRESULT\tFIELD\tIN THE TARGET\tIN SCIM")
	for _, c := range rep.Connectors {
		if len(c.Fields) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Connector, c.State, c.Message)
		}
		for _, d := range c.Fields {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%q\t%q\n", c.Connector, c.State, d.Field, d.Target, d.SCIM)
		}
	}
	tw.Flush()
	for _, c := range rep.Connectors {
		if c.Repaired {
			fmt.Fprintf(w, "%s: SCIM's values queued again\n", c.Connector)
		}
	}
	if rep.Drifted() && !rep.Repair {
		fmt.Fprintln(w, "run again with --repair to send SCIM's values back")
	}
	return nil
}
