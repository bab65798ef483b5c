package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/hrimport"
)

// ImportOptions enable the Import page: an HR file uploaded, checked with
// a dry run, then applied in the background through the SCIM endpoint.
type ImportOptions struct {
	// Client returns a SCIM client of this bridge that authenticates as the
	// built-in client "console" (never with the admin token). A fresh
	// client per run: its request counters are the run's.
	Client func() *hrimport.Client
	// Config returns config.yaml's import section (column names,
	// transforms, owned groups); nil is the zero Config.
	Config func() hrimport.Config
	// MaxUpload bounds the uploaded file (0: DefaultMaxUpload). The file
	// is kept in memory until it is applied or replaced.
	MaxUpload int64
}

// DefaultMaxUpload is the largest file the Import page takes by default
// (about 100,000 HR rows).
const DefaultMaxUpload = 32 << 20

// maxPreviewRows bounds the outcomes a page shows (problems first); the
// downloadable report has every row.
const maxPreviewRows = 1000

// Import job states.
const (
	stateChecking = "checking" // the dry run is going
	statePreview  = "preview"  // checked, waiting for Apply
	stateApplying = "applying"
	stateApplied  = "applied"
)

// importJob is the console's one import: the uploaded file, its dry run
// and, once applied, the run's progress and outcome. One at a time: a new
// upload replaces it unless it is being checked or applied.
type importJob struct {
	id            string
	fileName      string
	size          int
	data          []byte // dropped once applied or replaced
	match         string
	roster        bool
	maxDeactivate string

	state             string
	preview, result   *importResult
	started, finished time.Time
	total, done       int // writes planned and answered (apply)
}

// importResult is one hrimport.Run: its summary, report and error.
type importResult struct {
	Summary  hrimport.Summary
	Report   []byte // the report CSV
	Outcomes []outcomeRow
	Total    int // outcomes in the report (the page shows at most maxPreviewRows)
	Err      string
}

type outcomeRow struct {
	Row, Key, Action, Column, Reason string
	Changes                          []string
}

type imports struct {
	mu  sync.Mutex
	job *importJob
}

// importView is a consistent copy of the job for a template.
type importView struct {
	On                   bool
	MaxUploadMB          int64
	ID, FileName, State  string
	Size                 int
	Match, MaxDeactivate string
	Roster               bool
	Preview, Result      *importResult
	Total, Done, Percent int
	Started, Finished    time.Time
	CanApply, Running    bool
}

func (c *console) maxUpload() int64 {
	if c.opts.Import != nil && c.opts.Import.MaxUpload > 0 {
		return c.opts.Import.MaxUpload
	}
	return DefaultMaxUpload
}

func (c *console) importView() importView {
	v := importView{On: c.opts.Import != nil, MaxUploadMB: max(1, c.maxUpload()>>20)}
	c.imports.mu.Lock()
	defer c.imports.mu.Unlock()
	j := c.imports.job
	if j == nil {
		return v
	}
	v.ID, v.FileName, v.State, v.Size = j.id, j.fileName, j.state, j.size
	v.Match, v.MaxDeactivate, v.Roster = j.match, j.maxDeactivate, j.roster
	v.Preview, v.Result = j.preview, j.result
	v.Total, v.Done = j.total, j.done
	if j.total > 0 {
		v.Percent = min(100, j.done*100/j.total)
	}
	v.Started, v.Finished = j.started, j.finished
	v.CanApply = j.state == statePreview && j.preview != nil && j.preview.Err == ""
	v.Running = j.state == stateApplying || j.state == stateChecking
	return v
}

func (c *console) importPage(w http.ResponseWriter, r *http.Request, q request) {
	c.renderImport(w, r, q, http.StatusOK, "", "")
}

func (c *console) renderImport(w http.ResponseWriter, r *http.Request, q request, status int, errMsg, notice string) {
	d := pageData{Title: "Import", Nav: "import", Data: c.importView(), Error: errMsg, Notice: notice}
	if notice == "" {
		switch r.URL.Query().Get("done") {
		case "started":
			d.Notice = "Import started: progress below."
		case "discarded":
			d.Notice = "Upload discarded."
		}
	}
	c.render(w, status, "import", q.ses, r, d)
}

// upload takes the multipart form (the file and the options) and starts
// its dry run; the page shows the preview when it is done.
func (c *console) upload(w http.ResponseWriter, r *http.Request, q request) {
	if c.opts.Import == nil {
		c.renderImport(w, r, q, http.StatusNotFound, "Imports are not enabled on this bridge.", "")
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		c.renderImport(w, r, q, http.StatusBadRequest, "Choose a CSV file to upload: nothing was changed.", "")
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, c.maxUpload()+1))
	f.Close()
	if err != nil || int64(len(data)) > c.maxUpload() {
		c.renderImport(w, r, q, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %d MiB: nothing was changed.", c.maxUpload()>>20), "")
		return
	}
	if len(bytes.TrimSpace(data)) == 0 {
		c.renderImport(w, r, q, http.StatusBadRequest, "The file is empty: nothing was changed.", "")
		return
	}
	job := &importJob{id: randomString(), fileName: hdr.Filename, size: len(data), data: data,
		match:         strings.TrimSpace(r.PostForm.Get("match")),
		roster:        r.PostForm.Get("roster") != "",
		maxDeactivate: strings.TrimSpace(r.PostForm.Get("max_deactivate")),
		state:         stateChecking}
	c.imports.mu.Lock()
	if cur := c.imports.job; cur != nil && (cur.state == stateChecking || cur.state == stateApplying) {
		c.imports.mu.Unlock()
		c.renderImport(w, r, q, http.StatusConflict, "An import is already running: wait for it to finish, then upload again. Nothing was changed.", "")
		return
	}
	c.imports.job = job
	c.imports.mu.Unlock()

	// In the background too: a large file's dry run can outlast the
	// server's write timeout. The page refreshes until the preview is in.
	go func() {
		res := c.runImport(context.Background(), job, true, nil)
		c.imports.mu.Lock()
		job.preview, job.state = res, statePreview
		c.imports.mu.Unlock()
		c.opts.Log.Info().Str("file", job.fileName).Int("bytes", job.size).Str("summary", res.Summary.String()).Msg("console: import checked (dry run)")
	}()
	http.Redirect(w, r, "/admin/ui/import", http.StatusSeeOther)
}

// apply starts the checked import in the background.
func (c *console) apply(w http.ResponseWriter, r *http.Request, q request) {
	id := r.PostForm.Get("id")
	c.imports.mu.Lock()
	j := c.imports.job
	var refuse string
	switch {
	case j == nil || j.id != id:
		refuse = "This preview is no longer current (another file was uploaded or it was discarded): nothing was changed."
	case j.state == stateApplying || j.state == stateChecking:
		refuse = "An import is already running: nothing was changed."
	case j.state == stateApplied:
		refuse = "This file was already applied: upload it again to run it once more."
	case j.preview == nil || j.preview.Err != "":
		refuse = "The dry run found a problem with the whole file: fix it and upload again. Nothing was changed."
	}
	if refuse != "" {
		c.imports.mu.Unlock()
		c.renderImport(w, r, q, http.StatusConflict, refuse, "")
		return
	}
	j.state, j.started = stateApplying, c.opts.Now()
	c.imports.mu.Unlock()
	c.opts.Log.Info().Str("file", j.fileName).Msg("console: import started")
	go func() {
		// The run outlives the request that started it.
		res := c.runImport(context.Background(), j, false, &jobProgress{c: &c.imports, j: j})
		c.imports.mu.Lock()
		j.result, j.state, j.finished, j.data = res, stateApplied, c.opts.Now(), nil
		c.imports.mu.Unlock()
		ev := c.opts.Log.Info()
		if res.Err != "" || !res.Summary.OK() {
			ev = c.opts.Log.Warn().Str("error", res.Err)
		}
		ev.Str("file", j.fileName).Str("summary", res.Summary.String()).Msg("console: import finished")
	}()
	http.Redirect(w, r, "/admin/ui/import?done=started", http.StatusSeeOther)
}

// discard drops the uploaded file and its preview.
func (c *console) discard(w http.ResponseWriter, r *http.Request, q request) {
	c.imports.mu.Lock()
	j := c.imports.job
	if j != nil && j.id == r.PostForm.Get("id") && j.state != stateApplying && j.state != stateChecking {
		c.imports.job = nil
	}
	c.imports.mu.Unlock()
	http.Redirect(w, r, "/admin/ui/import?done=discarded", http.StatusSeeOther)
}

// report downloads the report CSV of the preview (kind=preview) or of
// the applied run.
func (c *console) report(w http.ResponseWriter, r *http.Request, q request) {
	qs := r.URL.Query()
	c.imports.mu.Lock()
	var res *importResult
	if j := c.imports.job; j != nil && j.id == qs.Get("id") {
		res = j.result
		if qs.Get("kind") == "preview" {
			res = j.preview
		}
	}
	c.imports.mu.Unlock()
	if res == nil {
		c.renderImport(w, r, q, http.StatusNotFound, "No such report: it belongs to an upload that was replaced or discarded.", "")
		return
	}
	name := "import-report.csv"
	if qs.Get("kind") == "preview" {
		name = "import-preview.csv"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(res.Report)
}

// runImport runs hrimport over the job's file as the console's SCIM
// client; the error of a run that stopped as a whole goes into the result.
func (c *console) runImport(ctx context.Context, j *importJob, dryRun bool, p hrimport.Progress) (res *importResult) {
	var cfg hrimport.Config
	if c.opts.Import.Config != nil {
		cfg = c.opts.Import.Config()
	}
	var report bytes.Buffer
	opts := hrimport.Options{Config: cfg, Match: j.match, DryRun: dryRun, Roster: j.roster,
		MaxDeactivate: j.maxDeactivate, Report: &report}
	if p != nil {
		opts.Progress = p
	}
	data := j.data // never changed while a run holds it
	defer func() {
		// A bug in the importer must not take the bridge down with it.
		if v := recover(); v != nil {
			c.opts.Log.Error().Interface("panic", v).Msg("console: import")
			res = &importResult{Err: "internal error in the importer; see the server log"}
		}
	}()
	sum, err := hrimport.Run(ctx, c.opts.Import.Client(), func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, opts)
	res = &importResult{Report: report.Bytes()}
	if sum != nil {
		res.Summary = *sum
	}
	if err != nil {
		res.Err = err.Error()
		if errors.Is(err, hrimport.ErrTooManyDeactivations) {
			res.Err += ` (here: raise "at most … deactivated" and upload again)`
		}
	}
	res.Outcomes, res.Total = outcomes(res.Report)
	return res
}

// outcomes reads the report back for the page: problems first, then the
// rest in file order, at most maxPreviewRows.
func outcomes(report []byte) ([]outcomeRow, int) {
	cr := csv.NewReader(bytes.NewReader(report))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil || len(recs) < 2 {
		return nil, 0
	}
	rows := make([]outcomeRow, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		if len(rec) < 6 {
			continue
		}
		o := outcomeRow{Row: rec[0], Key: rec[1], Action: rec[2], Column: rec[3], Reason: rec[4]}
		if rec[5] != "" {
			o.Changes = strings.Split(rec[5], "; ")
		}
		rows = append(rows, o)
	}
	rank := func(a string) int {
		switch a {
		case "rejected", "failed":
			return 0
		case "unchanged":
			return 2
		}
		return 1
	}
	sort.SliceStable(rows, func(a, b int) bool { return rank(rows[a].Action) < rank(rows[b].Action) })
	total := len(rows)
	if total > maxPreviewRows {
		rows = rows[:maxPreviewRows:maxPreviewRows]
	}
	return rows, total
}

// jobProgress is hrimport's Progress for the page.
type jobProgress struct {
	c *imports
	j *importJob
}

func (p *jobProgress) Start(total int) {
	p.c.mu.Lock()
	p.j.total = total
	p.c.mu.Unlock()
}

func (p *jobProgress) Add(n int) {
	p.c.mu.Lock()
	p.j.done += n
	p.c.mu.Unlock()
}

func (p *jobProgress) Finish() {}
