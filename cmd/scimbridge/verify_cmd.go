package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/store"
)

func init() {
	var f adminFlags
	var file string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that the data file agrees with itself: resources, listing order, counts, indexes, memberships, queues, id mappings",
		Long: `verify reads the whole store and lists every inconsistency it finds (it repairs nothing).
By default it asks the running server (admin API, one read transaction); with --file it opens a
data file directly, read-only, which needs the server stopped. Exit status 1 when problems are found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var problems []string
			var total int
			if file != "" {
				var err error
				if problems, total, err = verifyFile(file); err != nil {
					return err
				}
			} else {
				c, err := f.client()
				if err != nil {
					return err
				}
				var out struct {
					Problems []string `json:"problems"`
					Total    int      `json:"total"`
				}
				if err := c.do(cmd.Context(), http.MethodGet, "/admin/verify", &out); err != nil {
					return err
				}
				problems, total = out.Problems, out.Total
			}
			return printVerify(cmd.OutOrStdout(), problems, total)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "verify this data file directly (the server must be stopped)")
	cmd.Flags().StringVar(&f.server, "server", "", "admin API base URL (default $SCIMBRIDGE_ADMIN_URL, else http://<listen> from --config)")
	cmd.Flags().StringVar(&f.token, "admin-token", "", "admin token (default $SCIMBRIDGE_ADMIN_TOKEN, else admin_token or data_dir/admin-token from --config)")
	rootCmd.AddCommand(cmd)
}

// verifyFile runs store.Verify on a data file opened read-only. The short
// timeout makes it refuse a file a running server holds.
func verifyFile(path string) ([]string, int, error) {
	db, err := store.OpenReadOnly(path, time.Second)
	if err != nil {
		return nil, 0, offlineOpenFailure(path, "is the server still running? then leave out --file", err)
	}
	defer db.Close()
	var problems []string
	var total int
	err = db.View(func(tx *store.Tx) error {
		problems, total = tx.Verify(1000)
		return nil
	})
	return problems, total, err
}

var errInconsistent = errors.New("the data file is inconsistent")

func printVerify(w io.Writer, problems []string, total int) error {
	if total == 0 {
		fmt.Fprintln(w, "no problems found")
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	if total > len(problems) {
		fmt.Fprintf(w, "... and %d more\n", total-len(problems))
	}
	return fmt.Errorf("%w: %d problems", errInconsistent, total)
}
