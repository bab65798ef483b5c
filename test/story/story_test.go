// Package story is issue 16's end-to-end provisioning story: the real
// scimbridge binary with all four connectors on, each against its
// simulator at the target's shipped limits (Secure Access's windows sped
// up 10×), driven over SCIM the way Okta and Entra ID drive it (creates,
// groups pushed with members, renames, deactivations, member removals,
// deletes) while the bridge is SIGKILLed and restarted, then watched until
// every target has settled.
//
// By default it tells a 60-user story with 3 kills and checks correctness
// only. The measurement is the 1,000-user story:
//
//	go test ./test/story -run TestStory -v -timeout 30m -story.users 1000
//
// (or SCIMBRIDGE_STORY=1000), which also reports the settle time after the
// last acknowledged SCIM write, every target's request count and SCC's
// requests per user it holds, and fails when they miss issue 16's goals
// (settle ≤ 100 s, SCC ≤ 0.5 requests per user).
package story

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/test/e2ekit"
)

var (
	usersFlag  = flag.Int("story.users", 0, "users in the story (default 60, or $SCIMBRIDGE_STORY)")
	killsFlag  = flag.Int("story.kills", 3, "SIGKILLs of the bridge, spread over the four phases and the delivery after them (3: one in each of the first three phases)")
	faultsFlag = flag.Float64("story.faults", 0, "share of every target's requests answered with its 5xx, and as many with 429 (issue 17's judge: 0.05)")
	dirFlag    = flag.String("story.dir", "", "keep the binary, data and serve.log here (post-mortem)")
	paceFlag   = flag.Duration("story.pace", 0, "each writer waits this long between two SCIM writes (an IdP slower than flat out)")
)

const (
	scimToken  = "story-scim-token"
	adminToken = "story-admin-token"
	workers    = 8
	saSpeed    = 10 // Secure Access's windows: a minute lasts 6 s

	goalSettle     = 100 * time.Second
	goalSCCPerUser = 0.5
)

const (
	userSchema = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	groupSchem = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

// person is one user's SCIM state as the story leaves it.
type person struct {
	i                            int
	entra                        bool // sent the way Entra ID sends; else Okta
	id, userName                 string
	given, family, display       string
	active, deleted              bool
	groups                       []int
	renamed, deactivated, pulled bool
}

// team is one group's SCIM state as the story leaves it.
type team struct {
	id, name string
	oldNames []string // before renames
	entra    bool
	deleted  bool
}

func storyUsers() int {
	if *usersFlag > 0 {
		return *usersFlag
	}
	if n, err := strconv.Atoi(os.Getenv("SCIMBRIDGE_STORY")); err == nil && n > 0 {
		return n
	}
	return 60
}

func TestStory(t *testing.T) {
	if testing.Short() {
		t.Skip("story: builds and runs the program")
	}
	n := storyUsers()
	measure := n >= 1000
	tmp := t.TempDir()
	if *dirFlag != "" {
		tmp = *dirFlag
		_ = os.MkdirAll(tmp, 0o755)
	}
	bin := e2ekit.Build(t, tmp)
	faults := *faultsFlag
	if faults == 0 {
		if f, err := strconv.ParseFloat(os.Getenv("SCIMBRIDGE_STORY_FAULTS"), 64); err == nil {
			faults = f
		}
	}
	kills := *killsFlag
	if k, err := strconv.Atoi(os.Getenv("SCIMBRIDGE_STORY_KILLS")); err == nil && *killsFlag == 3 {
		kills = k
	}
	// Issue 16's goals are measured on the plain story; with faults or
	// more kills the figures are reported, correctness is what fails.
	goals := measure && faults == 0 && kills <= 4
	targets := e2ekit.FaultyTargets(t, saSpeed, faults)
	port := e2ekit.FreePort(t)
	cfg := filepath.Join(tmp, "config.yaml")
	_ = os.RemoveAll(filepath.Join(tmp, "data"))
	e2ekit.WriteConfig(t, cfg, port, filepath.Join(tmp, "data"), "warn", targets)
	logFile, err := os.Create(filepath.Join(tmp, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	b := &e2ekit.Bridge{T: t, Bin: bin, Config: cfg, Base: fmt.Sprintf("http://127.0.0.1:%d", port),
		Env: e2ekit.TokenEnv(scimToken, adminToken), AdminToken: adminToken, Log: logFile}
	b.Start()
	t.Cleanup(b.Kill)
	c := &e2ekit.Client{Base: b.Base, Token: scimToken, HTTP: &http.Client{Timeout: 30 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	s := &story{t: t, c: c, n: n}
	start := time.Now()
	plan := killPlan(kills)
	s.tell(ctx, b, plan)
	lastAck := c.LastAck()
	t.Logf("story told in %s: %d users, %d groups, %d writes acknowledged (%d requests), %d kills, faults %.0f%% 5xx + %.0f%% 429",
		lastAck.Sub(start).Round(time.Millisecond), n, len(s.teams), c.Acked.Load(), c.Tries.Load(), s.kills, 100*faults, 100*faults)
	if t.Failed() {
		t.FailNow()
	}
	s.killDuringDelivery(b, plan[len(plan)-1])

	settledAt, problems := waitSettled(ctx, t, b, targets, s, measure || faults > 0 || kills > 4)
	// The figures (also when the targets never settled).
	settle := max(settledAt.Sub(lastAck), 0)
	var report strings.Builder
	if settledAt.IsZero() { // the targets differ (the problems follow): when did they stop changing?
		for _, tg := range targets {
			settle = max(settle, tg.Counter.Stats().LastChange.Sub(lastAck))
		}
		fmt.Fprintf(&report, "story: %d users, %d kills, %.0f%% faults; NOT settled to SCIM's state (problems below); the targets last changed %.1f s after the last acknowledged SCIM write\n", n, s.kills, 100*faults, settle.Seconds())
	} else {
		fmt.Fprintf(&report, "story: %d users, %d kills, %.0f%% faults; settled %.1f s after the last acknowledged SCIM write\n", n, s.kills, 100*faults, settle.Seconds())
	}
	sccPerUser := 0.0
	for _, tg := range targets {
		cs := tg.Counter.Stats()
		held := len(tg.Sim.Users())
		fmt.Fprintf(&report, "  %-12s %6d requests (%d 429s), %5d users held, %.2f requests/user, last change %+.1f s after the last ack\n",
			tg.Type, cs.Requests, cs.R429, held, float64(cs.Requests)/float64(max(held, 1)), cs.LastChange.Sub(lastAck).Seconds())
		routes := tg.Counter.ByRoute()
		for _, r := range slices.Sorted(maps.Keys(routes)) {
			fmt.Fprintf(&report, "      %6d %s\n", routes[r], r)
		}
		if tg.Type == "scc" {
			sccPerUser = float64(cs.Requests) / float64(max(held, 1))
		}
	}
	t.Log(report.String())
	// Dead letters first: they often explain the problems below.
	st, err := b.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range st {
		if cs.DeadLetters > 0 {
			var dl struct {
				DeadLetters map[string][]struct {
					Type, ScimID, Member, Reason string
				} `json:"deadLetters"`
			}
			_ = b.AdminGet("/admin/deadletters?connector="+cs.Name, &dl)
			t.Errorf("%s: %d dead letters", cs.Name, cs.DeadLetters)
			for _, d := range dl.DeadLetters[cs.Name][:min(len(dl.DeadLetters[cs.Name]), 10)] {
				t.Logf("  %s %s member %q: %s", d.Type, d.ScimID, d.Member, d.Reason)
			}
		}
	}

	if len(problems) > 0 {
		for _, p := range problems[:min(len(problems), 40)] {
			t.Error(p)
		}
		t.Fatalf("%d problems in the targets; serve log:\n%s", len(problems), b.LogTail())
	}

	if goals {
		if settle > goalSettle {
			t.Errorf("settled %.1f s after the last ack, goal ≤ %s", settle.Seconds(), goalSettle)
		}
		if sccPerUser > goalSCCPerUser {
			t.Errorf("SCC: %.2f requests per user held, goal ≤ %.1f", sccPerUser, goalSCCPerUser)
		}
	}
}

// waitSettled waits until the bridge's queues are empty, every target
// holds what the story expects, and no target has changed for a quiet
// period; it returns when the targets last changed (the settle moment)
// or, on timeout, the problems left.
func waitSettled(ctx context.Context, t *testing.T, b *e2ekit.Bridge, targets []*e2ekit.Target, s *story, measure bool) (time.Time, []string) {
	quiet := 3 * time.Second
	timeout := 90 * time.Second
	if measure {
		quiet, timeout = 10*time.Second, 15*time.Minute
	}
	// Queues empty and nothing changing for this long, yet the targets
	// differ: they will not converge by themselves.
	const stuck = 30 * time.Second
	start := time.Now()
	deadline := start.Add(timeout)
	var problems []string
	nextLog := start
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(250 * time.Millisecond)
		st, err := b.Status()
		if err != nil {
			continue
		}
		var last time.Time
		for _, tg := range targets {
			if lc := tg.Counter.Stats().LastChange; lc.After(last) {
				last = lc
			}
		}
		if time.Now().After(nextLog) { // progress, to see which target is the tail
			nextLog = time.Now().Add(10 * time.Second)
			var line strings.Builder
			for _, cs := range st {
				fmt.Fprintf(&line, " %s queue=%d inflight=%d", cs.Name, cs.QueueDepth, cs.InFlight)
			}
			for _, tg := range targets {
				fmt.Fprintf(&line, " %s:%dreq", tg.Type, tg.Counter.Stats().Requests)
			}
			t.Logf("+%.0fs%s", time.Since(start).Seconds(), line.String())
		}
		busy := slices.ContainsFunc(st, func(cs e2ekit.Status) bool { return cs.QueueDepth > 0 || cs.InFlight > 0 })
		if busy {
			continue
		}
		if problems = s.check(targets); len(problems) > 0 {
			if time.Since(last) > stuck {
				return time.Time{}, problems
			}
			continue
		}
		if time.Since(last) >= quiet {
			return last, nil
		}
	}
	if problems == nil {
		problems = []string{"the bridge's queues never emptied"}
	}
	return time.Time{}, problems
}

// story drives the SCIM writes and remembers what they leave.
type story struct {
	t      *testing.T
	c      *e2ekit.Client
	n      int
	people []*person
	teams  []*team
	kills  int

	progress atomic.Int64 // operations done in the current phase
}

// killPlan spreads kills over five stretches: the story's four phases and
// the delivery after it, the earlier stretches taking one more when they
// do not divide evenly (3 kills: one in each of the first three phases).
func killPlan(kills int) [5]int {
	var plan [5]int
	for i := range plan {
		plan[i] = kills / len(plan)
		if i < kills%len(plan) {
			plan[i]++
		}
	}
	return plan
}

// tell runs the four phases, SIGKILLing the bridge plan[i] times in phase
// i, evenly along its operations (one kill: when half is done).
func (s *story) tell(ctx context.Context, b *e2ekit.Bridge, plan [5]int) {
	rng := rand.New(rand.NewPCG(16, uint64(s.n)))
	for i := range s.n {
		p := &person{i: i, entra: i%2 == 1, userName: fmt.Sprintf("story.u%04d@example.com", i),
			given: fmt.Sprintf("Given%04d", i), family: fmt.Sprintf("Family%04d", i), active: true}
		p.display = p.given + " " + p.family
		s.people = append(s.people, p)
	}
	for g := range max(4, s.n/50) {
		s.teams = append(s.teams, &team{name: fmt.Sprintf("Story Team %02d", g), entra: g%2 == 1})
	}
	for _, p := range s.people {
		p.groups = []int{p.i % len(s.teams)}
		if p.i%7 == 0 {
			p.groups = append(p.groups, (p.i+1)%len(s.teams))
		}
		switch r := rng.IntN(100); {
		case r < 30:
			p.renamed = true
		case r < 45:
			p.deactivated = true
		case r < 55:
			p.pulled = true
		case r < 62 && p.entra: // Okta never deletes users
			p.deleted = true
		}
	}
	phases := []struct {
		name string
		ops  int
		run  func(context.Context)
	}{
		{"creates", s.n + len(s.teams), s.creates},
		{"groups pushed", len(s.teams), s.pushGroups},
		{"renames, deactivations, member removals", s.n, s.changes},
		{"deletes", s.n, s.deletes},
	}
	for i, ph := range phases {
		s.progress.Store(0)
		done := make(chan struct{})
		go func() { ph.run(ctx); close(done) }()
		s.killAlong(b, ph.ops, plan[i], done)
		<-done
		s.t.Logf("phase %q done", ph.name)
	}
}

// killAlong SIGKILLs and restarts the bridge k times along a phase of ops
// operations: the j-th time once j/(k+1) of them are done (or, in a phase
// too short to catch, when it ends).
func (s *story) killAlong(b *e2ekit.Bridge, ops, k int, done <-chan struct{}) {
	for j := 1; j <= k; j++ {
	wait:
		for s.progress.Load() < int64(ops*j/(k+1)) {
			select {
			case <-done:
				break wait
			case <-time.After(5 * time.Millisecond):
			}
		}
		s.kill(b)
	}
}

func (s *story) kill(b *e2ekit.Bridge) {
	b.Kill()
	s.kills++
	b.Start()
}

// killDuringDelivery SIGKILLs and restarts the bridge k times while it
// delivers what the story wrote, 2–5 s apart (the connectors' calls in
// flight are cut: creates that landed unrecorded, batches half done).
func (s *story) killDuringDelivery(b *e2ekit.Bridge, k int) {
	rng := rand.New(rand.NewPCG(17, uint64(s.n)))
	for range k {
		time.Sleep(2*time.Second + time.Duration(rng.IntN(3000))*time.Millisecond)
		s.kill(b)
	}
	if k > 0 {
		s.t.Logf("%d kills during the delivery", k)
	}
}

// each runs f over items with the story's workers, item i always on the
// same worker (so one person's writes stay in order).
func each[T any](items []T, f func(T)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(items); i += workers {
				f(items[i])
				time.Sleep(*paceFlag)
			}
		})
	}
	wg.Wait()
}

func (s *story) fail(err error) {
	if err != nil {
		s.t.Error(err)
	}
}

// creates: the groups (empty, as both IdPs push them), then the users,
// Okta's and Entra's way.
func (s *story) creates(ctx context.Context) {
	each(s.teams, func(g *team) {
		body := map[string]any{"schemas": []string{groupSchem}, "displayName": g.name}
		if !g.entra {
			body["members"] = []any{}
		}
		var err error
		g.id, err = s.c.Create(ctx, "Groups", body, fmt.Sprintf("displayName eq %q", g.name))
		s.fail(err)
		s.progress.Add(1)
	})
	each(s.people, func(p *person) {
		body := map[string]any{
			"schemas": []string{userSchema}, "userName": p.userName, "displayName": p.display,
			"name":       map[string]any{"givenName": p.given, "familyName": p.family},
			"emails":     []any{map[string]any{"value": p.userName, "type": "work", "primary": true}},
			"externalId": fmt.Sprintf("ext-%04d", p.i),
		}
		if p.entra {
			body["schemas"] = []string{userSchema, enterprise}
			body["active"] = "True"
			body[enterprise] = map[string]any{"employeeNumber": strconv.Itoa(10000 + p.i), "department": "Dept " + strconv.Itoa(p.i%5)}
		} else {
			body["active"] = true
			body["locale"] = "en-US"
			body["groups"] = []any{}
		}
		var err error
		p.id, err = s.c.Create(ctx, "Users", body, fmt.Sprintf("userName eq %q", p.userName))
		s.fail(err)
		s.progress.Add(1)
	})
}

// pushGroups adds every group's members: Okta in PATCHes of at most 25
// with display names (and its id-in-value rename resent alongside), Entra
// with capitalised ops and "$ref": null.
func (s *story) pushGroups(ctx context.Context) {
	each(s.teams, func(g *team) {
		gi := slices.Index(s.teams, g)
		var members []*person
		for _, p := range s.people {
			if slices.Contains(p.groups, gi) {
				members = append(members, p)
			}
		}
		for chunk := range slices.Chunk(members, 25) {
			var value []any
			for _, p := range chunk {
				if g.entra {
					value = append(value, map[string]any{"value": p.id, "$ref": nil})
				} else {
					value = append(value, map[string]any{"value": p.id, "display": p.userName})
				}
			}
			if g.entra {
				s.fail(s.c.Patch(ctx, "/Groups/"+g.id, map[string]any{"op": "Add", "path": "members", "value": value}))
			} else {
				s.fail(s.c.Patch(ctx, "/Groups/"+g.id,
					map[string]any{"op": "replace", "value": map[string]any{"id": g.id, "displayName": g.name}},
					map[string]any{"op": "add", "path": "members", "value": value}))
			}
		}
		s.progress.Add(1)
	})
}

// changes renames, deactivates and pulls people out of their first group,
// and renames every fourth group.
func (s *story) changes(ctx context.Context) {
	each(s.people, func(p *person) {
		defer s.progress.Add(1)
		switch {
		case p.renamed:
			p.family += "-Renamed"
			p.display = p.given + " " + p.family
			if p.entra {
				s.fail(s.c.Patch(ctx, "/Users/"+p.id,
					map[string]any{"op": "Replace", "path": "name.familyName", "value": p.family},
					map[string]any{"op": "Replace", "path": "displayName", "value": p.display}))
				return
			}
			// Okta: a full PUT after a GET.
			u, err := s.c.Get(ctx, "/Users/"+p.id)
			if err != nil {
				s.fail(err)
				return
			}
			u["name"] = map[string]any{"givenName": p.given, "familyName": p.family}
			u["displayName"] = p.display
			u["groups"] = []any{}
			s.fail(s.c.Put(ctx, "/Users/"+p.id, u))
		case p.deactivated:
			p.active = false
			if p.entra {
				s.fail(s.c.Patch(ctx, "/Users/"+p.id, map[string]any{"op": "Replace", "path": "active", "value": "False"}))
			} else {
				s.fail(s.c.Patch(ctx, "/Users/"+p.id, map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
			}
		case p.pulled:
			g := s.teams[p.groups[0]]
			p.groups = p.groups[1:]
			if g.entra {
				s.fail(s.c.Patch(ctx, "/Groups/"+g.id, map[string]any{"op": "Remove", "path": "members",
					"value": []any{map[string]any{"value": p.id}}}))
			} else {
				s.fail(s.c.Patch(ctx, "/Groups/"+g.id, map[string]any{"op": "remove",
					"path": fmt.Sprintf("members[value eq %q]", p.id)}))
			}
		}
	})
	for gi, g := range s.teams {
		if gi%4 != 3 {
			continue
		}
		g.oldNames = append(g.oldNames, g.name)
		g.name += " (renamed)"
		if g.entra {
			s.fail(s.c.Patch(ctx, "/Groups/"+g.id, map[string]any{"op": "Replace", "path": "displayName", "value": g.name}))
		} else {
			s.fail(s.c.Patch(ctx, "/Groups/"+g.id, map[string]any{"op": "replace", "value": map[string]any{"id": g.id, "displayName": g.name}}))
		}
	}
}

// deletes: Entra soft-deletes, then deletes; and the last group goes.
func (s *story) deletes(ctx context.Context) {
	each(s.people, func(p *person) {
		defer s.progress.Add(1)
		if !p.deleted {
			return
		}
		s.fail(s.c.Patch(ctx, "/Users/"+p.id, map[string]any{"op": "Replace", "path": "active", "value": "False"}))
		s.fail(s.c.Delete(ctx, "/Users/"+p.id))
		p.active = false
	})
	last := s.teams[len(s.teams)-1]
	s.fail(s.c.Delete(ctx, "/Groups/"+last.id))
	last.deleted = true
}
