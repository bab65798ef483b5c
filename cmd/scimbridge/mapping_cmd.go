package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/scimpath"
	"github.com/scimbridge/scimbridge/store"
)

func init() {
	rootCmd.AddCommand(checkConfigCmd(), planCmd())
}

// newMapper builds one connector's Mapper: its type's default mapping
// overlaid with config.yaml's, checked against the SCIM schemas (with
// the deployment's custom extensions). Every error line names the
// connector, so the server can refuse to start with the same message
// check-config prints.
func newMapper(s connectors.Settings, scimOpts scim.Options, regs []connectors.Registration) (*mapping.Mapper, error) {
	i := slices.IndexFunc(regs, func(r connectors.Registration) bool { return r.Type == s.Type })
	if i < 0 {
		return nil, fmt.Errorf("connector %q: unknown type %q (have %s)", s.Name, s.Type, knownTypes(regs))
	}
	reg := regs[i]
	user, group := schemas(scimOpts)
	m, err := mapping.New(mapping.Merge(reg.DefaultMapping, s.Mapping), s.Scope, mapping.WithSchemas(user, group))
	if err != nil {
		var lines []error
		for _, e := range mapping.Errors(err) {
			lines = append(lines, fmt.Errorf("connector %q: %w", s.Name, e))
		}
		return nil, errors.Join(lines...)
	}
	return m, nil
}

func knownTypes(regs []connectors.Registration) string {
	var names []string
	for _, r := range regs {
		names = append(names, r.Type)
	}
	if len(names) == 0 {
		return "none in this build"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// schemas are the core User and Group with the custom extensions declared
// under scim.extensions, so mappings and scopes may use their URN paths.
func schemas(o scim.Options) (user, group *scimpath.ResourceSchema) {
	u, g := scimpath.CoreUser(), scimpath.CoreGroup()
	for _, ext := range o.Extensions {
		s := scimpath.Schema{URN: ext.URN}
		for _, f := range ext.Attributes {
			typ := f.Type
			if typ == "" {
				typ = scimpath.TypeString
			}
			s.Attrs = append(s.Attrs, scimpath.Attr{Name: f.Name, Type: typ, MultiValued: f.MultiValued, CaseExact: f.CaseExact})
		}
		if strings.EqualFold(ext.ResourceType, mapping.Group) {
			g = g.WithExtension(s)
		} else {
			u = u.WithExtension(s)
		}
	}
	return &u, &g
}

func checkConfigCmd() *cobra.Command {
	var show bool
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Check config.yaml (connector mappings and scopes included) without starting the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(configPath)
			if err != nil {
				return err
			}
			if err := checkConfig(cfg, configPath, registrations(), cmd.OutOrStdout(), cmd.ErrOrStderr()); err != nil {
				return err
			}
			if show {
				return showMappings(cfg, registrations(), cmd.OutOrStdout())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&show, "show-mappings", false, "also print every connector's effective mapping and scope (defaults merged with config.yaml) as YAML to copy into config.yaml")
	return cmd
}

// showMappings prints the merged mapping and scope of every connector in
// config.yaml's own format.
func showMappings(cfg *config.Config, regs []connectors.Registration, out io.Writer) error {
	type section struct {
		Mapping mapping.Spec  `yaml:"mapping"`
		Scope   mapping.Scope `yaml:"scope"`
	}
	all := map[string]section{}
	for name, s := range cfg.Connectors {
		i := slices.IndexFunc(regs, func(r connectors.Registration) bool { return r.Type == s.Type })
		if i >= 0 {
			all[name] = section{mapping.Merge(regs[i].DefaultMapping, s.Mapping), s.Scope}
		}
	}
	data, err := yaml.MarshalWithOptions(map[string]any{"connectors": all}, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s", data)
	return nil
}

// checkConfig prints one line per problem to errOut (every connector is
// checked, enabled or not) and "ok" to out when there is none.
func checkConfig(cfg *config.Config, path string, regs []connectors.Registration, out, errOut io.Writer) error {
	var problems int
	names := sortedNames(cfg)
	for _, name := range names {
		s := cfg.Connectors[name]
		_, err := newMapper(s, cfg.SCIM, regs)
		problems += printProblems(errOut, err)
		if i := slices.IndexFunc(regs, func(r connectors.Registration) bool { return r.Type == s.Type }); i >= 0 {
			problems += printProblems(errOut, connectors.CheckSettings(regs[i], s))
		}
	}
	if problems > 0 {
		return fmt.Errorf("%s: %s", path, plural(problems, "problem"))
	}
	fmt.Fprintf(out, "%s: ok (%s", path, plural(len(names), "connector"))
	if len(names) > 0 {
		fmt.Fprintf(out, ": %s", strings.Join(names, ", "))
	}
	fmt.Fprintln(out, ")")
	return nil
}

// printProblems prints each problem of err on its own line.
func printProblems(w io.Writer, err error) int {
	lines := mapping.Errors(err)
	for _, e := range lines {
		fmt.Fprintln(w, e)
	}
	return len(lines)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

type planFlags struct {
	connector, user, group, file string
	dryRun                       bool
}

func planCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan --connector NAME (--user ID | --group ID | --file resource.json)",
		Short: "Show the fields and scope decision a connector would receive for one resource, without sending anything",
		Long: `plan maps one resource through a connector's mapping and scope, exactly as
the dispatcher would, and prints the result; nothing is sent. The resource
comes from the data file (--user or --group; stop the server first, bbolt
locks the file) or from a SCIM JSON file (--file, "-" for stdin).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := count(f.user != "", f.group != "", f.file != ""); n != 1 {
				return errors.New("plan: give exactly one of --user, --group or --file")
			}
			cfg, err := config.Load(configPath)
			if err != nil {
				return err
			}
			return plan(cfg, f, registrations(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&f.connector, "connector", "", "connector name (a key under connectors: in config.yaml)")
	cmd.Flags().StringVar(&f.user, "user", "", "SCIM id of a stored user")
	cmd.Flags().StringVar(&f.group, "group", "", "SCIM id of a stored group")
	cmd.Flags().StringVar(&f.file, "file", "", `a SCIM User or Group as JSON ("-": stdin)`)
	cmd.Flags().BoolVar(&f.dryRun, "requests", false, "also show the HTTP requests the connector sends, by a dry run against its built-in simulator (nothing leaves the machine)")
	_ = cmd.MarkFlagRequired("connector")
	return cmd
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func plan(cfg *config.Config, f planFlags, regs []connectors.Registration, in io.Reader, out, errOut io.Writer) error {
	s, ok := cfg.Connectors[f.connector]
	if !ok {
		return fmt.Errorf("plan: no connector %q in config (have %s)", f.connector, strings.Join(sortedNames(cfg), ", "))
	}
	m, err := newMapper(s, cfg.SCIM, regs)
	if err != nil {
		n := printProblems(errOut, err)
		return fmt.Errorf("plan: connector %q: %s in config.yaml", f.connector, plural(n, "problem"))
	}
	var typ, source string
	var res map[string]any
	switch {
	case f.file != "":
		typ, res, err = readResourceFile(f.file, in)
		source = f.file
	case f.user != "":
		typ, source = mapping.User, "user "+f.user
		res, err = readStored(filepath.Join(cfg.DataDir, dbFile), typ, f.user)
	default:
		typ, source = mapping.Group, "group "+f.group
		res, err = readStored(filepath.Join(cfg.DataDir, dbFile), typ, f.group)
	}
	if err != nil {
		return err
	}
	if s.OnDelete == "" {
		if i := slices.IndexFunc(regs, func(r connectors.Registration) bool { return r.Type == s.Type }); i >= 0 {
			s.OnDelete = regs[i].DefaultOnDelete
		}
	}
	if err := writePlan(out, s, m, typ, source, res); err != nil {
		return err
	}
	if !f.dryRun || !m.InScope(typ, res) {
		return nil
	}
	i := slices.IndexFunc(regs, func(r connectors.Registration) bool { return r.Type == s.Type })
	fields, _ := m.Map(typ, res) // writePlan has mapped it without error
	id, _ := res["id"].(string)
	sent, result, err := dryRun(regs[i], s, connectors.Change{Type: typ, ID: id, Op: connectors.OpUpsert, Fields: fields})
	if err != nil {
		return fmt.Errorf("plan: dry run: %w", err)
	}
	writeRequests(out, sent, result)
	return nil
}

func sortedNames(cfg *config.Config) []string {
	var names []string
	for n := range cfg.Connectors {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// writePlan prints what the dispatcher would hand the connector.
func writePlan(out io.Writer, s connectors.Settings, m *mapping.Mapper, typ, source string, res map[string]any) error {
	fields, err := m.Map(typ, res)
	if err != nil {
		return fmt.Errorf("connector %q: %w", s.Name, err)
	}
	scope := s.Scope.Users
	if typ == mapping.Group {
		scope = s.Scope.Groups
	}
	if scope == "" {
		scope = "everyone"
	}
	fmt.Fprintf(out, "connector: %s (type %s)\n", s.Name, s.Type)
	id, _ := res["id"].(string)
	if id == "" {
		id = "(no id)"
	}
	fmt.Fprintf(out, "resource:  %s %s (from %s)\n", typ, id, source)
	if !s.Enabled {
		fmt.Fprintln(out, "note:      the connector is disabled in config.yaml: it receives nothing")
	}
	if m.InScope(typ, res) {
		fmt.Fprintf(out, "scope:     in scope (%s): provisioned (upsert)\n", scope)
		if active, ok := res["active"].(bool); ok && !active {
			fmt.Fprintln(out, "note:      active is false: delivered as the target's disable, not as leaving scope")
		}
	} else {
		onDelete := s.OnDelete
		if onDelete == "" {
			onDelete = "the connector's default"
		}
		fmt.Fprintf(out, "scope:     out of scope (%s): not provisioned; if the target holds it, deprovisioned (on_delete: %s)\n", scope, onDelete)
	}
	body, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "fields:\n%s\n", body)
	return nil
}

// readResourceFile reads a SCIM resource from JSON; its type comes from
// meta.resourceType or schemas, defaulting to User.
func readResourceFile(path string, stdin io.Reader) (string, map[string]any, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", nil, fmt.Errorf("plan: %w", err)
	}
	var res map[string]any
	if err := json.Unmarshal(data, &res); err != nil {
		return "", nil, fmt.Errorf("plan: %s is not a JSON object: %w", path, err)
	}
	return resourceType(res), res, nil
}

func resourceType(res map[string]any) string {
	if meta, ok := res["meta"].(map[string]any); ok {
		if t, ok := meta["resourceType"].(string); ok && strings.EqualFold(t, mapping.Group) {
			return mapping.Group
		}
	}
	if schemas, ok := res["schemas"].([]any); ok {
		for _, s := range schemas {
			if s, ok := s.(string); ok && strings.EqualFold(s, scimpath.URNGroup) {
				return mapping.Group
			}
		}
	}
	return mapping.User
}

// readStored reads a resource from the data file, read-only, as the
// dispatcher sees it: a user with its derived groups, a group without its
// members (which travel as deltas).
func readStored(path, typ, id string) (map[string]any, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("plan: no data file at %s (check data_dir, or use --file with a resource as JSON)", path)
	}
	db, err := store.OpenReadOnly(path, time.Second)
	if err != nil {
		return nil, offlineOpenFailure(path, "plan: stop the server first, or use --file", err)
	}
	defer db.Close()
	var res map[string]any
	err = db.View(func(tx *store.Tx) error {
		doc, _, err := tx.GetResource(typ, id)
		if err != nil {
			return fmt.Errorf("plan: %s %s: %w", typ, id, err)
		}
		if err := json.Unmarshal(doc, &res); err != nil {
			return fmt.Errorf("plan: %s %s: %w", typ, id, err)
		}
		if typ != mapping.User {
			return nil
		}
		gids, err := tx.GroupsOf(id)
		if err != nil {
			return err
		}
		var groups []any
		for _, gid := range gids {
			g := map[string]any{"value": gid, "type": "direct"}
			if doc, _, err := tx.GetResource(mapping.Group, gid); err == nil {
				var grp struct {
					DisplayName string `json:"displayName"`
				}
				if json.Unmarshal(doc, &grp) == nil && grp.DisplayName != "" {
					g["display"] = grp.DisplayName
				}
			}
			groups = append(groups, g)
		}
		if len(groups) > 0 {
			res["groups"] = groups
		}
		return nil
	})
	return res, err
}
