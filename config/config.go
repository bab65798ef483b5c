// Package config loads config.yaml: the listener, data directory, tokens,
// SCIM options and connectors. Secrets never live in the file: any string
// value may be written as ${ENV} or ${ENV:-default} (expanded from the
// environment) or ${file:PATH} (the content of a mounted secret file)
// after parsing (so a secret's characters can't break the
// YAML). A few settings a container needs can also come straight from the
// environment, which wins over the file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/auth"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/hrimport"
	"github.com/scimbridge/scimbridge/scim"
)

// Config is the whole of config.yaml.
type Config struct {
	Listen      string   `yaml:"listen"`
	DataDir     string   `yaml:"data_dir"`
	ExternalURL string   `yaml:"external_url"`
	Tokens      []string `yaml:"tokens"`
	AdminToken  string   `yaml:"admin_token"`
	// MetricsToken, when set, is the bearer token /metrics requires
	// (Prometheus: authorization.credentials); unset, /metrics is open.
	MetricsToken string `yaml:"metrics_token"`
	TLS          TLS    `yaml:"tls"`
	Log          Log    `yaml:"log"`
	Server       Server `yaml:"server"`

	SCIM       scim.Options                   `yaml:"scim"`
	Connectors map[string]connectors.Settings `yaml:"connectors"`
	Activity   activitylog.Options            `yaml:"activity"`
	// Import configures `scimbridge import` (HR files: column names,
	// transforms, import-owned groups).
	Import hrimport.Config `yaml:"import"`

	// LiteralSecrets names the SCIM secrets written into the file itself
	// (for a start-up warning).
	LiteralSecrets []string `yaml:"-"`
	// Path is the file Load read ("" for Parse), for reloads.
	Path string `yaml:"-"`
}

// TLS enables HTTPS when both files are set.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Log configures zerolog.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Pretty bool   `yaml:"pretty"` // console output instead of JSON
	// FlushInterval is how long a JSON log line may wait to be written
	// with others (fewer writes under load); warnings and errors never
	// wait. 0 writes every line at once.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// Server holds the HTTP server's timeouts.
type Server struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
	// TrustedProxies (addresses or CIDRs) may set X-Forwarded-For.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Environment variables that override the file.
const (
	EnvListen      = "SCIMBRIDGE_LISTEN"
	EnvDataDir     = "SCIMBRIDGE_DATA_DIR"
	EnvExternalURL = "SCIMBRIDGE_EXTERNAL_URL"
	EnvTokens      = "SCIMBRIDGE_TOKENS" // comma-separated
	EnvAdminToken  = "SCIMBRIDGE_ADMIN_TOKEN"
)

// Default returns the configuration used for anything config.yaml leaves out.
func Default() Config {
	return Config{
		Listen:  "127.0.0.1:8080",
		DataDir: "./data",
		Log:     Log{Level: "info", FlushInterval: 100 * time.Millisecond},
		Server: Server{
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   20 * time.Second,
		},
		SCIM: scim.Options{
			MaxResults:      scim.DefaultMaxResults,
			MaxPayloadBytes: scim.DefaultMaxPayloadBytes,
		},
	}
}

// Load reads path (a missing file is an error), expands ${ENV} and
// ${file:PATH}, applies the environment overrides and defaults, and
// validates.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	cfg.Path = path
	return cfg, nil
}

// LoadIfExists is Load, except that a missing file is no error: the
// configuration then comes from the environment and the defaults alone
// (a container without connectors needs no config.yaml).
func LoadIfExists(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err == nil && data != nil {
		cfg.Path = path // reloads read the file again
	}
	return cfg, err
}

// Parse is Load on bytes, with lookup standing in for the environment.
func Parse(data []byte, lookup func(string) (string, bool)) (*Config, error) {
	cfg := Default()
	// An empty document (or one of comments only) would zero the defaults.
	var doc any
	if len(bytes.TrimSpace(data)) == 0 || yaml.Unmarshal(data, &doc) == nil && doc == nil {
		data = []byte("{}")
	}
	if err := yaml.UnmarshalWithOptions(data, &cfg, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("config: %s", yaml.FormatError(err, false, true))
	}
	cfg.LiteralSecrets = literalSecrets(&cfg)
	if err := expand(reflect.ValueOf(&cfg).Elem(), lookup); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	applyEnv(&cfg, lookup)
	cfg.Tokens = nonEmpty(cfg.Tokens)
	// As for the SCIM tokens: a secret read from a file often ends in a
	// newline, which no Authorization header can carry; a blank one is unset.
	cfg.AdminToken = strings.TrimSpace(cfg.AdminToken)
	cfg.MetricsToken = strings.TrimSpace(cfg.MetricsToken)
	for name, s := range cfg.Connectors {
		s.Name = name
		if s.Type == "" {
			s.Type = name
		}
		// Filled in here (not only by the dispatcher) so that validate
		// compares the effective sync_timeout with write_timeout.
		cfg.Connectors[name] = s.WithDefaults()
	}
	// An empty external_url means: build locations from each request's Host.
	cfg.ExternalURL = strings.TrimRight(cfg.ExternalURL, "/")
	cfg.SCIM.ExternalURL = cfg.ExternalURL
	// The importer's client is the only one that may write the provenance
	// extension; without import.client anyone may (docs/notes/import.md).
	if c := strings.TrimSpace(cfg.Import.Client); c != "" {
		cfg.SCIM.ProvenanceWriters = []string{c}
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &cfg, nil
}

// ConnectorNames returns the enabled connectors' names, sorted.
func (c *Config) ConnectorNames() []string {
	var names []string
	for name, s := range c.Connectors {
		if s.Enabled {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func (c *Config) validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen: must not be empty"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	if c.ExternalURL != "" && !strings.HasPrefix(c.ExternalURL, "http://") && !strings.HasPrefix(c.ExternalURL, "https://") {
		errs = append(errs, fmt.Errorf("external_url: %q is not an http(s) URL", c.ExternalURL))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: set both cert_file and key_file, or neither"))
	}
	if c.Log.FlushInterval < 0 {
		errs = append(errs, errors.New("log.flush_interval: must not be negative"))
	}
	if c.SCIM.MaxResults <= 0 {
		errs = append(errs, errors.New("scim.max_results: must be positive"))
	}
	if c.SCIM.MaxPayloadBytes <= 0 {
		errs = append(errs, errors.New("scim.max_payload_bytes: must be positive"))
	}
	if err := c.Activity.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateAuth()...)
	for _, name := range sortedKeys(c.Connectors) {
		s := c.Connectors[name]
		if s.OnDelete != "" && !validOnDelete[s.OnDelete] {
			errs = append(errs, fmt.Errorf("connectors.%s.on_delete: %q is not one of delete, deactivate, scramble_password, none", name, s.OnDelete))
		}
		if s.RateLimit < 0 || s.BatchSize < 0 || s.Concurrency < 0 {
			errs = append(errs, fmt.Errorf("connectors.%s: rate_limit, batch_size and concurrency must not be negative", name))
		}
		// A sync connector holds the SCIM answer until delivery: past the
		// server's write timeout the IdP would get a cut connection, not
		// the 502 that says what failed.
		if s.Enabled && s.Sync && c.Server.WriteTimeout > 0 && s.SyncTimeout >= c.Server.WriteTimeout {
			errs = append(errs, fmt.Errorf("connectors.%s.sync_timeout: %s must be shorter than server.write_timeout (%s)", name, s.SyncTimeout, c.Server.WriteTimeout))
		}
	}
	if err := c.Import.Validate(); err != nil {
		errs = append(errs, err)
	}
	if name := strings.TrimSpace(c.Import.Client); name != "" && name != "tokens" &&
		!slices.ContainsFunc(c.SCIM.Clients, func(cl auth.Client) bool { return cl.Name == name }) {
		errs = append(errs, fmt.Errorf("import.client: %q names no scim.clients entry", name))
	}
	return errors.Join(errs...)
}

var validOnDelete = map[string]bool{"delete": true, "deactivate": true, "scramble_password": true, "none": true}

func applyEnv(c *Config, lookup func(string) (string, bool)) {
	if v, ok := lookup(EnvListen); ok && v != "" {
		c.Listen = v
	}
	if v, ok := lookup(EnvDataDir); ok && v != "" {
		c.DataDir = v
	}
	if v, ok := lookup(EnvExternalURL); ok && v != "" {
		c.ExternalURL = v
	}
	if v, ok := lookup(EnvTokens); ok && strings.TrimSpace(v) != "" {
		c.Tokens = strings.Split(v, ",")
		for i := range c.Tokens {
			c.Tokens[i] = strings.TrimSpace(c.Tokens[i])
		}
	}
	if v, ok := lookup(EnvAdminToken); ok && v != "" {
		c.AdminToken = v
	}
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var (
	envRef  = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)
	fileRef = regexp.MustCompile(`\$\{file:([^}]+)\}`)
)

// maxSecretFile bounds what a ${file:PATH} reference reads: a secret is a
// token or a key, not a data set.
const maxSecretFile = 1 << 20

// expandString replaces ${NAME}, ${NAME:-default} and ${file:PATH} in s.
// A file's content (a mounted Kubernetes or Docker secret) replaces the
// reference without its trailing newline; a file that cannot be read is
// an error, never an empty secret.
func expandString(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var errs []error
	s = fileRef.ReplaceAllStringFunc(s, func(ref string) string {
		path := fileRef.FindStringSubmatch(ref)[1]
		v, err := readSecretFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("${file:%s}: %w", path, err))
		}
		return v
	})
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return envRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v, ok := lookup(m[1]); ok && v != "" {
			return v
		}
		return m[3]
	}), nil
}

func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("larger than %d bytes: not a secret", maxSecretFile)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// expand walks v and expands every string it holds.
func expand(v reflect.Value, lookup func(string) (string, bool)) error {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			s, err := expandString(v.String(), lookup)
			if err != nil {
				return err
			}
			v.SetString(s)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				if err := expand(v.Field(i), lookup); err != nil {
					return err
				}
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := expand(v.Index(i), lookup); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			return expand(v.Elem(), lookup)
		}
	case reflect.Map:
		// Map values are not addressable: copy, expand, store back.
		for _, k := range v.MapKeys() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			if err := expand(elem, lookup); err != nil {
				return err
			}
			v.SetMapIndex(k, elem)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
