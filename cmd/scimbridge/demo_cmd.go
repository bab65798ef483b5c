package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/connectors/simkit"
)

func init() {
	var listen string
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the bridge with every connector against its built-in simulator and provision sample users and groups, nothing to configure",
		Long: `demo starts scimbridge on a fresh data directory with all four connectors pointed at their
built-in simulators, provisions sample users and groups through its own SCIM endpoint as an IdP
would (creates, an Okta-style deactivation, an Entra-style member add, a group rename), waits
for the deliveries and prints what each target now holds. It then keeps serving, so you can
send your own requests (the curl lines it prints), until Ctrl-C. config.yaml is not read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), listen, keep, cmd.OutOrStdout(), nil)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve SCIM and the admin API on")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo's data directory (it is printed) instead of removing it at exit")
	rootCmd.AddCommand(cmd)
}

// runDemo runs the demo until ctx ends. done, if set, is called after the
// summary is printed (tests stop the demo there).
func runDemo(ctx context.Context, listen string, keep bool, out io.Writer, done func()) error {
	dir, err := os.MkdirTemp("", "scimbridge-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(out, "demo data directory (kept): %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	var yaml strings.Builder
	fmt.Fprintf(&yaml, "listen: %q\ndata_dir: %q\nlog: {level: error}\nconnectors:\n", listen, dir)
	for _, r := range registrations() {
		fmt.Fprintf(&yaml, "  %s: {type: %s, enabled: true, simulate: true}\n", r.Type, r.Type)
	}
	// The environment is not consulted: the demo is the same everywhere.
	cfg, err := config.Parse([]byte(yaml.String()), func(string) (string, bool) { return "", false })
	if err != nil {
		return err
	}
	return serve(ctx, cfg, io.Discard, func(ctx context.Context, r running) error {
		if err := provisionSamples(ctx, r); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if err := waitDelivered(ctx, r.app, 2*time.Minute); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		printDemo(out, r)
		if done != nil {
			done()
		}
		return nil
	})
}

// sampleUsers are provisioned as Okta would: userName, name, work email,
// enterprise department.
var sampleUsers = []struct{ user, given, family, dept string }{
	{"ada.lovelace@example.com", "Ada", "Lovelace", "Engineering"},
	{"alan.turing@example.com", "Alan", "Turing", "Engineering"},
	{"grace.hopper@example.com", "Grace", "Hopper", "Engineering"},
	{"katherine.johnson@example.com", "Katherine", "Johnson", "Sales"},
	{"edsger.dijkstra@example.com", "Edsger", "Dijkstra", "Sales"},
	{"barbara.liskov@example.com", "Barbara", "Liskov", "Engineering"},
}

// provisionSamples talks to the bridge's own SCIM endpoint, as an IdP does.
func provisionSamples(ctx context.Context, r running) error {
	c := &demoClient{base: r.base + "/scim/v2", token: r.scimToken}
	ids := map[string]string{}
	for _, u := range sampleUsers {
		body := map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			"userName":   u.user,
			"name":       map[string]any{"givenName": u.given, "familyName": u.family},
			"emails":     []any{map[string]any{"value": u.user, "type": "work", "primary": true}},
			"active":     true,
			"externalId": "okta-" + u.given,
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": u.dept},
		}
		var created struct{ ID string }
		if err := c.do(ctx, http.MethodPost, "/Users", body, http.StatusCreated, &created); err != nil {
			return err
		}
		ids[u.given] = created.ID
	}
	member := func(names ...string) []any {
		var ms []any
		for _, n := range names {
			ms = append(ms, map[string]any{"value": ids[n]})
		}
		return ms
	}
	var eng, sales struct{ ID string }
	if err := c.do(ctx, http.MethodPost, "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Engineering", "members": member("Ada", "Alan", "Grace")}, http.StatusCreated, &eng); err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodPost, "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Sales", "members": member("Katherine")}, http.StatusCreated, &sales); err != nil {
		return err
	}
	patch := func(ops ...any) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
	}
	// Okta deactivates with a path-less replace.
	if err := c.do(ctx, http.MethodPatch, "/Users/"+ids["Edsger"], patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}}), http.StatusNoContent, nil); err != nil {
		return err
	}
	// Entra adds a member with a capitalised op, and renames a group.
	if err := c.do(ctx, http.MethodPatch, "/Groups/"+eng.ID, patch(map[string]any{"op": "Add", "path": "members", "value": member("Barbara")}), http.StatusNoContent, nil); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPatch, "/Groups/"+sales.ID, patch(map[string]any{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}), http.StatusNoContent, nil)
}

type demoClient struct{ base, token string }

func (c *demoClient) do(ctx context.Context, method, path string, body any, want int, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, answer)
	}
	if out != nil {
		return json.Unmarshal(answer, out)
	}
	return nil
}

// waitDelivered waits until every connector's queue is empty and idle.
func waitDelivered(ctx context.Context, a *app, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := a.dispatcher.Status()
		if err != nil {
			return err
		}
		idle := true
		for _, s := range st {
			idle = idle && s.QueueDepth == 0 && s.InFlight == 0
		}
		if idle {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deliveries still pending after %s: %+v", limit, st)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func printDemo(out io.Writer, r running) {
	fmt.Fprintf(out, "scimbridge demo: SCIM 2.0 at %s/scim/v2, all four connectors against their built-in simulators.\n", r.base)
	fmt.Fprintf(out, "Provisioned through SCIM as an IdP would: %d users, 2 groups, one Okta-style deactivation,\n", len(sampleUsers))
	fmt.Fprintln(out, "one Entra-style member add, one group rename. What each target holds now:")
	fmt.Fprintln(out)
	st, _ := r.app.dispatcher.Status()
	dead := map[string]int{}
	for _, s := range st {
		dead[s.Name] = s.DeadLetters
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  connector\tusers\tactive\tgroups (members)\ttarget calls\tdead letters")
	for _, r0 := range registrations() {
		sim, ok := r.app.simulators[r0.Type].(simkit.Sim)
		if !ok {
			continue
		}
		users, active := sim.Users(), 0
		for _, u := range users {
			if u.Active {
				active++
			}
		}
		var groups []string
		for _, g := range sim.Groups() {
			groups = append(groups, fmt.Sprintf("%s (%d)", g.Name, len(g.MemberTargetIDs)))
		}
		slices.Sort(groups) // creation order depends on delivery timing
		gs := strings.Join(groups, ", ")
		if gs == "" {
			gs = "-"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%d\t%d\n", r0.Type, len(users), active, gs, sim.Calls(), dead[r0.Type])
	}
	tw.Flush()
	fmt.Fprintf(out, `
(Secure Access takes no groups; SecureAuth keeps a deprovisioned account and cannot drop
group associations, so it shows what its API allows.)

Status console: %[1]s/admin/ui/  (sign in with the admin token %[3]s)

Try it (Ctrl-C stops the demo):
  curl -s -H 'Authorization: Bearer %[2]s' '%[1]s/scim/v2/Users?filter=userName%%20sw%%20%%22a%%22'
  curl -s -H 'Authorization: Bearer %[2]s' -H 'Content-Type: application/scim+json' -X POST %[1]s/scim/v2/Users \
       -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"you@example.com","emails":[{"value":"you@example.com","type":"work","primary":true}]}'
  go run ./cmd/scimbridge status --server %[1]s --admin-token %[3]s
`, r.base, r.scimToken, r.adminToken)
}
