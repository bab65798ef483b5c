package secureauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/scimbridge/scimbridge/connectors"
)

type groupNamesBody struct {
	GroupNames []string `json:"groupNames"`
}

type userIDsBody struct {
	UserIDs []string `json:"userIds"`
}

// upsertGroup: SecureAuth has no group objects to create or update, only
// associations by group name (the group must exist in the directory).
// Added members are associated through the list form, in chunks; removed
// members and a rename's old associations stay.
//
// Removals come back Unsupported. The dispatcher records neither the new
// mapping nor member errors of a change whose Err is set, so Err is
// Unsupported only when nothing else needs recording; otherwise each
// removed member carries its own Unsupported error.
func (c *Connector) upsertGroup(ctx context.Context, ch connectors.Change) connectors.Result {
	name := text(ch.Fields["name"])
	if name == "" {
		return connectors.Result{Err: connectors.NewPermanent("group name (mapped from displayName) is empty", nil)}
	}
	renamed := false
	errs := map[string]error{} // SCIM member id -> error

	old := ch.TargetID
	if ch.Prev != nil {
		old = text(ch.Prev["name"])
	}
	if old != "" && !strings.EqualFold(old, name) {
		// Rename: every member we associated with the old name joins the
		// new one. Failures here are only logged: these users' own changes
		// are long delivered.
		ids := c.members.get(old)
		if len(ids) > 0 {
			failed, err := c.associate(ctx, name, ids)
			if err != nil {
				return connectors.Result{Err: err}
			}
			c.members.add(name, without(ids, failed))
		}
		renamed = true
		c.log.Warn().Str("connector", c.name).Str("op", "rename_group").Str("old", old).Str("new", name).
			Msg("SecureAuth cannot remove associations: members stay in the old group too")
	}

	byUser := map[string]string{} // lower-cased userId -> SCIM id
	var ids []string
	for _, m := range ch.MembersAdded {
		id := m.TargetID
		if id == "" {
			id = text(m.Fields["userId"])
		}
		if id == "" {
			errs[m.ID] = connectors.NewPermanent("member has no userId", nil)
			continue
		}
		byUser[strings.ToLower(id)] = m.ID
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		failed, err := c.associate(ctx, name, ids)
		if err != nil {
			return connectors.Result{Err: err}
		}
		for id := range failed {
			if scimID, ok := byUser[id]; ok {
				errs[scimID] = connectors.Errorf(connectors.Permanent, 0, "SecureAuth could not associate %s with group %s", id, name)
			}
		}
		c.members.add(name, without(ids, failed))
	}

	res := connectors.Result{TargetID: name}
	if n := len(ch.MembersRemoved); n > 0 {
		if !renamed && len(errs) == 0 {
			res.Err = connectors.NewUnsupported(fmt.Sprintf("SecureAuth cannot remove users from groups: %d member(s) of %q stay associated", n, name))
			return res
		}
		for _, m := range ch.MembersRemoved {
			errs[m.ID] = connectors.NewUnsupported("SecureAuth cannot remove users from groups")
		}
	}
	if len(errs) > 0 {
		res.MemberErrors = errs
	}
	return res
}

// associate adds userIDs to group, one call per chunk (the single form for
// a lone user), and returns the lower-cased userIds that failed. An error
// means the calls themselves failed and may be retried as a whole
// (associations are idempotent).
func (c *Connector) associate(ctx context.Context, group string, userIDs []string) (map[string]bool, error) {
	failed := map[string]bool{}
	userIDs = dedupe(userIDs)
	for chunk := range slices.Chunk(userIDs, c.chunk) {
		var rep *reply
		var err error
		if len(chunk) == 1 {
			rep, err = c.do(ctx, call{op: "associate_group_user", method: http.MethodPost, segs: []string{"groups", group, "users", chunk[0]}})
			if rep != nil && rep.Status == "failure" && strings.Contains(strings.ToLower(rep.Message), "failed to add user") {
				failed[strings.ToLower(chunk[0])] = true
				continue
			}
		} else {
			rep, err = c.do(ctx, call{op: "associate_group_users", method: http.MethodPost, segs: []string{"groups", group, "users"}, body: userIDsBody{chunk}})
			if f := failures(rep); len(f) > 0 {
				for id := range f {
					failed[id] = true
				}
				continue
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(failed) > 0 {
		c.confirmFailures(ctx, group, userIDs, failed)
	}
	return failed, nil
}

// confirmFailures drops from failed the users that the target lists as
// members of group after all. A resent association (its first answer was
// lost) meets a user who is already a member, and Active Directory refuses
// to add a member twice: that user is associated, not failed
// (TestAssociationResent). One GET per failed user; an unknown user or an
// unreadable answer leaves the failure as it was.
func (c *Connector) confirmFailures(ctx context.Context, group string, userIDs []string, failed map[string]bool) {
	for _, id := range userIDs {
		if !failed[strings.ToLower(id)] {
			continue
		}
		rep, err := c.do(ctx, call{op: "get_user", method: http.MethodGet, segs: []string{"users", id}, found: true})
		if err != nil || rep == nil {
			continue
		}
		for _, dn := range rep.Groups {
			if strings.EqualFold(commonName(dn), group) {
				delete(failed, strings.ToLower(id))
				break
			}
		}
	}
}

// failures collects the per-item failures of a list-form answer, whatever
// they are keyed by, lower-cased.
func failures(rep *reply) map[string]bool {
	if rep == nil || len(rep.Failures) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, items := range rep.Failures {
		for _, it := range items {
			out[strings.ToLower(it)] = true
		}
	}
	return out
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if k := strings.ToLower(id); !seen[k] {
			seen[k] = true
			out = append(out, id)
		}
	}
	return out
}

func without(ids []string, drop map[string]bool) []string {
	var out []string
	for _, id := range ids {
		if !drop[strings.ToLower(id)] {
			out = append(out, id)
		}
	}
	return out
}

// memberState remembers which userIds the connector associated with each
// group name, because SecureAuth cannot list a group's members and a
// rename must move them. It lives in Deps.State when there is one.
type memberState struct {
	mu     sync.Mutex
	store  connectors.StateStore
	prefix string
	mem    map[string][]string
}

func newMemberState(s connectors.StateStore, connector string) *memberState {
	return &memberState{store: s, prefix: "secureauth/" + connector + "/members/", mem: map[string][]string{}}
}

func (m *memberState) load(group string) []string {
	key := strings.ToLower(group)
	if m.store == nil {
		return m.mem[key]
	}
	b, err := m.store.Get(m.prefix + key)
	if err != nil || b == nil {
		return nil
	}
	var ids []string
	json.Unmarshal(b, &ids)
	return ids
}

func (m *memberState) save(group string, ids []string) {
	key := strings.ToLower(group)
	if m.store == nil {
		m.mem[key] = ids
		return
	}
	b, _ := json.Marshal(ids)
	m.store.Put(m.prefix+key, b) // best effort: it only serves renames
}

func (m *memberState) get(group string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.load(group))
}

func (m *memberState) add(group string, ids []string) {
	if len(ids) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.load(group)
	m.save(group, dedupe(append(slices.Clone(cur), ids...)))
}

// rename replaces oldID by newID in groups.
func (m *memberState) rename(oldID, newID string, groups []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range groups {
		var ids []string
		for _, id := range m.load(g) {
			if !strings.EqualFold(id, oldID) {
				ids = append(ids, id)
			}
		}
		m.save(g, dedupe(append(ids, newID)))
	}
}
