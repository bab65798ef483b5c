package main

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

func init() {
	var f adminFlags
	reload := &cobra.Command{
		Use:   "reload",
		Short: "Make the running server re-read its SCIM clients and OAuth keys (POST /admin/reload, as SIGHUP does)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodPost, "/admin/reload", nil); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "reloaded: SCIM clients and OAuth signing keys")
			return err
		},
	}
	reload.Flags().StringVar(&f.server, "server", "", "admin API base URL (default $SCIMBRIDGE_ADMIN_URL, else http://<listen> from --config)")
	reload.Flags().StringVar(&f.token, "admin-token", "", "admin token (default $SCIMBRIDGE_ADMIN_TOKEN, else admin_token or data_dir/admin-token from --config)")
	rootCmd.AddCommand(reload)
}
