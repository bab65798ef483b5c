package secureaccesssim

import "github.com/scimbridge/scimbridge/connectors/simkit"

var _ simkit.FieldSim = (*Server)(nil)

// UserFields implements simkit.FieldSim: the device registrations' label
// by key.
func (s *Server) UserFields() map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]string, len(s.regs[Device]))
	for _, r := range s.regs[Device] {
		out[r.Key] = map[string]string{"label": r.Label}
	}
	return out
}
