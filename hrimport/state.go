package hrimport

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/scimbridge/scimbridge/scimpath"
)

// serverUser is what the importer keeps of one user on the server: its id
// and the current value of each mapped column, nothing else (a dry run's
// memory grows with the number of users times the mapped columns).
type serverUser struct {
	id        string
	key       string // normalised matching key, "" if the user has none
	display   string // userName, for messages
	vals      []any  // by column position (mapping.columns); nil for none
	groups    []string
	manager   string // the manager's id
	inactive  bool
	managedBy string
}

func (u *serverUser) active() bool { return !u.inactive }

// newServerUser keeps what the mapping needs of a (projected) user.
func newServerUser(doc map[string]any, m *mapping, match scimpath.Path, rs *scimpath.ResourceSchema) *serverUser {
	u := &serverUser{vals: make([]any, len(m.columns))}
	u.id, _ = doc["id"].(string)
	u.display, _ = doc["userName"].(string)
	if b, ok := doc["active"].(bool); ok && !b {
		u.inactive = true
	}
	u.managedBy, _ = lookupFold(asMap(lookupFold(doc, provenanceUserURNPrefix)), provenanceAttr).(string)
	if vals := match.Get(doc, rs); len(vals) > 0 {
		if s, ok := vals[0].(string); ok && s != "" {
			u.key = m.normKey(s)
		}
	}
	for i, c := range m.columns {
		switch c.kind {
		case kindAttr:
			if vals := c.path.Get(doc, rs); len(vals) > 0 {
				u.vals[i] = vals[0]
			}
		case kindGroups:
			for _, g := range asList(doc["groups"]) {
				if id, _ := lookupFold(asMap(g), "value").(string); id != "" {
					u.groups = append(u.groups, id)
				}
			}
		case kindManager:
			u.manager, _ = lookupFold(asMap(lookupFold(asMap(lookupFold(doc, scimpath.URNEnterpriseUser)), "manager")), "value").(string)
		}
	}
	return u
}

// state is the server's users, by matching key and by id.
type state struct {
	byKey     map[string]*serverUser
	ambiguous map[string]int // keys several users share: rows matching them are rejected
	byID      map[string]*serverUser
	groups    map[string]*serverGroup // lower-cased displayName
}

type serverGroup struct {
	id, name string
	owned    bool
}

// attributesFor lists the top-level attributes the mapping needs, for
// ?attributes= (the server sends nothing else).
func attributesFor(m *mapping, match scimpath.Path) []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	top := func(p scimpath.Path) string {
		if p.URN != "" {
			return p.URN + ":" + p.Attr
		}
		return p.Attr
	}
	add("userName")
	add("active")
	add(top(match))
	add(provenanceUserURNPrefix + ":" + provenanceAttr)
	for _, c := range m.columns {
		switch c.kind {
		case kindAttr:
			add(top(c.path))
		case kindGroups:
			add("groups")
		case kindManager:
			add(scimpath.URNEnterpriseUser + ":manager")
		}
	}
	return out
}

// fetchUsers pages through every user with only the mapped attributes.
func fetchUsers(ctx context.Context, c *Client, m *mapping, match scimpath.Path, rs *scimpath.ResourceSchema) (*state, error) {
	st := newState()
	err := c.each(ctx, "/Users", "", attributesFor(m, match), func(doc map[string]any) error {
		return st.add(newServerUser(doc, m, match, rs))
	})
	return st, err
}

func newState() *state {
	return &state{byKey: map[string]*serverUser{}, ambiguous: map[string]int{}, byID: map[string]*serverUser{}}
}

func (st *state) add(u *serverUser) error {
	if u.id == "" {
		return fmt.Errorf("the server listed a user without an id")
	}
	if st.byID[u.id] != nil {
		return nil // found twice (two keys of one file naming one user)
	}
	st.byID[u.id] = u
	if u.key == "" {
		return nil
	}
	if _, dup := st.byKey[u.key]; dup {
		st.ambiguous[u.key]++
		return nil
	}
	st.byKey[u.key] = u
	return nil
}

// perKeyCost is how many server users paging reads in the time of one
// indexed `eq` lookup (measured: 0.41 ms a lookup, 0.14 ms a paged user;
// docs/notes/import.md). A file with fewer keys than a third of the
// server's users is looked up key by key.
const perKeyCost = 3

// lookupUsers finds the users of keys one indexed `<match> eq` GET each,
// a few in parallel.
func lookupUsers(ctx context.Context, c *Client, m *mapping, match scimpath.Path, rs *scimpath.ResourceSchema, keys []string) (*state, error) {
	st := newState()
	attrs := attributesFor(m, match)
	var mu sync.Mutex
	var firstErr error
	work := make(chan string)
	var wg sync.WaitGroup
	for range DefaultConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range work {
				q, _ := json.Marshal(key)
				err := c.eachPage(ctx, "/Users", match.String()+" eq "+string(q), attrs, func(doc map[string]any) error {
					mu.Lock()
					defer mu.Unlock()
					return st.add(newServerUser(doc, m, match, rs))
				})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range keys {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		work <- k
	}
	close(work)
	wg.Wait()
	return st, firstErr
}

// fetchGroups lists every group's name and provenance (never members).
func fetchGroups(ctx context.Context, c *Client, managedBy string, owned []string) (map[string]*serverGroup, error) {
	listed := map[string]bool{}
	for _, g := range owned {
		listed[strings.ToLower(strings.TrimSpace(g))] = true
	}
	out := map[string]*serverGroup{}
	err := c.each(ctx, "/Groups", "", []string{"displayName", provenanceGroupURN + ":" + provenanceAttr}, func(doc map[string]any) error {
		id, _ := doc["id"].(string)
		name, _ := doc["displayName"].(string)
		ext, _ := lookupFold(doc, provenanceGroupURN).(map[string]any)
		by, _ := lookupFold(ext, provenanceAttr).(string)
		lname := strings.ToLower(name)
		out[lname] = &serverGroup{id: id, name: name, owned: by == managedBy || listed[lname]}
		return nil
	})
	return out, err
}

// scopeIDs lists the ids of the users a --scope filter selects.
func scopeIDs(ctx context.Context, c *Client, filter string) (map[string]bool, error) {
	ids := map[string]bool{}
	err := c.each(ctx, "/Users", filter, []string{"id"}, func(doc map[string]any) error {
		if id, _ := doc["id"].(string); id != "" {
			ids[id] = true
		}
		return nil
	})
	return ids, err
}

// lookupFold reads m[key] with the key matched case-insensitively.
func lookupFold(m map[string]any, key string) any {
	if m == nil {
		return nil
	}
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}
