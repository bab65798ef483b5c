package webexsim

import "github.com/scimbridge/scimbridge/connectors/simkit"

var _ simkit.FieldSim = (*Server)(nil)

// UserFields implements simkit.FieldSim: displayName, firstName and
// lastName by user id.
func (s *Server) UserFields() map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]string, len(s.users))
	for id, u := range s.users {
		f := map[string]string{"displayName": u.DisplayName}
		if u.Name != nil {
			f["firstName"], f["lastName"] = u.Name.GivenName, u.Name.FamilyName
		}
		out[id] = f
	}
	return out
}
