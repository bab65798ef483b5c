package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureauth"
)

// plan --requests shows the connector's real requests against its
// simulator, with secrets redacted.
func TestDryRunShowsRequestsWithoutSecrets(t *testing.T) {
	s := connectors.Settings{Name: "sa", Type: "secureauth", OnDelete: secureauth.Registration.DefaultOnDelete}
	fields := map[string]any{"userId": "jdoe", "firstName": "John", "email1": "jdoe@example.com", "active": true}
	sent, res, err := dryRun(secureauth.Registration, s, connectors.Change{Type: connectors.User, ID: "u1", Op: connectors.OpUpsert, Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.TargetID != "jdoe" {
		t.Fatalf("result %+v", res)
	}
	var out bytes.Buffer
	writeRequests(&out, sent, res)
	got := out.String()
	if !strings.Contains(got, "POST /secureauth2/api/v2/users/") || !strings.Contains(got, `"password": "(redacted)"`) {
		t.Errorf("plan output:\n%s", got)
	}
	for _, r := range sent {
		if strings.Contains(r.Path, "users") && bytes.Contains(r.Body, []byte(`"password"`)) {
			// The real body carried a generated password; none of it may show.
			var pw string
			if i := bytes.Index(r.Body, []byte(`"password":"`)); i >= 0 {
				rest := r.Body[i+len(`"password":"`):]
				pw = string(rest[:bytes.IndexByte(rest, '"')])
			}
			if pw == "" || strings.Contains(got, pw) {
				t.Errorf("generated password %q shown or not found", pw)
			}
		}
	}
}

// A dry run reaches only its own simulator, whatever the options name.
func TestDryRunRecorderRefusesOtherHosts(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a dry run reached a host other than its simulator")
	}))
	defer other.Close()
	rec := &recorder{host: "127.0.0.1:1"}
	req, _ := http.NewRequest("GET", other.URL, nil)
	if _, err := rec.RoundTrip(req); err == nil {
		t.Fatal("request to another host was sent")
	}
}
