package activitylog

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/store"
)

var _ activity.Source = (*Log)(nil)

const (
	// maxResources bounds how many resources one timeline query merges
	// (a name reused by several users over time, a shared email).
	maxResources = 10
	// maxScan bounds how many events one page of a filtered recent feed
	// reads; a page that finds fewer matches still offers Next.
	maxScan  = 20_000
	maxLimit = 500
)

func parseCursor(c string) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(c, 10, 64)
	if err != nil || n == 0 {
		return 0, activity.ErrBadCursor
	}
	return n, nil
}

func cursorOf(seq uint64) string { return strconv.FormatUint(seq, 10) }

// Resources resolves what a timeline query names: a SCIM id, a current
// userName, email or group displayName, or one a resource had in its
// events (before a rename or delete). At most maxResources.
func Resources(tx *store.Tx, q string) [][2]string {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	var out [][2]string
	seen := map[[2]string]bool{}
	add := func(typ, id string) {
		k := [2]string{typ, id}
		if !seen[k] && len(out) < maxResources {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, typ := range []string{store.TypeUser, store.TypeGroup} {
		if tx.ResourceExists(typ, q) || tx.HasActivity(typ, q) {
			add(typ, q)
		}
	}
	if id := tx.LookupUserName(q); id != "" {
		add(store.TypeUser, id)
	}
	for _, id := range tx.LookupIndex(store.IndexEmail, store.TypeUser, q) {
		add(store.TypeUser, id)
	}
	for _, id := range tx.LookupIndex(store.IndexDisplayName, store.TypeGroup, q) {
		add(store.TypeGroup, id)
	}
	for _, r := range tx.ActivityResources(q, maxResources) {
		add(r[0], r[1])
	}
	return out
}

// Timeline implements activity.Source: the events of every resource the
// query names, newest first. Each costs its own events, never a scan.
func (l *Log) Timeline(ctx context.Context, resource, cursor string, limit int) (activity.Page, error) {
	if l == nil {
		return activity.Page{}, activity.ErrUnavailable
	}
	before, err := parseCursor(cursor)
	if err != nil {
		return activity.Page{}, err
	}
	limit = min(max(limit, 1), maxLimit)
	var recs []store.ActivityRecord
	var derr error
	var events []activity.Event
	err = l.db.View(func(tx *store.Tx) error {
		for _, r := range Resources(tx, resource) {
			n := 0
			if err := tx.ActivityOf(r[0], r[1], before, func(rec store.ActivityRecord) bool {
				recs = append(recs, rec)
				n++
				return n <= limit
			}); err != nil {
				return err
			}
		}
		slices.SortFunc(recs, func(a, b store.ActivityRecord) int { return cmp.Compare(b.Seq, a.Seq) })
		for _, rec := range recs[:min(len(recs), limit)] {
			ev, err := decode(rec)
			if err != nil {
				derr = err
				return nil
			}
			events = append(events, ev)
		}
		return nil
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return activity.Page{}, err
	}
	p := activity.Page{Events: events}
	if len(recs) > limit {
		p.Next = cursorOf(recs[limit-1].Seq)
	}
	return p, nil
}

// Recent implements activity.Source: every resource's events, newest
// first, filtered. A page reads at most maxScan events; when the filter
// leaves fewer than Limit among them, Next continues the search.
func (l *Log) Recent(ctx context.Context, f activity.Filter) (activity.Page, error) {
	if l == nil {
		return activity.Page{}, activity.ErrUnavailable
	}
	before, err := parseCursor(f.Cursor)
	if err != nil {
		return activity.Page{}, err
	}
	limit := min(max(f.Limit, 1), maxLimit)
	var p activity.Page
	var derr error
	err = l.db.View(func(tx *store.Tx) error {
		scanned := 0
		var last uint64
		return tx.RecentActivity(before, func(rec store.ActivityRecord) bool {
			if !f.Since.IsZero() && rec.Time.Before(f.Since) {
				last = 0
				return false
			}
			if len(p.Events) == limit {
				p.Next = cursorOf(last)
				return false
			}
			if scanned == maxScan {
				p.Next = cursorOf(last)
				return false
			}
			scanned++
			last = rec.Seq
			ev, err := decode(rec)
			if err != nil {
				derr = err
				return false
			}
			if matches(ev, f) {
				p.Events = append(p.Events, ev)
			}
			return ctx.Err() == nil
		})
	})
	if err == nil {
		err = cmp.Or(derr, ctx.Err())
	}
	return p, err
}

func matches(ev activity.Event, f activity.Filter) bool {
	return (f.Connector == "" || ev.Connector == f.Connector) &&
		(f.Kind == "" || ev.Kind == f.Kind) &&
		(!f.Failed || ev.Failed())
}
