// Command scimbridge is the SCIM 2.0 provisioning bridge: `serve` (the
// default) runs the SCIM endpoint, the fan-out to connectors and the admin
// API; other subcommands inspect config, plan mappings, run the built-in
// simulators and talk to a running server's admin API.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// configPath is the --config flag shared by every subcommand.
var configPath string

var rootCmd = &cobra.Command{
	Use:           "scimbridge",
	Short:         "SCIM 2.0 provisioning bridge: IdP in, durable fan-out to Webex, SCC, SecureAuth and Secure Access",
	SilenceUsage:  true,
	SilenceErrors: true,
	// With no subcommand, serve.
	RunE: func(cmd *cobra.Command, args []string) error { return runServe(cmd.Context()) },
}

func init() {
	rootCmd.PersistentFlags().StringVarP(&configPath, "config", "c", "config.yaml", "path to config.yaml")
}

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// run executes one command line and returns its exit status; a failure is
// one line on stderr (see explain for the exit codes).
func run(args []string, stderr io.Writer) int {
	rootCmd.SetArgs(args)
	if err := rootCmd.Execute(); err != nil {
		code, line := explain(err)
		fmt.Fprintln(stderr, "scimbridge:", line)
		return code
	}
	return 0
}
