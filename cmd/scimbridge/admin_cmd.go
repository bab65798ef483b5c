package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// adminFlags say how to reach a running server's admin API. Unset, they
// come from the environment, then from config.yaml (listen address,
// admin_token, or the token the server generated into data_dir).
type adminFlags struct {
	server string
	token  string
	json   bool
}

func init() {
	var f adminFlags
	status := &cobra.Command{
		Use:   "status",
		Short: "Show each connector's queue depth, oldest entry, in flight, last success and error, dead letters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return c.status(cmd.Context(), cmd.OutOrStdout(), f.json)
		},
	}
	dead := &cobra.Command{Use: "deadletters", Short: "List, retry or discard changes a connector could not deliver"}
	var connector string
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters (of every connector, or --connector)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return c.listDead(cmd.Context(), cmd.OutOrStdout(), connector, f.json)
		},
	}
	list.Flags().StringVar(&connector, "connector", "", "only this connector")
	retry := &cobra.Command{
		Use:   "retry CONNECTOR ID|all",
		Short: "Queue a dead letter again (with the resource's current state)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			path := "/admin/deadletters/" + url.PathEscape(args[0]) + "/" + url.PathEscape(args[1]) + "/retry"
			if args[1] == "all" {
				path = "/admin/deadletters/" + url.PathEscape(args[0]) + "/retry"
			}
			if err := c.do(cmd.Context(), http.MethodPost, path, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "queued again: %s %s\n", args[0], args[1])
			return nil
		},
	}
	discard := &cobra.Command{
		Use:   "discard CONNECTOR ID",
		Short: "Delete a dead letter (the target stays as it is)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, "/admin/deadletters/"+url.PathEscape(args[0])+"/"+url.PathEscape(args[1]), nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "discarded: %s %s\n", args[0], args[1])
			return nil
		},
	}
	dead.AddCommand(list, retry, discard)
	reconcile := &cobra.Command{
		Use:   "reconcile",
		Short: "Re-evaluate every stored resource against every connector and queue what the targets lack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodPost, "/admin/reconcile", nil); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "reconciled: changes the targets lack are queued")
			return nil
		},
	}
	for _, c := range []*cobra.Command{status, dead, reconcile} {
		c.PersistentFlags().StringVar(&f.server, "server", "", "admin API base URL (default $SCIMBRIDGE_ADMIN_URL, else http://<listen> from --config)")
		c.PersistentFlags().StringVar(&f.token, "admin-token", "", "admin token (default $SCIMBRIDGE_ADMIN_TOKEN, else admin_token or data_dir/admin-token from --config)")
		c.PersistentFlags().BoolVar(&f.json, "json", false, "print the API's JSON")
		rootCmd.AddCommand(c)
	}
}

func (f adminFlags) client() (*adminClient, error) {
	server, token := f.server, f.token
	if server == "" {
		server = os.Getenv("SCIMBRIDGE_ADMIN_URL")
	}
	if token == "" {
		token = os.Getenv(config.EnvAdminToken)
	}
	if server == "" || token == "" {
		cfg, err := loadConfig()
		if err != nil {
			return nil, fmt.Errorf("admin API address and token: set --server and --admin-token, or point --config at the server's config: %w", err)
		}
		if server == "" {
			server = serverFromConfig(cfg)
		}
		if token == "" {
			token = cfg.AdminToken
		}
		if token == "" {
			data, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin-token"))
			if err != nil {
				return nil, fmt.Errorf("no admin token: set --admin-token or %s (%v)", config.EnvAdminToken, err)
			}
			token = strings.TrimSpace(string(data))
		}
	}
	return &adminClient{base: strings.TrimSuffix(server, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

type adminClient struct {
	base, token string
	http        *http.Client
}

// do calls the admin API and decodes a JSON answer into out (if not nil).
func (c *adminClient) do(ctx context.Context, method, path string, out any) error {
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("admin API: %s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("admin API: %s", resp.Status)
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = body
		return nil
	}
	return json.Unmarshal(body, out)
}

func (c *adminClient) status(ctx context.Context, w io.Writer, asJSON bool) error {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/admin/status", &raw); err != nil {
		return err
	}
	if asJSON {
		_, err := w.Write(raw)
		return err
	}
	var st struct {
		Connectors []connectors.Status `json:"connectors"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTOR\tTYPE\tQUEUE\tOLDEST\tIN FLIGHT\tDEAD\tUNSUPPORTED\tLAST SUCCESS\tLAST ERROR")
	for _, s := range st.Connectors {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Name, s.Type, s.QueueDepth,
			(time.Duration(s.OldestAge) * time.Second).String(), s.InFlight, s.DeadLetters, s.Unsupported,
			ago(s.LastSuccess), s.LastError)
	}
	return tw.Flush()
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Truncate(time.Second).String() + " ago"
}

func (c *adminClient) listDead(ctx context.Context, w io.Writer, connector string, asJSON bool) error {
	path := "/admin/deadletters"
	if connector != "" {
		path += "?connector=" + url.QueryEscape(connector)
	}
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, path, &raw); err != nil {
		return err
	}
	if asJSON {
		_, err := w.Write(raw)
		return err
	}
	var list struct {
		DeadLetters map[string][]store.DeadLetter `json:"deadLetters"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	names := make([]string, 0, len(list.DeadLetters))
	for n := range list.DeadLetters {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTOR\tID\tRESOURCE\tOP\tMEMBER\tCLASS\tAT\tREASON")
	n := 0
	for _, name := range names {
		for _, d := range list.DeadLetters[name] {
			n++
			fmt.Fprintf(tw, "%s\t%d\t%s/%s\t%s\t%s\t%s\t%s\t%s\n", name, d.ID, d.Type, d.SCIMID, d.Op, dash(d.Member), d.Class,
				d.At.Format(time.RFC3339), d.Reason)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n == 0 {
		_, err := fmt.Fprintln(w, "no dead letters")
		return err
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
