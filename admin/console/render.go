package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/admin"
)

// parsePages parses each page with the shared layout.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"ago":       ago,
		"clock":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"duration":  duration,
		"seconds":   func(s float64) string { return duration(time.Duration(s * float64(time.Second))) },
		"rate":      rateText,
		"sparkline": sparkline,
		"healthClass": func(h string) string {
			return map[string]string{admin.HealthFailing: "bad", admin.HealthRetrying: "warn", admin.HealthDead: "warn"}[h]
		},
		"short": func(s string, n int) string {
			if r := []rune(s); len(r) > n {
				return string(r[:n-1]) + "…"
			}
			return s
		},
		"add":     func(a, b int) int { return a + b },
		"summary": summary,
		"join":    strings.Join,
		"lower":   strings.ToLower,
	}
	pages := map[string]*template.Template{}
	for _, p := range []string{"signin", "overview", "deadletters", "lookup", "activity", "import", "error"} {
		pages[p] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/events.html", "templates/"+p+".html"))
	}
	return pages
}

// ago is a short relative time ("3m ago"); zero is "never".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d >= 0 && d < time.Second {
		return "just now"
	}
	if d < 0 {
		return "in " + duration(-d)
	}
	return duration(d) + " ago"
}

func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func rateText(perSecond float64) string {
	if perSecond <= 0 {
		return "unlimited"
	}
	if perSecond < 1 {
		return fmt.Sprintf("%.0f / min", perSecond*60)
	}
	return fmt.Sprintf("%g / s", perSecond)
}

// sparkline draws deliveries (and failures below them) per minute as
// bars in a small inline SVG. It writes numbers only, so it is safe HTML.
func sparkline(delivered, failed []int) template.HTML {
	const w, h, bar = 180, 28, 3
	peak := 1
	for i := range delivered {
		peak = max(peak, delivered[i], failed[i])
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="deliveries and failures per minute, last hour">`, w, h, w, h)
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" class="axis"/>`, h/2, w, h/2)
	for i := range delivered {
		x := i * bar
		if n := delivered[i]; n > 0 {
			bh := max(1, n*(h/2)/peak)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" class="ok"/>`, x, h/2-bh, bar-1, bh)
		}
		if n := failed[i]; n > 0 {
			bh := max(1, n*(h/2)/peak)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" class="fail"/>`, x, h/2, bar-1, bh)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// summary is the overview's one line: how many connectors are in each
// state, worst first, and the dead letters waiting in all.
func summary(views []admin.ConnectorView) string {
	n := map[string]int{}
	dead := 0
	for _, v := range views {
		n[v.Health]++
		dead += v.DeadLetters
	}
	var parts []string
	for _, h := range []string{admin.HealthFailing, admin.HealthRetrying, admin.HealthDead, admin.HealthDelivering} {
		if n[h] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[h], h))
		}
	}
	s := strings.Join(parts, " · ")
	if dead > 0 {
		s += fmt.Sprintf(" — %d dead letters in all", dead)
	}
	return s
}
