// Package activitylog is the provisioning activity log: the events SCIM
// writes, deliveries and operators append inside their own transactions
// (store's act/* buckets), the reader that answers timelines and the
// recent feed (activity.Source), and the background pruning that keeps it
// bounded by age and count and erases deleted users' values.
//
// A nil *Log is a disabled log: every method is a no-op (writers) or
// answers activity.ErrUnavailable (readers), so callers need no checks.
package activitylog

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/store"
)

// Defaults of the `activity:` section of config.yaml.
const (
	DefaultRetention              = 30 * 24 * time.Hour
	DefaultDeletedValuesRetention = 7 * 24 * time.Hour
	DefaultMaxEvents              = 1_000_000
)

// Options configure the log (config.yaml's `activity:` section).
type Options struct {
	// Enabled turns the log on (default true in config).
	Enabled *bool `yaml:"enabled"`
	// Retention is how long events are kept (default 30 days).
	Retention time.Duration `yaml:"retention"`
	// DeletedValuesRetention is how long a deleted user's events keep
	// their attribute values (default 7 days); the events stay.
	DeletedValuesRetention time.Duration `yaml:"deleted_values_retention"`
	// MaxEvents bounds the log's size (default 1,000,000).
	MaxEvents int `yaml:"max_events"`
	// Redact lists attributes whose values are never kept (the attribute
	// is named, its value replaced). password never is.
	Redact []string `yaml:"redact"`
}

// Validate refuses negative bounds (zero means the default).
func (o Options) Validate() error {
	if o.Retention < 0 || o.DeletedValuesRetention < 0 || o.MaxEvents < 0 {
		return errors.New("activity: retention, deleted_values_retention and max_events must not be negative")
	}
	for _, a := range o.Redact {
		if strings.TrimSpace(a) == "" {
			return errors.New("activity.redact: an attribute name must not be empty")
		}
	}
	return nil
}

// On reports whether the log is enabled (the default).
func (o Options) On() bool { return o.Enabled == nil || *o.Enabled }

// WithDefaults fills zero fields.
func (o Options) WithDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.DeletedValuesRetention <= 0 {
		o.DeletedValuesRetention = DefaultDeletedValuesRetention
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	return o
}

// Redacted is what a redacted attribute's value reads as.
const Redacted = "(redacted)"

// Log is the activity log of one data file.
type Log struct {
	db     *store.DB
	opts   Options
	redact map[string]bool // folded attribute names and paths
	now    func() time.Time
	m      *metrics
	idx    *indexer
	errs   *errorReporter
}

// New returns the log over db, or nil when opts disable it.
func New(db *store.DB, opts Options) *Log {
	if !opts.On() {
		return nil
	}
	l := &Log{db: db, opts: opts.WithDefaults(), redact: map[string]bool{"password": true}, now: time.Now, idx: newIndexer(), errs: newErrorReporter()}
	for _, a := range opts.Redact {
		l.redact[strings.ToLower(strings.TrimSpace(a))] = true
	}
	l.m = newMetrics()
	l.initGauges()
	return l
}

// SetClock replaces the clock (tests).
func (l *Log) SetClock(now func() time.Time) {
	if l != nil {
		l.now = now
	}
}

// Collectors are the log's Prometheus metrics.
func (l *Log) Collectors() []prometheus.Collector {
	if l == nil {
		return nil
	}
	return l.m.collectors()
}

// stored is an Event as the store keeps it: time, type and id live in
// the record's header, so the JSON leaves them out.
type stored struct {
	activity.Event
	Time *struct{} `json:"time,omitempty"`
	Type *struct{} `json:"type,omitempty"`
	ID   *struct{} `json:"id,omitempty"`
}

func encode(ev activity.Event) ([]byte, error) {
	b, err := json.Marshal(stored{Event: ev})
	if err != nil {
		return nil, fmt.Errorf("activity: encode event: %w", err)
	}
	return b, nil
}

func decode(r store.ActivityRecord) (activity.Event, error) {
	var s stored
	if err := json.Unmarshal(r.Data, &s); err != nil {
		return activity.Event{}, fmt.Errorf("activity: event %d: %w", r.Seq, err)
	}
	ev := s.Event
	ev.Time, ev.Type, ev.ID = r.Time, r.Type, r.ID
	return ev, nil
}

// Append adds ev to the log inside tx (the transaction of what it
// records), findable later by names too. ev.Time defaults to now.
func (l *Log) Append(tx *store.Tx, ev activity.Event, names ...string) error {
	if l == nil {
		return nil
	}
	if ev.Time.IsZero() {
		ev.Time = l.now()
	}
	data, err := encode(ev)
	if err != nil {
		return err
	}
	if err := tx.AppendActivity(&store.ActivityRecord{Time: ev.Time.UTC(), Type: ev.Type, ID: ev.ID, Names: names, Data: data}); err != nil {
		return err
	}
	l.idx.appended()
	return nil
}

// ScheduleErase notes that a user was deleted now: its events' values are
// erased after DeletedValuesRetention.
func (l *Log) ScheduleErase(tx *store.Tx, typ, id string) error {
	if l == nil {
		return nil
	}
	return tx.ScheduleActivityErase(typ, id, l.now())
}

// redacted reports whether the attribute at path (top-level name, or
// "name.sub" for a sub-attribute) must not keep its value.
func (l *Log) redacted(top, sub string) bool {
	t, s := strings.ToLower(top), strings.ToLower(sub)
	if l.redact[t] || (s != "" && (l.redact[s] || l.redact[t+"."+s])) {
		return true
	}
	// An extension's attribute may be listed as "urn:...:User:employeeNumber".
	return s != "" && l.redact[t+":"+s]
}

// TypeOperator files operator actions that name no resource (reconcile,
// verify, check-targets) under their action: Timeline("reconcile")
// lists them.
const TypeOperator = "Operator"

// Operator records an operator's action in a transaction of its own
// (the action ran in its own, or only read).
func (l *Log) Operator(client, action, detail string, err error) error {
	if l == nil {
		return nil
	}
	ev := activity.Event{Kind: activity.KindOperator, Outcome: activity.OutcomeOK, Client: client, Type: TypeOperator, ID: action, Op: action, Detail: detail}
	if err != nil {
		ev.Outcome, ev.Detail = activity.OutcomeFailed, strings.TrimPrefix(detail+"; "+err.Error(), "; ")
	}
	return l.db.Update(func(tx *store.Tx) error { return l.Append(tx, ev) })
}
