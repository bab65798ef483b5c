package hrimport

import (
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"
)

// NewProgress shows a progress bar on a terminal, plain lines otherwise
// (a log, CI): one every tenth of the work.
func NewProgress(w io.Writer, terminal bool) Progress {
	if terminal {
		return &barProgress{w: w}
	}
	return &lineProgress{w: w}
}

type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(total int) {
	if p.bar != nil {
		p.bar.ChangeMax(total)
		return
	}
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("writing"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("ops"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *barProgress) Add(n int) {
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

func (p *barProgress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

type lineProgress struct {
	w             io.Writer
	total, done   int
	lastReportedP int
}

func (p *lineProgress) Start(total int) {
	p.total = total
	if total > 0 {
		p.lastReportedP = p.done * 100 / total
	}
}

func (p *lineProgress) Add(n int) {
	p.done += n
	if p.total <= 0 {
		return
	}
	pct := p.done * 100 / p.total
	if pct/10 > p.lastReportedP/10 || p.done == p.total && pct != p.lastReportedP {
		p.lastReportedP = pct
		fmt.Fprintf(p.w, "progress: %d/%d writes (%d%%)\n", p.done, p.total, pct)
	}
}

func (p *lineProgress) Finish() {}
