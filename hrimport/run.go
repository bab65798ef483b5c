package hrimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/scimbridge/scimbridge/scimpath"
)

// Options are one import run's flags.
type Options struct {
	Config        Config
	Match         string // SCIM path of the matching attribute; default Config.Match, else userName
	DryRun        bool   // print what would happen, write nothing
	Roster        bool   // deactivate users in scope missing from the file
	Scope         string // roster scope (SCIM filter); default: users with the importer's provenance mark
	MaxDeactivate string // "5%" (default) or a number of users
	Force         bool   // deactivate beyond MaxDeactivate
	Out           io.Writer
	Report        io.Writer // per-row outcome CSV; nil for none
	Progress      Progress  // nil for none
	Concurrency   int       // /Bulk requests in flight; default DefaultConcurrency
}

// ErrTooManyDeactivations is returned, before any write, when a roster
// would deactivate more users than allowed.
var ErrTooManyDeactivations = errors.New("roster would deactivate too many users")

// Summary counts a run's outcomes.
type Summary struct {
	Rows, Created, Updated, Unchanged, Rejected, Failed int
	Deactivated, DeactivateFailed                       int
	GroupsCreated, LinkRows                             int // LinkRows: rows whose memberships or manager changed
	Ignored                                             []string
	HeaderRow                                           int // the header's row: 1, or below a report's title lines
	Requests, Writes                                    int64
	DryRun                                              bool
}

// OK reports whether every row was applied or unchanged.
func (s *Summary) OK() bool { return s.Rejected == 0 && s.Failed == 0 && s.DeactivateFailed == 0 }

func (s *Summary) String() string {
	verb := "%d created, %d updated, %d unchanged, %d rejected, %d failed; %d deactivated"
	prefix := ""
	if s.DryRun {
		prefix = "dry run, nothing written: "
		verb = "%d to create, %d to update, %d unchanged, %d rejected, %d failed; %d to deactivate"
	}
	out := prefix + fmt.Sprintf("%d rows: "+verb, s.Rows, s.Created, s.Updated, s.Unchanged, s.Rejected, s.Failed, s.Deactivated)
	if s.DeactivateFailed > 0 {
		out += fmt.Sprintf(" (%d failed)", s.DeactivateFailed)
	}
	if s.LinkRows > 0 || s.GroupsCreated > 0 {
		out += fmt.Sprintf("; memberships or manager changed for %d rows, %d groups created", s.LinkRows, s.GroupsCreated)
	}
	return out + fmt.Sprintf("; %d SCIM requests (%d writes)", s.Requests, s.Writes)
}

// Opener opens the file; it is read twice (check, then apply), never held.
type Opener func() (io.ReadCloser, error)

// Run imports the file through the bridge c talks to.
func Run(ctx context.Context, c *Client, open Opener, opts Options) (*Summary, error) {
	im := &importer{ctx: ctx, c: c, open: open, opts: opts, managedBy: opts.Config.managedBy(),
		seen: map[string]int{}, rejected: map[int]*RowError{}, links: map[string]*link{},
		created: map[string]string{}, failedKeys: map[string]bool{}}
	if im.opts.Out == nil {
		im.opts.Out = io.Discard
	}
	im.sum.DryRun = opts.DryRun
	if opts.Report != nil {
		im.report = newReportWriter(opts.Report)
	}
	err := im.run()
	if im.report != nil {
		if ferr := im.report.flush(); err == nil {
			err = ferr
		}
	}
	im.sum.Requests, im.sum.Writes = c.Requests(), c.Writes()
	return &im.sum, err
}

type importer struct {
	ctx       context.Context
	c         *Client
	open      Opener
	opts      Options
	managedBy string

	rs    *scimpath.ResourceSchema
	match scimpath.Path
	m     *mapping
	st    *state

	seen       map[string]int    // key -> first row with it
	rejected   map[int]*RowError // row -> why, decided before any write
	links      map[string]*link  // key -> memberships and manager wanted
	created    map[string]string // key -> id of a user this run created
	failedKeys map[string]bool   // rows the server refused: no second step
	deactivate []*serverUser     // roster: in scope, not in the file
	writes     int               // planned write operations (progress total)
	lookups    bool              // the state came from per-key lookups, not paging
	report     *reportWriter
	emitMu     sync.Mutex // callbacks of parallel /Bulk requests emit too
	sum        Summary
}

// link is a row's second step: memberships and manager.
type link struct {
	row     int
	display string
	groups  []string // nil: the file has no groups column
	manager string   // manager's key; "" none
}

func (im *importer) run() error {
	if err := im.c.discover(im.ctx); err != nil {
		return err
	}
	rs, err := im.c.userSchema(im.ctx)
	if err != nil {
		return err
	}
	im.rs = rs
	match := im.opts.Match
	if match == "" {
		match = im.opts.Config.Match
	}
	if match == "" {
		match = "userName"
	}
	if im.match, err = scimpath.ParsePath(match); err != nil {
		return fmt.Errorf("--match %q: %w", match, err)
	}
	if a, ok := rs.Lookup(match); !ok || a.Type == scimpath.TypeComplex || (a.MultiValued && im.match.Filter == nil) {
		return fmt.Errorf("--match %q: not a single-valued attribute of the server's User schema (e.g. userName, externalId, emails[type eq \"work\"].value)", match)
	}
	if err := im.checkFile(); err != nil {
		return err
	}
	if im.opts.Roster {
		if err := im.planRoster(); err != nil {
			return err
		}
	}
	if im.opts.Progress != nil {
		im.opts.Progress.Start(im.writes + len(im.deactivate))
		defer im.opts.Progress.Finish()
	}
	if err := im.applyRows(); err != nil {
		return err
	}
	if err := im.applyLinks(); err != nil {
		return err
	}
	if err := im.applyDeactivations(); err != nil {
		return err
	}
	return nil
}

// rows reads the file and calls fn for each non-blank record with its
// parsed row or the reason it is rejected. The mapping is built on the
// first read.
func (im *importer) rows(fn func(num int, r *row, rerr *RowError) error) error {
	f, err := im.open()
	if err != nil {
		return err
	}
	defer f.Close()
	cr, err := newCSVReader(f)
	if err != nil {
		return err
	}
	if im.m == nil {
		if im.m, err = im.findHeader(cr); err != nil {
			return err
		}
		im.sum.Ignored = im.m.ignored
		if err := im.loadState(); err != nil {
			return err
		}
	}
	if err := cr.skipTo(im.sum.HeaderRow); err != nil {
		return err
	}
	for {
		if err := im.ctx.Err(); err != nil {
			return err
		}
		rec, num, err := cr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if num == 0 {
				return err
			}
			if err := fn(num, nil, &RowError{Row: num, Reason: "unreadable CSV: " + err.Error()}); err != nil {
				return err
			}
			continue
		}
		if blank(rec) {
			continue
		}
		r, rerr := im.m.parseRow(rec, num)
		if rerr == nil && len(rec) < im.m.width && cr.unterminated() {
			rerr = &RowError{Row: num, Key: r.keyDisplay, Reason: fmt.Sprintf("the file ends inside this row (%d of %d cells, no line end): is it cut off? Its missing cells would empty the user's attributes", len(rec), im.m.width)}
		}
		if err := fn(num, r, rerr); err != nil {
			return err
		}
	}
}

// maxHeaderRow is how far down a report's title lines may push the header.
const maxHeaderRow = 10

// findHeader builds the mapping from the first record that holds the
// --match column: Workday and SAP reports put a title, a date and a blank
// line above the header. Any other problem of a header is reported at
// once; so is a file whose first rows hold no key column (the first
// row's error, with the rows looked at).
func (im *importer) findHeader(cr *csvReader) (*mapping, error) {
	var first error
	for {
		m, err := newMapping(cr.header, im.opts.Config, im.match, im.rs)
		if err == nil {
			im.sum.HeaderRow = cr.row
			if cr.row > 1 {
				fmt.Fprintf(im.opts.Out, "header on row %d: rows 1-%d above it skipped (a report title?)\n", cr.row, cr.row-1)
			}
			return m, nil
		}
		if !errors.Is(err, errNoKeyColumn) {
			return nil, fmt.Errorf("header (row %d): %w", cr.row, err)
		}
		if first == nil {
			first = err
		}
		if cr.row >= maxHeaderRow {
			break
		}
		if err := cr.nextHeader(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
	}
	if cr.row > 1 {
		return nil, fmt.Errorf("%w (rows 1-%d looked at for the header)", first, cr.row)
	}
	return nil, first
}

// rowsNoState reads the file's rows (mapping already built) for keys only.
func (im *importer) rowsNoState(fn func(*row) error) error {
	f, err := im.open()
	if err != nil {
		return err
	}
	defer f.Close()
	cr, err := newCSVReader(f)
	if err != nil {
		return err
	}
	if err := cr.skipTo(im.sum.HeaderRow); err != nil {
		return err
	}
	for {
		if err := im.ctx.Err(); err != nil {
			return err
		}
		rec, num, err := cr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && num == 0 {
			return err
		}
		if err != nil || blank(rec) {
			continue
		}
		if r, _ := im.m.parseRow(rec, num); r != nil && r.key != "" {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
}

// checkFile is the first pass: every row is parsed and matched, bad rows
// and duplicates are decided, keys are collected (they protect users from
// a roster's deactivation), and nothing is written.
func (im *importer) checkFile() error {
	if err := im.rows(func(num int, r *row, rerr *RowError) error {
		if im.st == nil {
			return errors.New("internal: state not loaded")
		}
		if r != nil && r.key != "" {
			if first, dup := im.seen[r.key]; dup {
				im.rejected[num] = &RowError{Row: num, Key: r.keyDisplay, Column: im.m.key.label(),
					Reason: fmt.Sprintf("duplicate key %q: row %d already has it", short(r.keyDisplay), first)}
				return nil
			}
			im.seen[r.key] = num
		}
		if rerr != nil {
			im.rejected[num] = rerr
			return nil
		}
		act, _, _, rerr := im.decide(r)
		if rerr != nil {
			im.rejected[num] = rerr
			return nil
		}
		if act != actUnchanged {
			im.writes++
		}
		if im.m.groups != nil || im.m.manager != nil {
			im.links[r.key] = &link{row: num, display: r.keyDisplay, groups: r.groups, manager: r.manager}
		}
		return nil
	}); err != nil {
		return err
	}
	// A manager must be a user of the file (not rejected) or of the server.
	for key, l := range im.links {
		if l.manager == "" {
			continue
		}
		_, onServer := im.st.byKey[l.manager]
		row, inFile := im.seen[l.manager]
		if inFile && im.rejected[row] == nil || onServer && im.st.ambiguous[l.manager] == 0 {
			continue
		}
		im.rejected[l.row] = &RowError{Row: l.row, Key: l.display, Column: im.m.manager.label(),
			Reason: fmt.Sprintf("manager %q matches no user in the file or on the server by %s (--match): to name managers by another column's value, match on it (e.g. --match externalId)",
				short(l.manager), im.match.String())}
		delete(im.links, key)
	}
	return nil
}

// loadState is called by the first pass once the mapping is known. A
// roster, or a file with many keys for the server's size, pages through
// every user; a small file (a day's changes against a large directory)
// looks its keys up one by one instead (both measured: docs/notes/import.md).
func (im *importer) loadState() error {
	var st *state
	var err error
	keys, small, err := im.smallFile()
	if err != nil {
		return err
	}
	if small {
		im.lookups = true
		st, err = lookupUsers(im.ctx, im.c, im.m, im.match, im.rs, keys)
	} else {
		st, err = fetchUsers(im.ctx, im.c, im.m, im.match, im.rs)
	}
	if err != nil {
		return err
	}
	if im.m.groups != nil {
		if st.groups, err = fetchGroups(im.ctx, im.c, im.managedBy, im.opts.Config.Groups); err != nil {
			return err
		}
	}
	im.st = st
	return nil
}

// smallFile reads the file's keys (and its managers' keys) when looking
// them up may be cheaper than paging: not for a roster, which needs its
// whole scope.
func (im *importer) smallFile() ([]string, bool, error) {
	if im.opts.Roster {
		return nil, false, nil
	}
	total, err := im.c.count(im.ctx, "/Users")
	if err != nil || total == 0 {
		return nil, false, err
	}
	set := map[string]bool{}
	limit := total / perKeyCost
	tooMany := errors.New("too many keys")
	err = im.rowsNoState(func(r *row) error {
		for _, k := range []string{r.key, r.manager} {
			if k != "" && !set[k] {
				set[k] = true
				if len(set) >= limit {
					return tooMany
				}
			}
		}
		return nil
	})
	if errors.Is(err, tooMany) {
		return nil, false, nil
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, true, err
}

type action uint8

const (
	actCreate action = iota
	actUpdate
	actUnchanged
)

// decide matches a row against the server: what it does and the
// operation's body (POST document or PATCH operations).
func (im *importer) decide(r *row) (action, []Change, any, *RowError) {
	if n := im.st.ambiguous[r.key]; n > 0 {
		return 0, nil, nil, &RowError{Row: r.num, Key: r.keyDisplay, Column: im.m.key.label(),
			Reason: fmt.Sprintf("%d users on the server share this key: match on a unique attribute", n+1)}
	}
	u := im.st.byKey[r.key]
	if u == nil {
		if !im.m.hasUserName() {
			return 0, nil, nil, &RowError{Row: r.num, Key: r.keyDisplay, Reason: "matches no user, and the file has no userName column to create one"}
		}
		doc, changes, err := newUser(r, im.rs, im.managedBy)
		if err != nil {
			return 0, nil, nil, &RowError{Row: r.num, Key: r.keyDisplay, Reason: err.Error()}
		}
		if rerr := im.tooLarge(r, doc); rerr != nil {
			return 0, nil, nil, rerr
		}
		return actCreate, changes, doc, nil
	}
	changes, ops := diffUser(u, r, im.rs, im.managedBy)
	if len(ops) == 0 {
		return actUnchanged, nil, nil, nil
	}
	body := patchBody(ops)
	if rerr := im.tooLarge(r, body); rerr != nil {
		return 0, nil, nil, rerr
	}
	return actUpdate, changes, body, nil
}

// tooLarge rejects a row whose operation alone exceeds what the server
// takes in one /Bulk request: sent, its 413 would stop the whole run.
func (im *importer) tooLarge(r *row, body any) *RowError {
	limit := im.c.maxPayload * 9 / 10
	var longest *column
	longestLen, total := 0, 0
	for _, cv := range r.cells {
		if s, ok := cv.value.(string); ok {
			total += len(s)
			if len(s) > longestLen {
				longest, longestLen = cv.col, len(s)
			}
		}
	}
	if total*6+4096 < limit { // even escaped, far below the limit
		return nil
	}
	raw, err := json.Marshal(body)
	if err != nil || len(raw)+1024 <= limit {
		return nil
	}
	rerr := &RowError{Row: r.num, Key: r.keyDisplay, Reason: fmt.Sprintf("the row is %d bytes as a SCIM operation, more than the server takes in one request (bulk.maxPayloadSize %d)", len(raw), im.c.maxPayload)}
	if longest != nil {
		rerr.Column = longest.label()
	}
	return rerr
}

func (m *mapping) hasUserName() bool {
	for _, c := range m.columns {
		if c.kind == kindAttr && strings.EqualFold(c.pathString, "userName") {
			return true
		}
	}
	return false
}

// planRoster finds the users in scope missing from the file and applies
// the safety limit, before anything is written.
func (im *importer) planRoster() error {
	var inScope func(*serverUser) bool
	scopeSize := 0
	if im.opts.Scope != "" {
		ids, err := scopeIDs(im.ctx, im.c, im.opts.Scope)
		if err != nil {
			return fmt.Errorf("--scope: %w", err)
		}
		inScope = func(u *serverUser) bool { return ids[u.id] }
	} else {
		inScope = func(u *serverUser) bool { return u.managedBy == im.managedBy }
	}
	ids := make([]string, 0, len(im.st.byID))
	for id := range im.st.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		u := im.st.byID[id]
		if !inScope(u) {
			continue
		}
		scopeSize++
		if _, inFile := im.seen[u.key]; u.key != "" && inFile {
			continue
		}
		if u.active() {
			im.deactivate = append(im.deactivate, u)
		}
	}
	limit, err := deactivateLimit(im.opts.MaxDeactivate, scopeSize)
	if err != nil {
		return err
	}
	if len(im.deactivate) > limit && !im.opts.Force {
		return fmt.Errorf("%w: %d of %d users in scope are missing from the file, the limit is %d (--max-deactivate %s); nothing was written. Check the file is complete, or run again with --force",
			ErrTooManyDeactivations, len(im.deactivate), scopeSize, limit, orDefault(im.opts.MaxDeactivate, "5%"))
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// deactivateLimit reads --max-deactivate: "N%" of the scope (rounded up)
// or a number of users.
func deactivateLimit(spec string, scope int) (int, error) {
	spec = strings.TrimSpace(orDefault(spec, "5%"))
	if pct, ok := strings.CutSuffix(spec, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || p < 0 || p > 100 {
			return 0, fmt.Errorf("--max-deactivate %q: want a percentage 0-100%% or a number", spec)
		}
		return int(math.Ceil(p * float64(scope) / 100)), nil
	}
	n, err := strconv.Atoi(spec)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--max-deactivate %q: want a percentage 0-100%% or a number", spec)
	}
	return n, nil
}

// pending is a write waiting in a /Bulk batch and what to record when it
// answers.
type pending struct {
	op   bulkOp
	size int
	done func(res bulkResult)
}

// batcher sends operations in /Bulk requests within the server's limits,
// several requests at a time: the bridge runs a request's operations one
// after the other, each its own transaction, so parallel requests are what
// lets its group commit share a disk flush among them. Operations in
// flight together never touch the same resource (one row per user; group
// creations are waited for before memberships). Callbacks run one at a
// time.
type batcher struct {
	im   *importer
	ops  []pending
	size int

	sem chan struct{}
	wg  sync.WaitGroup
	mu  sync.Mutex // serialises callbacks and err
	err error
}

func newBatcher(im *importer) *batcher {
	n := im.opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	return &batcher{im: im, sem: make(chan struct{}, n)}
}

func (b *batcher) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *batcher) add(op bulkOp, done func(bulkResult)) error {
	if err := b.failed(); err != nil {
		return err
	}
	if b.im.opts.DryRun { // answered at once, so the preview keeps file order
		b.answer([]pending{{op: op, done: done}}, nil, nil)
		return nil
	}
	raw, err := json.Marshal(op.Data)
	if err != nil {
		return err
	}
	op.Data = json.RawMessage(raw)
	size := len(raw) + len(op.Path) + 64
	if len(b.ops) > 0 && (len(b.ops) >= b.batchOps() || b.size+size > b.im.c.maxPayload*9/10) {
		b.flush()
	}
	b.ops = append(b.ops, pending{op: op, size: size, done: done})
	b.size += size
	return nil
}

// batchOps keeps requests small enough that several are in flight.
func (b *batcher) batchOps() int {
	return min(b.im.c.maxOps, maxBatch)
}

const (
	// DefaultConcurrency is the number of /Bulk requests in flight.
	DefaultConcurrency = 4
	maxBatch           = 100
)

// flush sends the waiting operations (without waiting for the answer).
func (b *batcher) flush() {
	if len(b.ops) == 0 {
		return
	}
	batch := b.ops
	b.ops, b.size = nil, 0
	if b.im.opts.DryRun {
		b.answer(batch, nil, nil)
		return
	}
	ops := make([]bulkOp, len(batch))
	for i, p := range batch {
		ops[i] = p.op
	}
	b.sem <- struct{}{}
	b.wg.Add(1)
	go func() {
		defer func() { <-b.sem; b.wg.Done() }()
		results, err := b.im.c.bulk(b.im.ctx, ops)
		b.answer(batch, results, err)
	}()
}

func (b *batcher) answer(batch []pending, results []bulkResult, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return
	}
	for i, p := range batch {
		res := bulkResult{Status: "200"} // dry run
		if results != nil {
			res = results[i]
		}
		p.done(res)
	}
	if b.im.opts.Progress != nil {
		b.im.opts.Progress.Add(len(batch))
	}
}

// wait sends what is left and waits for every answer.
func (b *batcher) wait() error {
	b.flush()
	b.wg.Wait()
	return b.failed()
}

// failure is a refused operation's reason, from its SCIM error body.
func failure(res bulkResult) string {
	if d := scimDetail(res.Response); d != "" {
		return "the server refused it (" + res.Status + "): " + d
	}
	return "the server refused it (" + res.Status + ")"
}

// applyRows is the second pass: each row again, now sent (or, in a dry
// run, printed) and reported in file order.
func (im *importer) applyRows() error {
	b := newBatcher(im)
	if err := im.rows(func(num int, r *row, _ *RowError) error {
		im.sum.Rows++
		if rerr := im.rejected[num]; rerr != nil {
			im.sum.Rejected++
			im.emit(Outcome{Row: num, Key: rerr.Key, Action: "rejected", Column: rerr.Column, Reason: rerr.Reason})
			return nil
		}
		act, changes, body, rerr := im.decide(r)
		if rerr != nil { // cannot happen: checkFile decided the same
			im.sum.Rejected++
			im.emit(Outcome{Row: num, Key: r.keyDisplay, Action: "rejected", Column: rerr.Column, Reason: rerr.Reason})
			return nil
		}
		key, display := r.key, r.keyDisplay
		switch act {
		case actUnchanged:
			im.sum.Unchanged++
			im.emit(Outcome{Row: num, Key: display, Action: "unchanged"})
			return nil
		case actCreate:
			return b.add(bulkOp{Method: "POST", BulkID: "row" + strconv.Itoa(num), Path: "/Users", Data: body}, func(res bulkResult) {
				if !res.ok() {
					im.rowFailed(num, key, display, failure(res))
					return
				}
				im.sum.Created++
				im.created[key] = res.id()
				im.emit(Outcome{Row: num, Key: display, Action: "create", Changes: changes})
			})
		default:
			id := im.st.byKey[key].id
			return b.add(bulkOp{Method: "PATCH", Path: "/Users/" + id, Data: body}, func(res bulkResult) {
				if !res.ok() {
					im.rowFailed(num, key, display, failure(res))
					return
				}
				im.sum.Updated++
				im.emit(Outcome{Row: num, Key: display, Action: "update", Changes: changes})
			})
		}
	}); err != nil {
		return err
	}
	return b.wait()
}

func (im *importer) rowFailed(num int, key, display, reason string) {
	im.sum.Failed++
	im.failedKeys[key] = true
	im.emit(Outcome{Row: num, Key: display, Action: "failed", Column: im.columnIn(reason), Reason: reason})
}

// columnIn names the column a server error mentions, if any.
func (im *importer) columnIn(reason string) string {
	lr := strings.ToLower(reason)
	best := ""
	for _, c := range im.m.columns {
		if c.kind == kindAttr && strings.Contains(lr, strings.ToLower(c.pathString)) && len(c.pathString) > len(best) {
			best = c.label()
		}
	}
	return best
}

// applyDeactivations switches off the roster's missing users (PATCH
// active false; never DELETE).
func (im *importer) applyDeactivations() error {
	b := newBatcher(im)
	for _, u := range im.deactivate {
		u := u
		who := u.display
		if who == "" {
			who = u.id
		}
		body := patchBody([]scimpath.Operation{{Op: "replace", Path: "active", Value: false}})
		if err := b.add(bulkOp{Method: "PATCH", Path: "/Users/" + u.id, Data: body}, func(res bulkResult) {
			if !res.ok() {
				im.sum.DeactivateFailed++
				im.emit(Outcome{Key: who, Action: "failed", Reason: "deactivate: " + failure(res)})
				return
			}
			im.sum.Deactivated++
			im.emit(Outcome{Key: who, Action: "deactivate", Reason: "in scope but not in the file",
				Changes: []Change{{Path: "active", Old: true, New: false}}})
		}); err != nil {
			return err
		}
	}
	return b.wait()
}
