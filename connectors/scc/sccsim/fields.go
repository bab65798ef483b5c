package sccsim

import (
	"strings"

	"github.com/scimbridge/scimbridge/connectors/simkit"
)

var _ simkit.FieldSim = (*Server)(nil)

// UserFields implements simkit.FieldSim: firstName and lastName by lower-cased
// email (the TargetID Users reports).
func (s *Server) UserFields() map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]string, len(s.users))
	for _, u := range s.users {
		out[strings.ToLower(u.Email)] = map[string]string{"firstName": u.FirstName, "lastName": u.LastName}
	}
	return out
}
