package secureaccess

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/scimbridge/scimbridge/connectors"
)

// Adoption. A tenant already holds registrations when the bridge is turned
// on, under keys the bridge did not derive. Writing a person under
// Key(scimID) would give them a second registration, and deactivating
// that one later would leave the original active: a deprovisioned person
// with an active identity. So the connector indexes every device
// registration by authName (case-insensitively) before it writes for a
// person it has not mapped yet, adopts the key it finds, and keeps the
// index current with what it writes.
//
// The index is built once: at the first delivery, or when List runs
// (check-targets), which pages through everything anyway. It costs
// ceil(n/250) GETs in slots of the same limiter as the PUTs. With
// Deps.State it is saved after it is built and after every PUT, so a
// restarted bridge does not page through the tenant again; a crash
// between a PUT and the save loses nothing, because a key the bridge
// writes is either Key(scimID) (derived again) or an adopted key (already
// in the saved index).
//
// Rules, per upsert or deactivation of authName a:
//   - the key kept is the mapped one; else Key(scimID) when the target has
//     it (a crash hid the mapping); else the first active registration of
//     a; else the first inactive one; else Key(scimID) (new).
//   - other active registrations of a are duplicates: reported always,
//     deactivated with options.dedupe: true, and always deactivated when
//     the person is deactivated or deleted (a deprovisioned person keeps
//     no active registration).
//   - registrations of other authNames are never touched.

const stateIndex = "registrations"

// regIndex is every device registration the target holds, as last seen
// or written.
type regIndex struct {
	byKey  map[string]registration
	byName map[string][]string // lower(authName) -> keys, in listing order
}

func newRegIndex() *regIndex {
	return &regIndex{byKey: map[string]registration{}, byName: map[string][]string{}}
}

func fold(authName string) string { return strings.ToLower(strings.TrimSpace(authName)) }

func (x *regIndex) put(r registration) {
	if old, ok := x.byKey[r.Key]; ok {
		if n := fold(old.AuthName); n != fold(r.AuthName) {
			x.byName[n] = slices.DeleteFunc(x.byName[n], func(k string) bool { return k == r.Key })
			if len(x.byName[n]) == 0 {
				delete(x.byName, n)
			}
		} else {
			x.byKey[r.Key] = r
			return
		}
	}
	x.byKey[r.Key] = r
	n := fold(r.AuthName)
	x.byName[n] = append(x.byName[n], r.Key)
}

// named returns the registrations of authName a.
func (x *regIndex) named(a string) []registration {
	keys := x.byName[fold(a)]
	out := make([]registration, 0, len(keys))
	for _, k := range keys {
		out = append(out, x.byKey[k])
	}
	return out
}

// adoption keeps the index and what it found.
type adoption struct {
	owner  string // hash of the registrations URL and API key the index belongs to
	dedupe bool

	build sync.Mutex // one listing at a time

	saveMu sync.Mutex // orders saves: an older snapshot never replaces a newer one
	saved  uint64     // generation of the snapshot last saved

	mu       sync.Mutex
	idx      *regIndex      // nil until built or loaded
	scanning []registration // writes made while a listing runs, replayed on its result
	inScan   bool
	dups     map[string][]string // lower(authName) -> duplicate keys left active
	noted    map[string]string   // lower(authName) -> duplicates left active, as last noted in the activity log
	gen      uint64              // snapshots taken
}

func regOf(it item) registration {
	return registration{Key: it.Key, Label: it.Label, Status: it.Status, AuthName: it.AuthName,
		DomainName: it.DomainName, SamAccountName: it.SamAccountName, GUIDHash: it.GUIDHash}
}

func itemOf(r registration, active bool) item {
	it := item{Key: r.Key, Label: r.Label, AuthName: r.AuthName, Status: "inactive",
		DomainName: r.DomainName, SamAccountName: r.SamAccountName, GUIDHash: r.GUIDHash}
	if active {
		it.Status = "active"
	}
	if it.Label == "" {
		it.Label = it.AuthName
	}
	return it
}

// savedIndex is the index's durable form.
type savedIndex struct {
	Version int            `json:"v"`
	For     string         `json:"for"`
	Regs    []registration `json:"regs"`
}

func indexOwner(regURL, apiKey string) string {
	h := sha256.Sum256([]byte(regURL + "\x00" + apiKey))
	return hex.EncodeToString(h[:])
}

// loadIndex takes the index a predecessor saved for the same target and key.
func (c *Connector) loadIndex() {
	if c.state == nil {
		return
	}
	b, err := c.state.Get(stateIndex)
	if err != nil || b == nil {
		if err != nil {
			c.log.Warn().Str("connector", c.name).Err(err).Msg("could not read the saved registration index; listing the target again")
		}
		return
	}
	var s savedIndex
	if err := json.Unmarshal(b, &s); err != nil || s.Version != 1 || s.For != c.adopt.owner {
		return
	}
	x := newRegIndex()
	for _, r := range s.Regs {
		if r.Key != "" {
			x.put(r)
		}
	}
	c.adopt.idx = x
}

// snapshotIndex encodes the index for saving; mu is held. The encoding
// is saved by saveIndex after mu is released: a state Put is a bbolt
// write, which must never wait while mu is held (Status reads Warnings
// inside a read transaction, and a write that grows the file waits for
// read transactions to end).
func (c *Connector) snapshotIndex() (b []byte, gen uint64) {
	if c.state == nil || c.adopt.idx == nil {
		return nil, 0
	}
	s := savedIndex{Version: 1, For: c.adopt.owner, Regs: make([]registration, 0, len(c.adopt.idx.byKey))}
	for _, keys := range c.adopt.idx.byName {
		for _, k := range keys {
			s.Regs = append(s.Regs, c.adopt.idx.byKey[k])
		}
	}
	slices.SortFunc(s.Regs, func(a, b registration) int { return strings.Compare(a.Key, b.Key) })
	b, err := json.Marshal(s)
	if err != nil {
		return nil, 0
	}
	c.adopt.gen++
	return b, c.adopt.gen
}

// saveIndex saves a snapshot unless a newer one is saved already; mu is
// not held. A failure only costs a listing after the next restart.
func (c *Connector) saveIndex(b []byte, gen uint64) {
	if b == nil {
		return
	}
	c.adopt.saveMu.Lock()
	defer c.adopt.saveMu.Unlock()
	if gen <= c.adopt.saved {
		return
	}
	if err := c.state.Put(stateIndex, b); err != nil {
		c.log.Warn().Str("connector", c.name).Err(err).Msg("could not save the registration index")
		return
	}
	c.adopt.saved = gen
}

// ensureIndex builds the index unless it exists.
func (c *Connector) ensureIndex(ctx context.Context) error {
	c.adopt.mu.Lock()
	ok := c.adopt.idx != nil
	c.adopt.mu.Unlock()
	if ok {
		return nil
	}
	c.adopt.build.Lock()
	defer c.adopt.build.Unlock()
	c.adopt.mu.Lock()
	ok = c.adopt.idx != nil
	c.adopt.mu.Unlock()
	if ok {
		return nil
	}
	if err := c.reindex(ctx, nil); err != nil {
		return fmt.Errorf("indexing existing registrations: %w", err)
	}
	return nil
}

// reindex pages through every registration (visiting each) and replaces
// the index with what it found, plus what was written meanwhile. build
// is held.
func (c *Connector) reindex(ctx context.Context, visit func(registration) error) error {
	c.adopt.mu.Lock()
	c.adopt.inScan, c.adopt.scanning = true, nil
	c.adopt.mu.Unlock()
	x := newRegIndex()
	err := c.scan(ctx, func(r registration) (bool, error) {
		if visit != nil {
			if err := visit(r); err != nil {
				return false, err
			}
		}
		if r.Key != "" {
			x.put(r)
		}
		return true, nil
	})
	c.adopt.mu.Lock()
	c.adopt.inScan = false
	if err != nil {
		c.adopt.scanning = nil
		c.adopt.mu.Unlock()
		return err
	}
	for _, r := range c.adopt.scanning {
		x.put(r)
	}
	c.adopt.scanning = nil
	c.adopt.idx = x
	b, gen := c.snapshotIndex()
	c.adopt.mu.Unlock()
	c.saveIndex(b, gen)
	c.log.Info().Str("connector", c.name).Int("registrations", len(x.byKey)).Msg("indexed existing registrations")
	return nil
}

// wrote records registrations the target accepted.
func (c *Connector) wrote(its []item) {
	if len(its) == 0 {
		return
	}
	c.adopt.mu.Lock()
	for _, it := range its {
		r := regOf(it)
		if c.adopt.inScan {
			c.adopt.scanning = append(c.adopt.scanning, r)
		}
		if c.adopt.idx != nil {
			c.adopt.idx.put(r)
		}
	}
	b, gen := c.snapshotIndex()
	c.adopt.mu.Unlock()
	c.saveIndex(b, gen)
}

// plan is what one change writes: its own registration first, then the
// duplicates it deactivates.
type plan struct {
	items []item
	dups  []string // duplicate keys left active (reported)
	deact []string // duplicate keys this change deactivates (items[1:])
}

// note is what a change found about the person's registrations, for the
// activity log (connectors.Result.Notes), once the change has landed: the
// duplicates it deactivated always (that happens once), the duplicates
// it left active only when they differ from the last note of this process.
func (c *Connector) note(p plan) string {
	if len(p.items) == 0 {
		return ""
	}
	own := p.items[0]
	n, left := fold(own.AuthName), strings.Join(p.dups, ", ")
	c.adopt.mu.Lock()
	seen := c.adopt.noted[n] == left
	if left == "" {
		delete(c.adopt.noted, n)
	} else {
		c.adopt.noted[n] = left
	}
	c.adopt.mu.Unlock()
	if len(p.deact) == 0 && (left == "" || seen) {
		return ""
	}
	s := fmt.Sprintf("duplicate registrations found for %s: kept %s", own.AuthName, own.Key)
	if len(p.deact) > 0 {
		s += ", deactivated " + strings.Join(p.deact, ", ")
	}
	if left != "" {
		s += ", left active " + left + " (options.dedupe: true deactivates them)"
	}
	return s
}

// resolve picks the key for a change's item and the duplicates to
// deactivate. it.Key is the key the change would use without adoption.
func (c *Connector) resolve(ch connectors.Change, it item) plan {
	c.adopt.mu.Lock()
	defer c.adopt.mu.Unlock()
	p := plan{}
	x := c.adopt.idx
	if x == nil {
		p.items = []item{it}
		return p
	}
	regs := x.named(it.AuthName)
	if ch.TargetID == "" {
		own := Key(ch.ID)
		keep := own
		if len(regs) == 0 && ch.MayExist {
			// Renamed since a write that may have adopted a registration
			// under the earlier authName: continue with that one.
			for i := len(ch.Earlier) - 1; i >= 0 && len(regs) == 0; i-- {
				if a := str(ch.Earlier[i][fieldAuthName]); a != "" {
					regs = x.named(a)
				}
			}
		}
		if !slices.ContainsFunc(regs, func(r registration) bool { return r.Key == own }) {
			if i := slices.IndexFunc(regs, func(r registration) bool { return r.Status == "active" }); i >= 0 {
				keep = regs[i].Key
			} else if len(regs) > 0 {
				keep = regs[0].Key
			}
		}
		if keep != own {
			c.log.Info().Str("connector", c.name).Str("op", "adopt").Str("id", ch.ID).Str("target_id", keep).
				Msg("adopted the registration the target already holds for this authName")
		}
		it.Key = keep
	}
	p.items = []item{it}
	for _, r := range regs {
		if r.Key == it.Key || r.Status != "active" {
			continue
		}
		if c.adopt.dedupe || it.Status == "inactive" {
			p.items = append(p.items, itemOf(r, false))
			p.deact = append(p.deact, r.Key)
			continue
		}
		p.dups = append(p.dups, r.Key)
	}
	n := fold(it.AuthName)
	if len(p.dups) > 0 {
		if !slices.Equal(c.adopt.dups[n], p.dups) {
			c.log.Warn().Str("connector", c.name).Str("id", ch.ID).Str("kept", it.Key).Strs("duplicates", p.dups).
				Msg("the target holds more than one active registration for this authName; set options.dedupe: true to deactivate the others")
		}
		c.adopt.dups[n] = p.dups
	} else {
		delete(c.adopt.dups, n)
	}
	return p
}

// strays are the active registrations of authName a, for a person the
// bridge deletes without having mapped them.
func (c *Connector) strays(a string) []item {
	c.adopt.mu.Lock()
	defer c.adopt.mu.Unlock()
	if c.adopt.idx == nil {
		return nil
	}
	var out []item
	for _, r := range c.adopt.idx.named(a) {
		if r.Status == "active" {
			out = append(out, itemOf(r, false))
		}
	}
	return out
}

// Warnings reports authNames with more than one active registration that
// the connector left as they are (connectors.Warner).
func (c *Connector) Warnings() []string {
	c.adopt.mu.Lock()
	defer c.adopt.mu.Unlock()
	var out []string
	for n, keys := range c.adopt.dups {
		out = append(out, fmt.Sprintf("authName %q has %d more active registration(s) than the one the bridge keeps (%s); options.dedupe: true deactivates them", n, len(keys), strings.Join(keys, ", ")))
	}
	slices.Sort(out)
	return out
}
