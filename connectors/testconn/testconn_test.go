package testconn_test

import (
	"net/http/httptest"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/connectortest"
	"github.com/scimbridge/scimbridge/connectors/testconn"
)

// simView adapts a Target to the conformance suite.
type simView struct{ t *testconn.Target }

func (s simView) Users() []connectortest.SimUser {
	var out []connectortest.SimUser
	for _, u := range s.t.Users() {
		out = append(out, connectortest.SimUser{TargetID: u.TargetID, UserName: u.UserName, Active: u.Active})
	}
	return out
}

func (s simView) Groups() []connectortest.SimGroup {
	var out []connectortest.SimGroup
	for _, g := range s.t.Groups() {
		out = append(out, connectortest.SimGroup{TargetID: g.TargetID, Name: g.Name, MemberTargetIDs: g.Members})
	}
	return out
}

func (s simView) FailNext(f connectortest.Fault, n int) {
	s.t.FailNext(f, n) // one Fault type (simkit)
}

func (s simView) Calls() int { return s.t.Stats().Calls }

// fixedMap stands in for package mapping with testconn's default fields.
func fixedMap(typ string, res map[string]any) (map[string]any, error) {
	if typ == connectors.Group {
		return map[string]any{"displayName": res["displayName"]}, nil
	}
	f := map[string]any{"userName": res["userName"], "active": res["active"], "displayName": res["displayName"]}
	if n, ok := res["name"].(map[string]any); ok {
		f["givenName"], f["familyName"] = n["givenName"], n["familyName"]
	}
	return f, nil
}

var support = connectortest.Support{Groups: true, GroupDelete: true, MemberRemove: true, UserDelete: true}

func TestConformanceInMemory(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Instance {
		target := testconn.NewTarget(testconn.Options{})
		return connectortest.Instance{
			Connector: testconn.New("test", target, testconn.DefaultLimits),
			Sim:       simView{target}, Mapping: testconn.DefaultMapping, Support: support, Map: fixedMap,
		}
	})
}

func TestConformanceHTTP(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Instance {
		sim := testconn.NewSim(testconn.NewTarget(testconn.Options{}))
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		s := connectors.Settings{Name: "test", BaseURL: srv.URL + sim.BasePath(), Credentials: sim.Credentials()}
		c, err := testconn.Registration.New(s, connectors.Deps{HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return connectortest.Instance{Connector: c, Sim: simView{sim.Target}, Mapping: testconn.DefaultMapping, Support: support, Map: fixedMap}
	})
}

// TestConformanceDefaultMapping runs the suite through package mapping
// with the connector's default mapping, as the connector packages do.
func TestConformanceDefaultMapping(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Instance {
		target := testconn.NewTarget(testconn.Options{})
		return connectortest.Instance{
			Connector: testconn.New("test", target, testconn.DefaultLimits),
			Sim:       simView{target}, Mapping: testconn.DefaultMapping, Support: support,
		}
	})
}
