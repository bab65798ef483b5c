package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/store"
)

// Service is what the admin surface does, one method per question. The
// JSON API and the console (admin/console) both call it, so a page and an
// API answer can never disagree.
type Service struct {
	Dispatcher Dispatcher
	// DB, when set, serves the resource lookup.
	DB *store.DB
	// Activity, when set, serves timelines and the recent feed; without
	// it they answer activity.ErrUnavailable.
	Activity activity.Source
	// Rates, when set, gives the overview its per-minute counts.
	Rates *Rates
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Connector health, worst first.
const (
	HealthFailing    = "failing"
	HealthRetrying   = "retrying"
	HealthDead       = "dead letters waiting"
	HealthDelivering = "delivering"
)

// failingAfter is how long a connector may go on failing with work queued
// before "retrying" becomes "failing".
const failingAfter = 5 * time.Minute

// Health sums a connector's status up in one word:
//   - failing: its latest outcome is an error and either a change was
//     dead-lettered or it has delivered nothing for failingAfter with work queued;
//   - retrying: its latest outcome is an error (or the target asked it to
//     pause) and the change is queued again;
//   - dead letters waiting: delivering again, but dead letters remain;
//   - delivering: otherwise (idle included).
func Health(s connectors.Status, now time.Time) string {
	erring := !s.LastErrorAt.IsZero() && s.LastErrorAt.After(s.LastSuccess)
	stuckSince := s.LastSuccess
	if s.OldestEntryAt.After(stuckSince) {
		stuckSince = s.OldestEntryAt
	}
	switch {
	case erring && s.DeadLetters > 0,
		erring && s.QueueDepth > 0 && now.Sub(stuckSince) > failingAfter:
		return HealthFailing
	case erring && s.QueueDepth > 0, !s.PausedUntil.IsZero() && s.PausedUntil.After(now):
		return HealthRetrying
	case s.DeadLetters > 0:
		return HealthDead
	}
	return HealthDelivering
}

// ConnectorView is one connector on the overview.
type ConnectorView struct {
	connectors.Status
	Health string `json:"health"`
	// Per minute over the last hour, oldest first (empty without Rates).
	Delivered []int `json:"deliveredPerMinute,omitempty"`
	Failed    []int `json:"failedPerMinute,omitempty"`
	// Sums of the above.
	DeliveredHour int `json:"deliveredLastHour"`
	FailedHour    int `json:"failedLastHour"`
}

// Overview is every connector's status with its health and, with Rates,
// its deliveries and failures per minute over the last hour.
func (s *Service) Overview() ([]ConnectorView, error) {
	st, err := s.Dispatcher.Status()
	if err != nil {
		return nil, err
	}
	now := s.now()
	if s.Rates != nil {
		s.Rates.Sample(now)
	}
	out := make([]ConnectorView, len(st))
	for i, c := range st {
		v := ConnectorView{Status: c, Health: Health(c, now)}
		if s.Rates != nil {
			v.Delivered, v.Failed = s.Rates.LastHour(c.Name, now)
			for j := range v.Delivered {
				v.DeliveredHour += v.Delivered[j]
				v.FailedHour += v.Failed[j]
			}
		}
		out[i] = v
	}
	return out, nil
}

// DeadLetter is a dead letter with its connector and, while the resource
// is stored, its userName or displayName.
type DeadLetter struct {
	Connector string `json:"connector"`
	Name      string `json:"name,omitempty"`
	store.DeadLetter
}

// DeadLetterPage is a page of dead letters, newest first.
type DeadLetterPage struct {
	Letters []DeadLetter `json:"deadLetters"`
	Total   int          `json:"total"`
	Offset  int          `json:"offset"`
	Limit   int          `json:"limit"`
}

// DeadLetters pages through the dead letters of one connector (or of all
// when connector is ""), newest first.
func (s *Service) DeadLetters(connector string, offset, limit int) (DeadLetterPage, error) {
	names := s.Dispatcher.Connectors()
	if connector != "" {
		names = []string{connector}
	}
	var all []DeadLetter
	for _, n := range names {
		dl, err := s.Dispatcher.DeadLetters(n)
		if err != nil {
			return DeadLetterPage{}, err
		}
		for _, d := range dl {
			all = append(all, DeadLetter{Connector: n, DeadLetter: d})
		}
	}
	slices.SortStableFunc(all, func(a, b DeadLetter) int {
		return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.Connector, b.Connector), cmp.Compare(b.ID, a.ID))
	})
	limit = min(max(limit, 1), 500)
	offset = min(max(offset, 0), len(all))
	page := DeadLetterPage{Letters: all[offset:min(offset+limit, len(all))], Total: len(all), Offset: offset, Limit: limit}
	return page, s.nameDeadLetters(page.Letters)
}

// nameDeadLetters fills in the names of the page's resources (one read).
func (s *Service) nameDeadLetters(letters []DeadLetter) error {
	if s.DB == nil || len(letters) == 0 {
		return nil
	}
	return s.DB.View(func(tx *store.Tx) error {
		for i := range letters {
			doc, _, err := tx.GetResource(letters[i].Type, letters[i].SCIMID)
			if err != nil {
				continue // deleted since: the id is all there is
			}
			var n struct{ UserName, DisplayName string }
			if json.Unmarshal(doc, &n) == nil {
				letters[i].Name = cmp.Or(n.UserName, n.DisplayName)
			}
		}
		return nil
	})
}

// Timeline is one resource's events (see activity.Source.Timeline).
func (s *Service) Timeline(ctx context.Context, resource, cursor string, limit int) (activity.Page, error) {
	if s.Activity == nil {
		return activity.Page{}, activity.ErrUnavailable
	}
	return s.Activity.Timeline(ctx, resource, cursor, min(max(limit, 1), 500))
}

// Recent is the recent feed (see activity.Source.Recent).
func (s *Service) Recent(ctx context.Context, f activity.Filter) (activity.Page, error) {
	if s.Activity == nil {
		return activity.Page{}, activity.ErrUnavailable
	}
	f.Limit = min(max(f.Limit, 1), 500)
	return s.Activity.Recent(ctx, f)
}
