// Package hrimport is `scimbridge import` and `scimbridge export`: a SCIM
// client of a running bridge that applies an HR system's CSV export (its
// own column names, its quirks) as creates and minimal PATCHes through
// /Bulk, optionally as a complete roster, and exports users for audits.
// It never touches the data file: every write takes the SCIM endpoint's
// validation, outbox and connectors.
package hrimport

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Config is the `import:` section of config.yaml.
type Config struct {
	// Match is the default --match attribute (userName when empty).
	Match string `yaml:"match"`
	// ManagedBy is the provenance value the importer writes into
	// urn:scimbridge:...:User:managedBy (default "hr"); the users carrying
	// it are a roster's default scope.
	ManagedBy string `yaml:"managed_by"`
	// Columns maps the HR file's headers to SCIM paths, "groups",
	// "manager", or "-" to ignore the column, e.g.
	// {"Employee ID": externalId, "Legal First Name": name.givenName};
	// a list feeds several attributes from one column
	// ("Work Email": [userName, 'emails[type eq "work"].value']).
	// Headers match case-insensitively; a header not listed is used as a
	// SCIM path when it is one.
	Columns map[string]Targets `yaml:"columns"`
	// Transforms apply to a column's cells (by header or by SCIM path):
	// lower, upper, bool, date or date(LAYOUT) (Go layout of the file's
	// dates, e.g. date(02.01.2006)), joined with "|" to chain.
	Transforms map[string]string `yaml:"transforms"`
	// Client names the scim.clients entry the importer signs in as: its
	// first (unhashed) bearer token is --token's default, and the bridge
	// records the importer's writes under this name.
	Client string `yaml:"client"`
	// Groups the import owns besides those it created: the groups column
	// may add members to them and remove members from them.
	Groups []string `yaml:"groups"`
}

// Targets are the attributes one column feeds: a single path in YAML, or a
// list.
type Targets []string

// UnmarshalYAML accepts a scalar or a sequence.
func (t *Targets) UnmarshalYAML(unmarshal func(any) error) error {
	var list []string
	if err := unmarshal(&list); err == nil {
		*t = list
		return nil
	}
	var one string
	if err := unmarshal(&one); err != nil {
		return err
	}
	*t = Targets{one}
	return nil
}

// DefaultManagedBy is the provenance value when Config leaves it empty.
const DefaultManagedBy = "hr"

// Validate checks the section without a server: transforms parse and
// column targets are well formed.
func (c Config) Validate() error {
	var errs []error
	for _, h := range sortedKeys(c.Transforms) {
		if _, err := parseTransforms(c.Transforms[h]); err != nil {
			errs = append(errs, fmt.Errorf("import.transforms.%s: %w", h, err))
		}
	}
	for _, h := range sortedKeys(c.Columns) {
		if len(c.Columns[h]) == 0 {
			errs = append(errs, fmt.Errorf("import.columns.%s: no target (use \"-\" to ignore the column)", h))
		}
		for _, t := range c.Columns[h] {
			if strings.TrimSpace(t) == "" {
				errs = append(errs, fmt.Errorf("import.columns.%s: empty target (use \"-\" to ignore the column)", h))
			}
		}
	}
	return errors.Join(errs...)
}

func (c Config) managedBy() string {
	if s := strings.TrimSpace(c.ManagedBy); s != "" {
		return s
	}
	return DefaultManagedBy
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
