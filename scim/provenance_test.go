package scim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The provenance extension is built in: listed in /Schemas and
// /ResourceTypes, stored, filterable and PATCHable on users and groups.
func TestProvenanceExtension(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.must(http.StatusOK, "GET", "/Schemas", nil)
	if !strings.Contains(r.raw, ProvenanceUserURN) || !strings.Contains(r.raw, ProvenanceGroupURN) || !strings.Contains(r.raw, `"managedBy"`) {
		t.Fatalf("/Schemas lacks the provenance extension: %s", r.raw)
	}
	hr := e.createUser("hr@x", map[string]any{ProvenanceUserURN: map[string]any{"managedBy": "hr"}})
	other := e.createUser("okta@x")
	if got, _ := e.stored("User", hr)[ProvenanceUserURN].(map[string]any); got["managedBy"] != "hr" {
		t.Fatalf("stored managedBy = %v", got)
	}
	filter := url.QueryEscape(ProvenanceUserURN + `:managedBy eq "hr"`)
	r = e.must(http.StatusOK, "GET", "/Users?filter="+filter, nil)
	if get(r.body, "totalResults") != float64(1) || get(r.body, "Resources.0.id") != hr {
		t.Fatalf("filter by managedBy: %s", r.raw)
	}
	e.must(http.StatusNoContent, "PATCH", "/Users/"+other,
		patchBody(`{"op":"replace","path":"`+ProvenanceUserURN+`:managedBy","value":"hr"}`))
	r = e.must(http.StatusOK, "GET", "/Users?filter="+filter, nil)
	if get(r.body, "totalResults") != float64(2) {
		t.Fatalf("after PATCH: %s", r.raw)
	}
	g := e.must(http.StatusCreated, "POST", "/Groups", map[string]any{"displayName": "Sales", ProvenanceGroupURN: map[string]any{"managedBy": "hr"}}).body["id"]
	r = e.must(http.StatusOK, "GET", "/Groups?filter="+url.QueryEscape(ProvenanceGroupURN+`:managedBy eq "hr"`), nil)
	if get(r.body, "Resources.0.id") != g {
		t.Fatalf("group filter by managedBy: %s", r.raw)
	}
}

// A config.yaml extension with the same URN replaces the built-in one
// instead of being refused as declared twice.
func TestProvenanceExtensionOverridable(t *testing.T) {
	_, _, err := buildDefs([]Extension{{URN: ProvenanceUserURN, Attributes: []ExtensionField{{Name: "managedBy"}, {Name: "source"}}}})
	if err != nil {
		t.Fatal(err)
	}
}
