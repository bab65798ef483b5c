package sccsim

import (
	"cmp"
	"strings"
)

// AddGroupMember puts a user (an AddUser id) in an admin group directly,
// as an administrator would outside the bridge (tests of adoption). It
// reports whether both exist.
func (s *Server) AddGroupMember(groupID, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.groupID[groupID], s.byID[userID]
	if g == nil || u == nil {
		return false
	}
	if !g.hasMember(userID) {
		g.members = append(g.members, userID)
	}
	return true
}

// UserInfo is a user as SCC holds it (tests of field drift).
type UserInfo struct {
	ID, Email, FirstName, LastName, Status string
}

// User returns the user of email (any letter case) as SCC holds it.
func (s *Server) User(email string) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.byEmail[strings.ToLower(email)]
	if u == nil {
		return UserInfo{}, false
	}
	return UserInfo{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Status: u.Status}, true
}

// EditUser changes a user's names and status directly, as an
// administrator would in the SCC console behind the bridge's back; an
// empty value is left as it is. It reports whether the user exists.
func (s *Server) EditUser(email, firstName, lastName, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.byEmail[strings.ToLower(email)]
	if u == nil {
		return false
	}
	u.FirstName = cmp.Or(firstName, u.FirstName)
	u.LastName = cmp.Or(lastName, u.LastName)
	u.Status = cmp.Or(status, u.Status)
	return true
}

// Group returns the admin group of id: its name and description.
func (s *Server) Group(id string) (name, description string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupID[id]
	if g == nil {
		return "", "", false
	}
	return g.Name, g.Description, true
}

// EditGroup renames an admin group and sets its description directly, as
// an administrator would ("" leaves a value as it is). It reports whether
// the group exists.
func (s *Server) EditGroup(id, name, description string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupID[id]
	if g == nil {
		return false
	}
	g.Name = cmp.Or(name, g.Name)
	g.Description = cmp.Or(description, g.Description)
	return true
}
