package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The CLI posts the field check of one resource and prints each
// connector's result, one row per drifted field, and the hint to repair.
func TestCheckFieldsCLI(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer adm" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		asked = append(asked, r.Method+" "+r.URL.RequestURI())
		repaired := r.URL.Query().Get("repair") == "true"
		rep := `{"type":"User","id":"u 1","repair":` + map[bool]string{true: "true", false: "false"}[repaired] + `,"connectors":[
			{"connector":"scc","state":"not available","message":"field check not available for scc: its target cannot read one object"},
			{"connector":"webex","state":"drifted","targetId":"wx-1","repaired":` + map[bool]string{true: "true", false: "false"}[repaired] + `,
			 "fields":[{"id":"u 1","field":"active","target":"false","scim":"true"},{"id":"u 1","field":"displayName","target":"Cleo (contractor)","scim":"Cleo Park"}]}]}`
		_, _ = w.Write([]byte(rep))
	}))
	defer srv.Close()
	run := func(args ...string) string {
		t.Helper()
		var out strings.Builder
		rootCmd.SetOut(&out)
		rootCmd.SetArgs(append([]string{"check-fields", "--server", srv.URL, "--admin-token", "adm"}, args...))
		defer rootCmd.SetArgs(nil)
		defer rootCmd.SetOut(nil)
		if err := rootCmd.Execute(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	out := run("Users", "u 1")
	for _, want := range []string{
		"scc        not available  field check not available for scc: its target cannot read one object",
		`webex      drifted        active       "false"              "true"`,
		`webex      drifted        displayName  "Cleo (contractor)"  "Cleo Park"`,
		"run again with --repair",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out = run("Users", "u 1", "--repair")
	if !strings.Contains(out, "webex: SCIM's values queued again") || strings.Contains(out, "run again") {
		t.Errorf("repair output:\n%s", out)
	}
	if got := strings.Join(asked, ","); got != "POST /admin/resources/Users/u%201/check-fields,POST /admin/resources/Users/u%201/check-fields?repair=true" {
		t.Errorf("requests: %s", got)
	}
}
