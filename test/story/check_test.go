package story

import (
	"fmt"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/test/e2ekit"
)

// wantFields are the fields each target keeps of a person, as its
// simulator's UserFields names them.
func wantFields(typ string, p *person) map[string]string {
	switch typ {
	case "webex":
		return map[string]string{"displayName": p.display, "firstName": p.given, "lastName": p.family}
	case "secureaccess":
		return map[string]string{"label": p.display}
	default: // scc, secureauth
		return map[string]string{"firstName": p.given, "lastName": p.family}
	}
}

// noActive are targets whose simulator cannot show a person inactive:
// SecureAuth deactivates by scrambling the password (its Active), but a
// person whose create and deactivation reach it as one inactive create is
// made with a random password, never scrambled.
var noActive = map[string]bool{"secureauth": true}

// keepsAssociations are targets that cannot remove a user from a group
// (SecureAuth, connectors/secureauth/README.md): a removal is reported
// unsupported, a renamed group's members stay in the old one too and a
// deleted group stays. There a group must hold at least SCIM's members,
// and groups under old names may stay.
var keepsAssociations = map[string]bool{"secureauth": true}

// check compares every target with the story's final SCIM state and
// returns what differs: each person who should exist is there exactly
// once (by the target's login key) with SCIM's final fields and active
// flag; each deleted person is absent or inactive; no one else is there;
// where the target has groups, each group that should exist is there once
// under its final name with exactly SCIM's members (a deleted person's
// lingering inactive object may stay a member), and no other group.
func (s *story) check(targets []*e2ekit.Target) []string {
	var problems []string
	bad := func(typ, format string, args ...any) {
		problems = append(problems, typ+": "+fmt.Sprintf(format, args...))
	}
	for _, tg := range targets {
		typ := tg.Type
		users := tg.Sim.Users()
		fields := tg.Sim.UserFields()
		byLogin := map[string][]int{}
		for i, u := range users {
			byLogin[strings.ToLower(u.UserName)] = append(byLogin[strings.ToLower(u.UserName)], i)
		}
		targetID := map[string]string{} // SCIM id -> target id
		lingering := map[string]bool{}  // target ids of deleted people still held
		for _, p := range s.people {
			ix := byLogin[p.userName]
			delete(byLogin, p.userName)
			if len(ix) > 1 {
				bad(typ, "%s held %d times", p.userName, len(ix))
			}
			if p.deleted {
				for _, i := range ix {
					lingering[users[i].TargetID] = true
					if users[i].Active {
						bad(typ, "deleted %s still active", p.userName)
					}
				}
				continue
			}
			if len(ix) == 0 {
				bad(typ, "%s missing", p.userName)
				continue
			}
			u := users[ix[0]]
			targetID[p.id] = u.TargetID
			if u.Active != p.active && !noActive[typ] {
				bad(typ, "%s active=%v, want %v", p.userName, u.Active, p.active)
			}
			for k, want := range wantFields(typ, p) {
				if got := fields[u.TargetID][k]; got != want {
					bad(typ, "%s %s=%q, want %q", p.userName, k, got, want)
				}
			}
		}
		for login := range byLogin {
			bad(typ, "unexpected user %s", login)
		}

		groups := tg.Sim.Groups()
		if typ == "secureaccess" { // registrations only, no groups
			continue
		}
		byName := map[string][]int{}
		for i, g := range groups {
			byName[g.Name] = append(byName[g.Name], i)
		}
		for gi, g := range s.teams {
			ix := byName[g.name]
			delete(byName, g.name)
			if keepsAssociations[typ] {
				for _, old := range g.oldNames {
					delete(byName, old)
				}
			}
			if g.deleted && keepsAssociations[typ] {
				continue
			}
			if g.deleted {
				if len(ix) > 0 {
					bad(typ, "deleted group %q still there", g.name)
				}
				continue
			}
			if len(ix) != 1 {
				bad(typ, "group %q held %d times, want once", g.name, len(ix))
				continue
			}
			var want []string
			for _, p := range s.people {
				if !p.deleted && slices.Contains(p.groups, gi) {
					want = append(want, targetID[p.id])
				}
			}
			got := groups[ix[0]].MemberTargetIDs
			for _, w := range want {
				if !slices.Contains(got, w) {
					bad(typ, "group %q lacks member %s", g.name, w)
				}
			}
			for _, m := range got {
				if !slices.Contains(want, m) && !lingering[m] && !keepsAssociations[typ] {
					bad(typ, "group %q has unexpected member %s", g.name, m)
				}
			}
		}
		for name := range byName {
			bad(typ, "unexpected group %q", name)
		}
	}
	return problems
}
