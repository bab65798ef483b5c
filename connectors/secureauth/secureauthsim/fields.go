package secureauthsim

import "github.com/scimbridge/scimbridge/connectors/simkit"

var _ simkit.FieldSim = (*Server)(nil)

// UserFields implements simkit.FieldSim: firstName and lastName by userId.
func (s *Server) UserFields() map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]string, len(s.users))
	for _, u := range s.users {
		out[u.id] = map[string]string{"firstName": u.props["firstName"], "lastName": u.props["lastName"]}
	}
	return out
}
