package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/hrimport"
)

func init() {
	var f scimFlags
	var opts hrimport.ExportOptions
	var columns, out string
	cmd := &cobra.Command{
		Use:   "export [-o FILE]",
		Short: "Stream every user (or --filter) from the SCIM endpoint as CSV or JSON lines, for audits; import reads the CSV back unchanged",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := f.client()
			if err != nil {
				return err
			}
			if columns != "" {
				opts.Columns = splitColumns(columns)
			}
			var w io.Writer = cmd.OutOrStdout()
			if out != "" && out != "-" {
				file, err := createPrivate(out)
				if err != nil {
					return err
				}
				defer file.Close()
				w = file
			}
			n, err := hrimport.Export(cmd.Context(), c, w, opts)
			if err != nil {
				return err
			}
			if out != "" && out != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %d users to %s\n", n, out)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&opts.Format, "format", "csv", "csv or jsonl")
	cmd.Flags().StringVar(&opts.Filter, "filter", "", "SCIM filter selecting the users (default: all)")
	cmd.Flags().StringVar(&columns, "columns", "", "comma-separated SCIM paths and groups (default: "+strings.Join(hrimport.DefaultExportColumns, ",")+")")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file (created 0600) instead of stdout")
	rootCmd.AddCommand(cmd)
}

// splitColumns splits on commas outside [...] and quotes (a value filter
// may hold a comma).
func splitColumns(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}
