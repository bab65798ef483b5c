package sccsim

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
