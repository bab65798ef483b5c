package secureauth

import (
	"testing"

	"github.com/rs/zerolog"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/secureauth/secureauthsim"
	"github.com/scimbridge/scimbridge/mapping"
)

func newMapper() (func(string, map[string]any) (map[string]any, error), error) {
	m, err := mapping.New(DefaultMapping, mapping.Scope{})
	if err != nil {
		return nil, err
	}
	return m.Map, nil
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Instance {
		f := newFixture(t, secureauthsim.Options{}, nil)
		f.conn.log = zerolog.Nop()
		m, err := newMapper()
		if err != nil {
			t.Fatal(err)
		}
		return connectortest.Instance{
			Connector: connectors.Connector(f.conn),
			Sim:       f.sim,
			Mapping:   DefaultMapping,
			Map:       m,
			// SecureAuth has groups only as associations: no group delete,
			// no member removal, and a SCIM DELETE scrambles the password.
			Support: connectortest.Support{Groups: true},
		}
	})
}
