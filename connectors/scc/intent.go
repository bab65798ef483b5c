package scc

import (
	"encoding/json"
	"slices"
	"sync"

	"github.com/scimbridge/scimbridge/connectors"
)

// groupIntents is the write-ahead record of the names under which the
// connector may have created (or renamed) an admin group whose target id
// the bridge has not recorded yet. SCC admin groups carry nothing the
// bridge wrote but their name, so a create that landed and was lost with
// a crash can only be found again by the name it was sent with; if SCIM
// renamed the group meanwhile, the retry's own name finds nothing. The
// names are stored (committed) in the connector's state before the POST
// or PUT that writes them, per SCIM id, so a retry — or a later change of
// a group whose queued run was dead-lettered — looks the group up under
// every name it may have in SCC and adopts it instead of creating
// another.
//
// An intent is cleared once a change arrives that the dispatcher built
// from an acknowledged delivery (a target id, fields, nothing unsure),
// and when the group is deleted.
//
// It also records which SCIM group each admin group it created or
// adopted belongs to (its owner), so a lookup under an earlier name never
// takes a group another SCIM group has since created or adopted under
// that name.
type groupIntents struct {
	state  connectors.StateStore // nil: in memory only (tests, dry runs)
	prefix string                // scc/groups/<org>/
	owners string                // scc/groupowner/<org>/

	mu  sync.Mutex
	mem map[string][]string // without state: SCIM id -> names
	own map[string]string   // without state: SCC id -> SCIM id
}

// maxIntentNames bounds the names remembered per group (the newest win).
const maxIntentNames = 10

type storedIntent struct {
	Names []string `json:"names"`
}

func newGroupIntents(state connectors.StateStore, org string) *groupIntents {
	return &groupIntents{state: state, prefix: "scc/groups/" + org + "/", owners: "scc/groupowner/" + org + "/",
		mem: map[string][]string{}, own: map[string]string{}}
}

// names are the names recorded for SCIM group id, oldest first.
func (g *groupIntents) names(id string) ([]string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.load(id)
}

func (g *groupIntents) load(id string) ([]string, error) {
	if g.state == nil {
		return slices.Clone(g.mem[id]), nil
	}
	b, err := g.state.Get(g.prefix + id)
	if err != nil || len(b) == 0 {
		return nil, err
	}
	var st storedIntent
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil // unreadable: as if none (it only serves lookups)
	}
	return st.Names, nil
}

func (g *groupIntents) save(id string, names []string) error {
	if g.state == nil {
		if len(names) == 0 {
			delete(g.mem, id)
		} else {
			g.mem[id] = slices.Clone(names)
		}
		return nil
	}
	b, err := json.Marshal(storedIntent{Names: names})
	if err != nil {
		return err
	}
	return g.state.Put(g.prefix+id, b)
}

// add records name for SCIM group id before a call writes it; it has
// committed when add returns without error. A name already last costs
// no write.
func (g *groupIntents) add(id, name string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur, err := g.load(id)
	if err != nil {
		return err
	}
	if len(cur) > 0 && cur[len(cur)-1] == name {
		return nil
	}
	next := append(slices.DeleteFunc(slices.Clone(cur), func(n string) bool { return n == name }), name)
	if len(next) > maxIntentNames {
		next = next[len(next)-maxIntentNames:]
	}
	return g.save(id, next)
}

// clear forgets SCIM group id's names (nothing is written when there
// are none).
func (g *groupIntents) clear(id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur, err := g.load(id)
	if err != nil || len(cur) == 0 {
		return err
	}
	return g.save(id, nil)
}

// owner is the SCIM group that created or adopted SCC group sccID (""
// when unknown).
func (g *groupIntents) owner(sccID string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == nil {
		return g.own[sccID], nil
	}
	b, err := g.state.Get(g.owners + sccID)
	return string(b), err
}

// claim records scimID as the owner of SCC group sccID ("" forgets it).
// Nothing is written when that is already recorded.
func (g *groupIntents) claim(sccID, scimID string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == nil {
		if scimID == "" {
			delete(g.own, sccID)
		} else {
			g.own[sccID] = scimID
		}
		return nil
	}
	cur, err := g.state.Get(g.owners + sccID)
	if err != nil || string(cur) == scimID {
		return err
	}
	return g.state.Put(g.owners+sccID, []byte(scimID))
}
