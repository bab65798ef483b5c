package testconn

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"

	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// SimToken is the bearer token the Sim accepts.
const SimToken = "testconn-sim-token"

// Sim serves a Target over HTTP:
//
//	POST /call       a JSON array of Op, answered with a JSON array of OpResult
//	GET  /_state     {"users":[...],"groups":[...],"stats":{...}}
//	POST /_options   an Options JSON object (durations in nanoseconds)
type Sim struct {
	*Target
}

// NewSim returns a Sim over t.
func NewSim(t *Target) *Sim { return &Sim{Target: t} }

// Credentials implements connectors.Simulator.
func (s *Sim) Credentials() map[string]string { return map[string]string{"token": SimToken} }

// BasePath implements connectors.Simulator.
func (s *Sim) BasePath() string { return "" }

// State is what GET /_state answers.
type State struct {
	Users  []User  `json:"users"`
	Groups []Group `json:"groups"`
	Stats  Stats   `json:"stats"`
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/_state":
		simkit.WriteJSON(w, http.StatusOK, "", State{Users: s.Users(), Groups: s.Groups(), Stats: s.Stats()})
	case r.Method == http.MethodPost && r.URL.Path == "/_options":
		var o Options
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.SetOptions(o)
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && r.URL.Path == "/call":
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+SimToken)) != 1 {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		var ops []Op
		if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
			http.Error(w, "malformed body: "+err.Error(), http.StatusBadRequest)
			return
		}
		res, f, ra := s.Call(ops)
		switch f {
		case FaultNone:
			simkit.WriteJSON(w, http.StatusOK, "", res)
		case Fault429, Fault429RetryAfter:
			simkit.SetRetryAfter(w, ra)
			http.Error(w, "too many requests", http.StatusTooManyRequests)
		case Fault5xx:
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		case FaultPermanent:
			http.Error(w, "bad request (injected)", http.StatusBadRequest)
		default: // FaultReset, FaultApplyThenDrop: the connection dies
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
	default:
		http.NotFound(w, r)
	}
}
