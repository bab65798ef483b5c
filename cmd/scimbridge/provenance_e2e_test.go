package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/hrimport"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/store"
)

// With import.client set, the provenance mark is the importer's alone: an
// IdP's POST cannot set it, its PUT cannot erase it, its PATCH of it is
// refused; the importer (signed in as that client) writes it.
func TestProvenanceReadOnlyToIdPs(t *testing.T) {
	const hrToken, oktaToken = "hr-import-token-0123456789", "okta-token-0123456789"
	secrets := map[string]string{"HR": hrToken, "OKTA": oktaToken}
	cfg, err := config.Parse([]byte(`
scim:
  clients:
    - {name: hr-import, bearer: ["${HR}"]}
    - {name: okta, bearer: ["${OKTA}"]}
import: {client: hr-import}
`), func(k string) (string, bool) { v, ok := secrets[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "scimbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	a, err := buildApp(cfg, db, nil, "admin-token-0123456789", reg, zerolog.Nop())
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.start(ctx)
	ts := httptest.NewServer(newRouter(zerolog.Nop(), reg, a, ""))
	t.Cleanup(func() { ts.Close(); cancel(); _ = a.shutdown(context.Background()); a.close(); db.Close() })

	okta := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, ts.URL+"/scim/v2"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+oktaToken)
		req.Header.Set("Content-Type", "application/scim+json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return res.StatusCode, out
	}
	mark := func(u map[string]any) any {
		ext, _ := u[scim.ProvenanceUserURN].(map[string]any)
		return ext["managedBy"]
	}

	file := []byte("userName,title\nann@example.com,Dev\n")
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(file))), nil }
	sum, err := hrimport.Run(ctx, hrimport.NewClient(ts.URL, hrToken, nil), open, hrimport.Options{Config: cfg.Import})
	if err != nil || sum.Created != 1 {
		t.Fatalf("import as hr-import: %v %s", err, sum)
	}
	_, list := okta("GET", `/Users?filter=userName%20eq%20%22ann@example.com%22`, "")
	ann := list["Resources"].([]any)[0].(map[string]any)
	id := ann["id"].(string)
	if mark(ann) != "hr" {
		t.Fatalf("the importer's mark is missing: %v", ann)
	}
	// Okta's full replace leaves the mark alone.
	if st, u := okta("PUT", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","title":"Lead"}`); st != 200 || mark(u) != "hr" || u["title"] != "Lead" {
		t.Errorf("Okta PUT: %d %v", st, u)
	}
	// Okta cannot set or clear it by PATCH.
	for _, body := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"` + scim.ProvenanceUserURN + `:managedBy"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"` + scim.ProvenanceUserURN + `":{"managedBy":"okta"}}}]}`,
	} {
		if st, e := okta("PATCH", "/Users/"+id, body); st != 400 || e["scimType"] != "mutability" {
			t.Errorf("Okta PATCH of the mark: %d %v", st, e)
		}
	}
	// Okta's POST carrying it: created, without the mark.
	st, bob := okta("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+scim.ProvenanceUserURN+`"],"userName":"bob@example.com","`+scim.ProvenanceUserURN+`":{"managedBy":"hr"}}`)
	if st != 201 || mark(bob) != nil {
		t.Errorf("Okta POST with the mark: %d %v", st, bob)
	}
	// So a roster's default scope is still only ann: bob is not deactivated.
	sum, err = hrimport.Run(ctx, hrimport.NewClient(ts.URL, hrToken, nil), open, hrimport.Options{Config: cfg.Import, Roster: true})
	if err != nil || sum.Deactivated != 0 || sum.Updated != 1 {
		t.Errorf("roster: %v %s", err, sum)
	}
}
