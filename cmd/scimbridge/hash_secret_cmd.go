package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/auth/oauth"
	"github.com/scimbridge/scimbridge/config"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "hash-secret",
		Short: "Read a SCIM secret from stdin (without echo on a terminal) and print its argon2id hash for config.yaml",
		Long: "Prints an argon2id hash to use in scim.clients instead of the secret itself: a bearer token, " +
			"a Basic password or an OAuth client secret. The IdP keeps the secret; config.yaml keeps only the hash.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			secret, err := readSecret(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			h, err := auth.HashSecret(secret)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), h)
			return err
		},
	})
	rootCmd.AddCommand(&cobra.Command{
		Use:   "oauth-rotate-key",
		Short: "Add a new OAuth signing key in the data directory; reload (SIGHUP or POST /admin/reload) to sign with it",
		Long: "The previous key keeps verifying the access tokens it signed until they expire (at most 6 h), " +
			"then it is dropped from the key file.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(configPath)
			if err != nil {
				return err
			}
			kid, err := oauth.RotateKey(cfg.DataDir, time.Now())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "new signing key %s; reload the server to use it\n", kid)
			return err
		},
	})
}

// readSecret reads one line: from a terminal without echo, otherwise
// from the pipe. The line break is not part of the secret.
func readSecret(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Secret (not echoed): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no secret on stdin")
	}
	return line, nil
}
