package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/admin"
)

func init() {
	var f adminFlags
	var limit int
	history := &cobra.Command{
		Use:   "history USERNAME|EMAIL|ID|GROUP",
		Short: "Show one resource's activity: each SCIM write with what every connector did about it, and what each target holds now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return c.history(cmd.Context(), cmd.OutOrStdout(), args[0], limit, f.json)
		},
	}
	history.Flags().IntVar(&limit, "limit", 200, "at most this many of the newest events")
	var af struct {
		failed           bool
		connector, since string
		kind             string
		limit            int
	}
	recent := &cobra.Command{
		Use:   "activity",
		Short: "Show recent activity of every resource, newest first (--failed, --connector, --since)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(af.limit)}}
			if af.failed {
				q.Set("outcome", activity.OutcomeFailed)
			}
			for k, v := range map[string]string{"connector": af.connector, "since": af.since, "kind": af.kind} {
				if v != "" {
					q.Set(k, v)
				}
			}
			return c.recent(cmd.Context(), cmd.OutOrStdout(), q, f.json)
		},
	}
	recent.Flags().BoolVar(&af.failed, "failed", false, "only failures (retries, dead letters, failed writes)")
	recent.Flags().StringVar(&af.connector, "connector", "", "only this connector's events")
	recent.Flags().StringVar(&af.since, "since", "", `only events since this long ago ("1h") or this RFC 3339 time`)
	recent.Flags().StringVar(&af.kind, "kind", "", "only events of this kind (scim, queued, delivered, retry, dead, ...)")
	recent.Flags().IntVar(&af.limit, "limit", 50, "at most this many events")
	for _, c := range []*cobra.Command{history, recent} {
		c.PersistentFlags().StringVar(&f.server, "server", "", "admin API base URL (default $SCIMBRIDGE_ADMIN_URL, else http://<listen> from --config)")
		c.PersistentFlags().StringVar(&f.token, "admin-token", "", "admin token (default $SCIMBRIDGE_ADMIN_TOKEN, else admin_token or data_dir/admin-token from --config)")
		c.PersistentFlags().BoolVar(&f.json, "json", false, "print the API's JSON")
		rootCmd.AddCommand(c)
	}
}

// history prints a resource's timeline (oldest first, so it reads as a
// story) and the lookup's target states.
func (c *adminClient) history(ctx context.Context, w io.Writer, q string, limit int, asJSON bool) error {
	var events []activity.Event
	cursor := ""
	for len(events) < limit {
		var page activity.Page
		path := "/admin/activity?resource=" + url.QueryEscape(q) + "&limit=" + strconv.Itoa(min(limit-len(events), 500))
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := c.do(ctx, http.MethodGet, path, &page); err != nil {
			return err
		}
		events = append(events, page.Events...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	var found struct {
		Resources []admin.Resource `json:"resources"`
	}
	if err := c.do(ctx, http.MethodGet, "/admin/lookup?q="+url.QueryEscape(q), &found); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"events": nonNil(events), "resources": nonNil(found.Resources)})
	}
	if len(events) == 0 && len(found.Resources) == 0 {
		fmt.Fprintf(w, "nothing recorded for %q\n", q)
		return nil
	}
	slices.Reverse(events)
	for _, line := range historyLines(events, time.Now()) {
		fmt.Fprintln(w, line)
	}
	for _, r := range found.Resources {
		fmt.Fprintf(w, "\n%s %s (%s), id %s — in the targets now:\n", r.Type, r.Name, r.MatchedBy, r.ID)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONNECTOR\tTARGET ID\tIN SCOPE\tSTATE")
		for _, t := range r.Targets {
			fmt.Fprintf(tw, "  %s\t%s\t%v\t%s\n", t.Connector, orDash(t.TargetID), t.InScope, t.State)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// historyLines renders events (oldest first) one line per SCIM write or
// operator action, followed by what each connector did about it:
//
//	10:01:02 token #1 PATCH active=false → 204 · webex delivered 120 ms · scc retry in 30 s: 503 …
//
// A connector's "queued" gives way to its outcome on the same line.
func historyLines(events []activity.Event, now time.Time) []string {
	var lines []string
	var head string
	var segs []string
	var segConn []string // the connector of each segment ("" for none)
	flush := func() {
		if head != "" || len(segs) > 0 {
			lines = append(lines, strings.Join(append([]string{head}, segs...), " · "))
		}
		head, segs, segConn = "", nil, nil
	}
	multi := map[string]bool{}
	for _, ev := range events {
		multi[ev.Type+"/"+ev.ID] = true
	}
	for _, ev := range events {
		if ev.Connector == "" {
			flush()
			head = stamp(ev.Time, now) + " " + eventSummary(ev, len(multi) > 1)
			continue
		}
		if head == "" && len(segs) == 0 {
			head = stamp(ev.Time, now)
		}
		s := ev.Connector + " " + eventSummary(ev, false)
		if i := slices.Index(segConn, ev.Connector); i >= 0 && strings.HasPrefix(segs[i], ev.Connector+" queued") {
			segs[i] = s
			continue
		}
		segs, segConn = append(segs, s), append(segConn, ev.Connector)
	}
	flush()
	return lines
}

func stamp(t, now time.Time) string {
	t = t.Local()
	if y, m, d := t.Date(); y == now.Local().Year() && m == now.Local().Month() && d == now.Local().Day() {
		return t.Format("15:04:05")
	}
	return t.Format("Jan 02 15:04:05")
}

// eventSummary is one event in a few words (without its connector).
func eventSummary(ev activity.Event, withResource bool) string {
	var s string
	switch ev.Kind {
	case activity.KindSCIM:
		s = strings.TrimSpace(orDash(ev.Client) + " " + ev.Method)
		if withResource || ev.Method == http.MethodPost {
			s += " " + ev.Type + " " + ev.Name
		}
		if ch := changesText(ev.Changes); ch != "" {
			s += " " + ch
		} else if ev.Detail != "" && !strings.HasPrefix(ev.Detail, "members") {
			s += " (" + ev.Detail + ")"
		}
		s += " → " + strconv.Itoa(ev.Status)
	case activity.KindQueued:
		s = "queued " + ev.Op
		if ev.Detail != "" {
			s += " (" + ev.Detail + ")"
		}
	case activity.KindDelivered:
		s = "delivered"
		if ev.Op == "delete" {
			s = "deleted"
		}
		if ev.Duration > 0 {
			s += " " + ms(ev.Duration)
		} else if ev.Detail != "" {
			s += " (" + ev.Detail + ")"
		}
	case activity.KindRetry:
		s = "retry"
		if !ev.NextAttempt.IsZero() {
			s += " in " + ev.NextAttempt.Sub(ev.Time).Round(time.Second).String()
		}
		s += ": " + short(ev.Detail, 80)
	case activity.KindDead:
		s = "dead-lettered: " + short(ev.Detail, 80)
	case activity.KindOperator:
		s = orDash(ev.Client) + " " + ev.Op
		if ev.Detail != "" {
			s += ": " + ev.Detail
		}
	default:
		s = ev.Kind
		if ev.Client != "" {
			s += " by " + ev.Client
		}
		if ev.Detail != "" {
			s += ": " + short(ev.Detail, 80)
		}
	}
	return s
}

func ms(d time.Duration) string {
	if d < time.Millisecond {
		return "<1 ms"
	}
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return d.Round(10 * time.Millisecond).String()
}

// changesText is "active=false name.givenName=Ann …", at most five.
func changesText(ch map[string]any) string {
	keys := make([]string, 0, len(ch))
	for k := range ch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if len(parts) == 5 {
			parts = append(parts, fmt.Sprintf("(+%d more)", len(keys)-5))
			break
		}
		v := ch[k]
		if k == "members" {
			m, _ := v.(map[string]any)
			parts = append(parts, fmt.Sprintf("members +%v −%v", num(m["added"]), num(m["removed"])))
			continue
		}
		var text string
		switch x := v.(type) {
		case nil:
			text = "(removed)"
		case string:
			text = x
		default:
			b, _ := json.Marshal(x)
			text = string(b)
		}
		parts = append(parts, k+"="+short(text, 40))
	}
	return strings.Join(parts, " ")
}

func num(v any) any {
	if v == nil {
		return 0
	}
	return v
}

func short(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// recent prints the recent feed, newest first.
func (c *adminClient) recent(ctx context.Context, w io.Writer, q url.Values, asJSON bool) error {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/admin/activity?"+q.Encode(), &raw); err != nil {
		return err
	}
	if asJSON {
		_, err := w.Write(raw)
		return err
	}
	var page activity.Page
	if err := json.Unmarshal(raw, &page); err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tRESOURCE\tCONNECTOR\tEVENT")
	for _, ev := range page.Events {
		res := ev.Type + " " + ev.ID
		if ev.Name != "" {
			res = ev.Type + " " + ev.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", stamp(ev.Time, now), res, orDash(ev.Connector), eventSummary(ev, false))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintln(w, "(more: raise --limit or narrow with --since)")
	}
	return nil
}
