package webexsim

// EditUser changes a user directly, as a Webex administrator would behind
// the bridge's back (a rename in Control Hub, a deactivation): displayName
// when not "", active when not nil. It reports whether the user exists.
func (s *Server) EditUser(id, displayName string, active *bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.users[id]
	if old == nil {
		return false
	}
	u := *old
	if displayName != "" {
		u.DisplayName = displayName
	}
	if active != nil {
		a := *active
		u.Active = &a
	}
	s.putUser(id, &u)
	return true
}

// User returns a user's displayName and active as the simulator holds
// them, and whether it exists.
func (s *Server) User(id string) (displayName string, active, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return "", false, false
	}
	return u.DisplayName, u.Active == nil || *u.Active, true
}
