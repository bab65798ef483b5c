package connectors

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/mapping"
)

// Defaults of the connector settings the dispatcher reads. They live here
// only: config fills them in (WithDefaults) so that validation and status
// see the effective values, and the dispatcher applies the same
// WithDefaults to Settings built without config (tests, tools).
const (
	DefaultConcurrency = 4
	DefaultSyncTimeout = 10 * time.Second
)

// WithDefaults returns s with its zero Concurrency and SyncTimeout set to
// their defaults.
func (s Settings) WithDefaults() Settings {
	if s.Concurrency <= 0 {
		s.Concurrency = DefaultConcurrency
	}
	if s.SyncTimeout <= 0 {
		s.SyncTimeout = DefaultSyncTimeout
	}
	return s
}

// Typed connector settings. config.yaml keeps options and credentials as
// maps of strings (so every value can be written as ${ENV}); each
// connector declares the keys it reads as a struct whose fields carry a
// `setting:"key"` tag, and DecodeSettings fills it strictly, as dex's
// connector Configs are decoded: a key the struct does not declare is an
// error naming the key, with the closest declared one, so a typo
// (`bulkk: false`) fails at start-up and in check-config instead of being
// ignored.
//
// Field types: string, bool, int, float64, time.Duration, or a pointer to
// one of these (nil when the key is unset, for defaults that depend on
// other settings). An empty value (after ${ENV} expansion and trimming)
// leaves the field unset.

// SettingError is one key of options or credentials that is unknown or
// whose value does not parse.
type SettingError struct {
	Section string // "options" or "credentials"
	Key     string
	Problem string // never holds a credential's value
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("%s.%s: %s", e.Section, e.Key, e.Problem)
}

// DecodeSettings decodes s.Credentials into creds and s.Options into opts,
// each a pointer to a struct of `setting`-tagged fields (nil: the section
// takes no keys). Every problem is reported (errors.Join of
// *SettingError, sorted by section and key).
func DecodeSettings(s Settings, creds, opts any) error {
	return errors.Join(
		decodeSection("credentials", s.Credentials, creds),
		decodeSection("options", s.Options, opts),
	)
}

// CheckSettings decodes s with the typed settings r declares, without
// building the connector (check-config, start-up). Errors name the
// connector: `connector "<name>": options.<key>: ...`. A registration that
// declares neither Credentials nor Options is not checked.
func CheckSettings(r Registration, s Settings) error {
	if r.Credentials == nil && r.Options == nil {
		return nil
	}
	fresh := func(proto any) any {
		if proto == nil {
			return nil
		}
		return reflect.New(reflect.TypeOf(proto)).Interface()
	}
	err := DecodeSettings(s, fresh(r.Credentials), fresh(r.Options))
	var lines []error
	for _, e := range splitJoined(err) {
		lines = append(lines, fmt.Errorf("connector %q: %w", s.Name, e))
	}
	return errors.Join(lines...)
}

func splitJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []error{err}
}

var durationType = reflect.TypeFor[time.Duration]()

func decodeSection(section string, values map[string]string, dst any) error {
	fields := map[string]reflect.Value{}
	if dst != nil {
		v := reflect.ValueOf(dst)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			panic(fmt.Sprintf("connectors.DecodeSettings: %T is not a pointer to a struct", dst))
		}
		v = v.Elem()
		for i := range v.NumField() {
			if key := v.Type().Field(i).Tag.Get("setting"); key != "" && key != "-" {
				fields[key] = v.Field(i)
			}
		}
	}
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, key := range keys {
		f, ok := fields[key]
		if !ok {
			errs = append(errs, &SettingError{Section: section, Key: key, Problem: unknownKey(key, known)})
			continue
		}
		raw := strings.TrimSpace(values[key])
		if raw == "" {
			continue
		}
		if problem := setField(f, raw); problem != "" {
			if section == "credentials" { // a secret's value never goes into an error
				problem = "has the wrong form"
			}
			errs = append(errs, &SettingError{Section: section, Key: key, Problem: problem})
		}
	}
	return errors.Join(errs...)
}

func unknownKey(key string, known []string) string {
	if len(known) == 0 {
		return "unknown key (this connector takes none)"
	}
	msg := "unknown key"
	if best := closest(key, known); best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg + " (known: " + strings.Join(known, ", ") + ")"
}

// setField parses raw into f, answering a problem ("" when it parsed).
func setField(f reflect.Value, raw string) string {
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		if problem := setField(p.Elem(), raw); problem != "" {
			return problem
		}
		f.Set(p)
		return ""
	}
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Sprintf("%q is not a duration (such as 30s or 2m)", raw)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(raw)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Sprintf("%q is not true or false", raw)
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Sprintf("%q is not an integer", raw)
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Sprintf("%q is not a number", raw)
		}
		f.SetFloat(x)
	default:
		panic(fmt.Sprintf("connectors.DecodeSettings: unsupported field type %s", f.Type()))
	}
	return ""
}

// closest returns the candidate nearest to key within a few edits, or "".
func closest(key string, candidates []string) string {
	best, bestDist := "", len(key)/3+2
	for _, c := range candidates {
		if d := mapping.EditDistance(strings.ToLower(key), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// ConfigError is a connector's refusal of its settings, from its
// Registration.New. It names the connector, so callers need not.
type ConfigError struct {
	Type, Name string
	Err        error
}

// NewConfigError wraps err as the settings error of connector name of
// type typ.
func NewConfigError(typ, name string, err error) error {
	return &ConfigError{Type: typ, Name: name, Err: err}
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s connector %q: %v", e.Type, e.Name, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }
