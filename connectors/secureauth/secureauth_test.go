package secureauth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/secureauth/secureauthsim"
	"github.com/scimbridge/scimbridge/connectors/simkit"
	"github.com/scimbridge/scimbridge/internal/testkit"
)

type sent struct {
	Method, Path, Body string
}

// fixture is a connector wired to a simulator, recording every request.
type fixture struct {
	t    *testing.T
	sim  *secureauthsim.Server
	conn *Connector
	logs *testkit.LogBuffer
	base string // the API root URL

	mu   sync.Mutex
	sent []sent
}

func newFixture(t *testing.T, opts secureauthsim.Options, edit func(*connectors.Settings)) *fixture {
	t.Helper()
	f := &fixture{t: t, sim: secureauthsim.New(opts), logs: &testkit.LogBuffer{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.sent = append(f.sent, sent{r.Method, r.URL.EscapedPath(), string(b)})
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s := connectors.Settings{
		Name:        "sa",
		Type:        "secureauth",
		BaseURL:     srv.URL + f.sim.BasePath(),
		Credentials: f.sim.Credentials(),
		Options:     map[string]string{},
		RateLimit:   10000, // request pacing is measured in connectors/limitbench
	}
	f.base = s.BaseURL
	if edit != nil {
		edit(&s)
	}
	c, err := New(s, connectors.Deps{HTTPClient: srv.Client(), Log: zerolog.New(f.logs)})
	if err != nil {
		t.Fatal(err)
	}
	f.conn = c.(*Connector)
	return f
}

func (f *fixture) apply(chs ...connectors.Change) []connectors.Result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return f.conn.Apply(ctx, chs)
}

func (f *fixture) one(ch connectors.Change) connectors.Result {
	f.t.Helper()
	return f.apply(ch)[0]
}

func (f *fixture) must(ch connectors.Change) connectors.Result {
	f.t.Helper()
	r := f.one(ch)
	if r.Err != nil {
		f.t.Fatalf("%s %s %s: %v", ch.Op, ch.Type, ch.ID, r.Err)
	}
	return r
}

// take returns and forgets the requests sent so far.
func (f *fixture) take() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sent
	f.sent = nil
	return s
}

func userFieldsOf(id string, kv ...string) map[string]any {
	m := map[string]any{"userId": id, "active": true}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func createUser(id string, kv ...string) connectors.Change {
	return connectors.Change{Type: connectors.User, ID: "scim-" + id, Op: connectors.OpUpsert, Fields: userFieldsOf(id, kv...)}
}

var passwordRE = regexp.MustCompile(`"password":"[^"]*"`)

// golden compares requests with testdata/<name>.golden.json; passwords are
// random, so they are replaced by a marker after checking the rule.
func golden(t *testing.T, name string, reqs []sent) {
	t.Helper()
	type shown struct {
		Method, Path string
		Body         json.RawMessage `json:",omitempty"`
	}
	var out []shown
	for _, r := range reqs {
		sh := shown{Method: r.Method, Path: r.Path}
		if r.Body != "" {
			sh.Body = json.RawMessage(passwordRE.ReplaceAllString(r.Body, `"password":"(random)"`))
		}
		out = append(out, sh)
	}
	got, _ := json.MarshalIndent(out, "", "  ")
	testkit.Golden(t, name+".golden.json", append(got, '\n'))
}

func TestNewValidates(t *testing.T) {
	key := secureauthsim.DefaultAppKey
	tests := []struct {
		name string
		edit func(*connectors.Settings)
		want string
	}{
		{"no app_id", func(s *connectors.Settings) { delete(s.Credentials, "app_id") }, "credentials.app_id is required"},
		{"no app_key", func(s *connectors.Settings) { delete(s.Credentials, "app_key") }, "credentials.app_key is required"},
		{"short app_key", func(s *connectors.Settings) { s.Credentials["app_key"] = key[:40] }, "credentials.app_key must be 64 hexadecimal"},
		{"bad base_url", func(s *connectors.Settings) { s.BaseURL = "ftp://x" }, "base_url must be"},
		{"bad api_version", func(s *connectors.Settings) { s.Options["api_version"] = "v3" }, "options.api_version must be v1 or v2"},
		{"bad on_delete", func(s *connectors.Settings) { s.OnDelete = "archive" }, "on_delete must be"},
		{"bad date_header", func(s *connectors.Settings) { s.Options["date_header"] = "X-Now" }, "options.date_header"},
		{"bad association_batch", func(s *connectors.Settings) { s.Options["association_batch"] = "0" }, "options.association_batch"},
		{"unknown property", func(s *connectors.Settings) { s.Mapping.User = map[string]string{"title": "title"} }, "mapping.user.title"},
		{"ExtProperty", func(s *connectors.Settings) { s.Mapping.User = map[string]string{"ExtProperty1": "title"} }, "mapping.user.ExtProperty1"},
		{"no userId", func(s *connectors.Settings) { s.Mapping.User = map[string]string{"userId": ""} }, "mapping.user.userId is required"},
		{"group field", func(s *connectors.Settings) { s.Mapping.Group = map[string]string{"description": "x"} }, "mapping.group.description"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := connectors.Settings{BaseURL: "https://idp.example.com/secureauth2", Credentials: map[string]string{"app_id": "app", "app_key": key}, Options: map[string]string{}}
			tc.edit(&s)
			_, err := New(s, connectors.Deps{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), key[:16]) {
				t.Errorf("error shows the app key: %v", err)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct{ raw, version, want string }{
		{"https://h/secureauth2", "", "https://h/secureauth2/api/v2"},
		{"https://h/secureauth2/", "v1", "https://h/secureauth2/api/v1"},
		{"https://h/secureauth2/api/v1", "", "https://h/secureauth2/api/v1"},
		{"https://h/secureauth2/api/v2/", "v1", "https://h/secureauth2/api/v1"},
		{"http://127.0.0.1:8080/my%20realm/api/v2", "", "http://127.0.0.1:8080/my%20realm/api/v2"},
	}
	for _, tc := range tests {
		if got, err := baseURL(tc.raw, tc.version); err != nil || got != tc.want {
			t.Errorf("baseURL(%q, %q) = %q, %v; want %q", tc.raw, tc.version, got, err, tc.want)
		}
	}
}

func TestCreateUpdateGolden(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	ch := createUser("jdoe", "firstName", "John", "lastName", "Doe", "email1", "jdoe@example.com", "email2", "john@home.example", "phone1", "+1 555 0100", "auxId1", "ext-1")
	if r := f.must(ch); r.TargetID != "jdoe" {
		t.Errorf("TargetID %q", r.TargetID)
	}
	reqs := f.take()
	var body createBody
	json.Unmarshal([]byte(reqs[0].Body), &body)
	if !complex(body.Password, "jdoe") {
		t.Errorf("create password breaks the complexity rule")
	}
	golden(t, "create_user", reqs)

	// Only what changed; a field that disappeared is cleared with "".
	next := connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpUpsert, TargetID: "jdoe", Prev: ch.Fields,
		Fields: userFieldsOf("jdoe", "firstName", "Johnny", "lastName", "Doe", "email1", "jdoe@example.com", "phone1", "+1 555 0100", "phone2", "+1 555 0101", "auxId1", "ext-1")}
	f.must(next)
	golden(t, "update_user", f.take())
	props, _ := f.sim.User("jdoe")
	want := map[string]string{"firstName": "Johnny", "lastName": "Doe", "email1": "jdoe@example.com", "phone1": "+1 555 0100", "phone2": "+1 555 0101", "auxId1": "ext-1"}
	if !jsonEqual(props, want) {
		t.Errorf("target holds %v, want %v", props, want)
	}

	// Nothing changed: no call.
	next.Prev = next.Fields
	f.must(next)
	if reqs := f.take(); len(reqs) != 0 {
		t.Errorf("unchanged user sent %v", reqs)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestAdoptOnDuplicate(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	f.must(createUser("jdoe", "firstName", "John", "pinHash", "1234"))
	f.take()
	// Re-delivered create (the first answer was lost): adopt, then set
	// only the mapped properties that differ.
	r := f.must(createUser("JDoe", "firstName", "Jon", "lastName", "Doe"))
	if r.TargetID != "jdoe" {
		t.Errorf("adopted TargetID %q, want the target's jdoe", r.TargetID)
	}
	reqs := f.take()
	if len(reqs) != 3 || reqs[1].Method != "GET" || reqs[2].Body != `{"properties":{"firstName":"Jon","lastName":"Doe"}}` {
		t.Errorf("requests %v", reqs)
	}
	if props, _ := f.sim.User("jdoe"); props["pinHash"] != "1234" {
		t.Errorf("an unmapped property was touched: %v", props)
	}
}

func TestRename(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	old := createUser("jdoe", "firstName", "John")
	f.must(old)
	grp := func(name string, ids ...string) connectors.Change {
		c := connectors.Change{Type: connectors.Group, ID: "g-" + name, Op: connectors.OpUpsert, Fields: map[string]any{"name": name}}
		for _, id := range ids {
			c.MembersAdded = append(c.MembersAdded, connectors.Member{ID: "scim-" + id, TargetID: id})
		}
		return c
	}
	f.must(grp("Admins", "jdoe"))
	f.must(grp("Sales, EMEA", "jdoe"))
	f.take()
	r := f.must(connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpUpsert, TargetID: "jdoe", Prev: old.Fields, Fields: userFieldsOf("john.doe", "firstName", "John")})
	if r.TargetID != "john.doe" {
		t.Errorf("TargetID %q", r.TargetID)
	}
	golden(t, "rename_user", f.take())
	for _, g := range f.sim.Groups() {
		if strings.Join(g.MemberTargetIDs, ",") != "jdoe,john.doe" {
			t.Errorf("group %s members %v", g.Name, g.MemberTargetIDs)
		}
	}
	if u := f.sim.Users(); len(u) != 2 || u[0].UserName != "jdoe" || u[0].Active {
		t.Errorf("old account not scrambled: %+v", u)
	}
	// A group rename then moves the renamed user too.
	f.must(grp("Admins", "jdoe")) // no-op re-association
	rn := grp("Administrators")
	rn.TargetID, rn.Prev = "Admins", map[string]any{"name": "Admins"}
	// Applied (the dispatcher must record the new name), old associations
	// stay: logged.
	res := f.one(rn)
	if res.Err != nil || res.TargetID != "Administrators" {
		t.Errorf("group rename: %+v, want success with the new name", res)
	}
	if !strings.Contains(f.logs.String(), `"op":"rename_group"`) {
		t.Errorf("rename not logged")
	}
	for _, g := range f.sim.Groups() {
		if g.Name == "Administrators" && strings.Join(g.MemberTargetIDs, ",") != "jdoe,john.doe" {
			t.Errorf("renamed group members %v", g.MemberTargetIDs)
		}
	}
}

func TestDeprovision(t *testing.T) {
	tests := []struct {
		onDelete    string
		allowDelete bool
		wantCalls   []string
		wantUser    bool
		wantActive  bool
		wantClass   connectors.Class // of a failed delete
		wantErr     bool
	}{
		{"", false, []string{"POST /secureauth2/api/v2/users/jdoe/resetpwd"}, true, false, 0, false},
		{"scramble_password", false, []string{"POST /secureauth2/api/v2/users/jdoe/resetpwd"}, true, false, 0, false},
		{"none", false, nil, true, true, 0, false},
		{"delete", true, []string{"DELETE /secureauth2/api/v2/users/"}, false, false, 0, false},
		{"delete", false, []string{"DELETE /secureauth2/api/v2/users/"}, true, true, connectors.Permanent, true},
	}
	for _, tc := range tests {
		t.Run(tc.onDelete+map[bool]string{true: "", false: "-disabled"}[tc.allowDelete], func(t *testing.T) {
			f := newFixture(t, secureauthsim.Options{AllowDelete: tc.allowDelete}, func(s *connectors.Settings) { s.OnDelete = tc.onDelete })
			f.must(createUser("jdoe"))
			f.take()
			del := connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpDelete, TargetID: "jdoe", Prev: userFieldsOf("jdoe")}
			r := f.one(del)
			if (r.Err != nil) != tc.wantErr || (tc.wantErr && connectors.ClassOf(r.Err) != tc.wantClass) {
				t.Fatalf("delete: %v", r.Err)
			}
			var calls []string
			for _, s := range f.take() {
				calls = append(calls, s.Method+" "+s.Path)
			}
			if strings.Join(calls, ";") != strings.Join(tc.wantCalls, ";") {
				t.Errorf("calls %v, want %v", calls, tc.wantCalls)
			}
			u := f.sim.Users()
			if (len(u) == 1) != tc.wantUser || (tc.wantUser && u[0].Active != tc.wantActive) {
				t.Errorf("users %+v", u)
			}
			if !tc.wantErr {
				// Re-delivered: the user is gone or scrambled again, done.
				if r := f.one(del); r.Err != nil {
					t.Errorf("re-delivered delete: %v", r.Err)
				}
			}
		})
	}
}

func TestDeleteGolden(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{AllowDelete: true}, func(s *connectors.Settings) {
		s.OnDelete = "delete"
		s.Options["domain"] = "corp.example"
	})
	f.must(createUser("jdoe"))
	f.take()
	f.must(connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpDelete, TargetID: "jdoe"})
	golden(t, "delete_user", f.take())
}

func TestActivation(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	on := createUser("jdoe")
	f.must(on)
	off := connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpUpsert, TargetID: "jdoe", Prev: on.Fields, Fields: map[string]any{"userId": "jdoe", "active": false}}
	f.must(off)
	if f.sim.Users()[0].Active || f.sim.PasswordWrites("jdoe") != 2 {
		t.Errorf("deactivation did not scramble: %+v", f.sim.Users())
	}
	back := connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpUpsert, TargetID: "jdoe", Prev: off.Fields, Fields: on.Fields}
	if r := f.one(back); connectors.ClassOf(r.Err) != connectors.Unsupported || r.TargetID != "jdoe" {
		t.Errorf("reactivation: %+v, want Unsupported", r)
	}
}

// A user created inactive (Okta's active:false create, or a create and a
// deactivation coalesced into one change) ends as a deactivated one does:
// scrambled, so the target holds the same whatever the coalescing.
func TestCreateInactiveScrambles(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	ch := connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpUpsert, Fields: map[string]any{"userId": "jdoe", "active": false}}
	if r := f.must(ch); r.TargetID != "jdoe" {
		t.Fatalf("create: %+v", r)
	}
	if f.sim.Users()[0].Active || f.sim.PasswordWrites("jdoe") != 2 {
		t.Errorf("an inactive create is not scrambled: %+v", f.sim.Users())
	}
}

func member(id string) connectors.Member {
	return connectors.Member{ID: "scim-" + id, TargetID: id}
}

func TestGroupAssociations(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{StrictGroups: true, Groups: []string{"Visitors"}}, func(s *connectors.Settings) {
		s.Options["association_batch"] = "3"
	})
	for _, id := range []string{"u1", "u2", "u3", "u4"} {
		f.must(createUser(id))
	}
	f.take()
	ch := connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, Fields: map[string]any{"name": "Visitors"},
		MembersAdded: []connectors.Member{member("u1"), member("ghost"), member("u2"), member("u3"), member("u4"),
			{ID: "scim-byfield", Fields: map[string]any{"userId": "ghost2"}}, {ID: "scim-nokey"}}}
	r := f.one(ch)
	if r.Err != nil || r.TargetID != "Visitors" {
		t.Fatalf("result %+v", r)
	}
	if len(r.MemberErrors) != 3 || r.MemberErrors["scim-ghost"] == nil || r.MemberErrors["scim-byfield"] == nil || r.MemberErrors["scim-nokey"] == nil {
		t.Errorf("member errors %v, want scim-ghost, scim-byfield and scim-nokey", r.MemberErrors)
	}
	for id, err := range r.MemberErrors {
		if connectors.ClassOf(err) != connectors.Permanent {
			t.Errorf("%s: %v, want permanent", id, err)
		}
	}
	golden(t, "associate_group_users", f.take())
	if g := f.sim.Groups(); strings.Join(g[0].MemberTargetIDs, ",") != "u1,u2,u3,u4" {
		t.Errorf("members %v", g[0].MemberTargetIDs)
	}

	// A lone member uses the single form; its failure is per member.
	r = f.one(connectors.Change{Type: connectors.Group, ID: "g2", Op: connectors.OpUpsert, Fields: map[string]any{"name": "Unknown"}, MembersAdded: []connectors.Member{member("u1")}})
	if r.Err != nil || connectors.ClassOf(r.MemberErrors["scim-u1"]) != connectors.Permanent {
		t.Errorf("single form failure: %+v", r)
	}
	// The failure is confirmed by reading the user's groups (an AD target
	// also refuses a member twice: TestAssociationResent).
	if reqs := f.take(); len(reqs) != 2 || reqs[0].Path != "/secureauth2/api/v2/groups/Unknown/users/u1" || reqs[0].Body != "" ||
		reqs[1].Method != "GET" || reqs[1].Path != "/secureauth2/api/v2/users/u1" {
		t.Errorf("single form requests %v", reqs)
	}
}

func TestUnsupported(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	f.must(createUser("u1"))
	f.must(connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, Fields: map[string]any{"name": "G"}, MembersAdded: []connectors.Member{member("u1")}})
	f.take()
	rm := f.one(connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpUpsert, TargetID: "G", Prev: map[string]any{"name": "G"}, Fields: map[string]any{"name": "G"}, MembersRemoved: []connectors.Member{member("u1")}})
	del := f.one(connectors.Change{Type: connectors.Group, ID: "g1", Op: connectors.OpDelete, TargetID: "G"})
	for name, r := range map[string]connectors.Result{"member removal": rm, "group delete": del} {
		if connectors.ClassOf(r.Err) != connectors.Unsupported || !strings.Contains(r.Err.Error(), "SecureAuth cannot") {
			t.Errorf("%s: %v, want Unsupported", name, r.Err)
		}
	}
	if reqs := f.take(); len(reqs) != 0 {
		t.Errorf("unsupported operations sent %v", reqs)
	}
	if g := f.sim.Groups(); len(g[0].MemberTargetIDs) != 1 {
		t.Errorf("group %+v", g)
	}
}

// When a change also carries what the dispatcher must record (a rename,
// member failures), removals are reported per member and Err stays nil.
func TestRemovalWithOtherOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		change connectors.Change
		want   map[string]connectors.Class
	}{
		{"with a failed add", connectors.Change{Fields: map[string]any{"name": "G"}, TargetID: "G",
			MembersAdded: []connectors.Member{member("ghost")}, MembersRemoved: []connectors.Member{member("u1")}},
			map[string]connectors.Class{"scim-ghost": connectors.Permanent, "scim-u1": connectors.Unsupported}},
		{"with a rename", connectors.Change{Fields: map[string]any{"name": "H"}, TargetID: "G", Prev: map[string]any{"name": "G"},
			MembersRemoved: []connectors.Member{member("u1")}},
			map[string]connectors.Class{"scim-u1": connectors.Unsupported}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, secureauthsim.Options{}, nil)
			f.must(createUser("u1"))
			tc.change.Type, tc.change.ID, tc.change.Op = connectors.Group, "g1", connectors.OpUpsert
			r := f.one(tc.change)
			if r.Err != nil || r.TargetID != tc.change.Fields["name"] {
				t.Fatalf("result %+v", r)
			}
			got := map[string]connectors.Class{}
			for id, err := range r.MemberErrors {
				got[id] = connectors.ClassOf(err)
			}
			if !jsonEqual(got, tc.want) {
				t.Errorf("member errors %v, want %v", got, tc.want)
			}
		})
	}
}

// The status field decides, not the HTTP status: answers from a server
// that says 200 to everything.
func TestStatusFieldDecides(t *testing.T) {
	tests := []struct {
		name, body string
		code       int
		class      connectors.Class
		ok         bool
	}{
		{"success", `{"status":"success","message":""}`, 200, 0, true},
		{"failed with 200", `{"status":"failed","message":"Invalid email."}`, 200, connectors.Permanent, false},
		{"server_error with 200", `{"status":"server_error","message":"boom"}`, 200, connectors.Transient, false},
		{"invalid with 200", `{"status":"invalid","message":"Invalid credentials."}`, 200, connectors.Permanent, false},
		{"no status", `{}`, 200, connectors.Permanent, false},
		{"not JSON", `<html>`, 200, connectors.Permanent, false},
		{"success body, 503", `{"status":"success"}`, 503, connectors.Transient, false},
		{"locked", `{"status":"error","message":"busy"}`, 423, connectors.Transient, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				date := time.Now().UTC().Format(http.TimeFormat)
				w.Header().Set("X-SA-Date", date)
				w.Header().Set("X-SA-Signature", respSig(date, tc.body))
				w.WriteHeader(tc.code)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, err := New(connectors.Settings{BaseURL: srv.URL + "/secureauth2", Credentials: map[string]string{"app_id": vectorAppID, "app_key": vectorAppKey}}, connectors.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			r := c.Apply(context.Background(), []connectors.Change{createUser("jdoe")})[0]
			if tc.ok != (r.Err == nil) || (!tc.ok && connectors.ClassOf(r.Err) != tc.class) {
				t.Errorf("result %+v, want ok=%v class %v", r, tc.ok, tc.class)
			}
		})
	}
}

func TestTamperedResponse(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	// The update's answer is replaced by a forged success on the way: it
	// must not be taken as one, nor retried.
	f.must(createUser("jdoe", "firstName", "John"))
	f.sim.TamperNext(1)
	r := f.one(connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpUpsert, TargetID: "jdoe", Prev: userFieldsOf("jdoe", "firstName", "John"), Fields: userFieldsOf("jdoe", "firstName", "Eve")})
	if connectors.ClassOf(r.Err) != connectors.Permanent || !strings.Contains(r.Err.Error(), "tampered") {
		t.Fatalf("tampered answer: %+v, want a permanent tampered error", r)
	}
	if !strings.Contains(f.logs.String(), `"level":"error"`) || !strings.Contains(f.logs.String(), "SECURITY") {
		t.Errorf("tampered answer not logged loudly:\n%s", f.logs)
	}
	if len(f.take()) != 2 {
		t.Errorf("a tampered answer was retried")
	}
}

func TestClockSkew(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{Now: func() time.Time { return time.Now().Add(6 * time.Minute) }}, nil)
	r := f.one(createUser("jdoe"))
	if connectors.ClassOf(r.Err) != connectors.Permanent || !strings.Contains(r.Err.Error(), "Clock skew") {
		t.Errorf("skewed clock: %v, want permanent with the server's message", r.Err)
	}
	if n := len(f.take()); n != 2 {
		t.Errorf("%d attempts, want 2 (one fresh re-sign after a 401)", n)
	}
}

// Identical requests in the same millisecond still differ, so the
// simulator (which refuses replays) accepts them all.
func TestIdenticalRequestsInOneMillisecond(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	f.must(createUser("jdoe"))
	frozen := time.Now()
	f.conn.http.Transport.(*Signer).now = func() time.Time { return frozen }
	ch := connectors.Change{Type: connectors.User, ID: "scim-jdoe", Op: connectors.OpUpsert, TargetID: "jdoe", Fields: userFieldsOf("jdoe")}
	for range 3 {
		f.must(ch) // the same GET each time, nothing to change
	}
	if f.sim.Calls() != 4 {
		t.Errorf("calls %d, want 4", f.sim.Calls())
	}
}

// One 401 (here a replay refused, as after a transport-level resend) is
// retried once, signed afresh; the change lands.
func TestUnauthorizedRetriedOnce(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{}, nil)
	var mu sync.Mutex
	var auths []string
	refused := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		first := !refused
		refused = true
		mu.Unlock()
		if first {
			body := `{"status":"invalid","message":"Authentication header has been seen before."}`
			date := time.Now().UTC().Format(http.TimeFormat)
			w.Header().Set("X-SA-Date", date)
			w.Header().Set("X-SA-Signature", respSig(date, body))
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, body)
			return
		}
		f.sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := New(connectors.Settings{BaseURL: srv.URL + f.sim.BasePath(), Credentials: f.sim.Credentials()}, connectors.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Apply(context.Background(), []connectors.Change{createUser("jdoe")})[0]; r.Err != nil || r.TargetID != "jdoe" {
		t.Fatalf("result %+v", r)
	}
	if len(auths) != 2 || auths[0] == auths[1] {
		t.Errorf("%d attempts (distinct: %v), want 2 differently signed", len(auths), len(auths) == 2 && auths[0] != auths[1])
	}
}

func TestTransportErrorsAreTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, _ := New(connectors.Settings{BaseURL: url, Credentials: map[string]string{"app_id": vectorAppID, "app_key": vectorAppKey}}, connectors.Deps{})
	r := c.Apply(context.Background(), []connectors.Change{createUser("jdoe")})[0]
	if connectors.ClassOf(r.Err) != connectors.Transient {
		t.Errorf("closed server: %v, want transient", r.Err)
	}
	// An unsigned 5xx (a proxy's) is transient; an unsigned 200 is not trusted.
	for code, want := range map[int]connectors.Class{502: connectors.Transient, 200: connectors.Permanent} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			io.WriteString(w, `{"status":"success","message":""}`)
		}))
		c, _ := New(connectors.Settings{BaseURL: srv.URL, Credentials: map[string]string{"app_id": vectorAppID, "app_key": vectorAppKey}}, connectors.Deps{})
		r := c.Apply(context.Background(), []connectors.Change{createUser("jdoe")})[0]
		if connectors.ClassOf(r.Err) != want {
			t.Errorf("unsigned %d: %v, want %v", code, r.Err, want)
		}
		srv.Close()
	}
}

// No secret (app key, generated passwords, PINs, knowledge-base answers)
// appears in a log line or an error message.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	f := newFixture(t, secureauthsim.Options{Faults: simkit.Faults{ErrorRate: 0.3, Seed: 3}}, nil)
	var errs []string
	record := func(rs []connectors.Result) {
		for _, r := range rs {
			if r.Err != nil {
				errs = append(errs, r.Err.Error())
			}
			for _, e := range r.MemberErrors {
				errs = append(errs, e.Error())
			}
		}
	}
	for i := range 6 {
		id := "user" + string(rune('a'+i))
		record(f.apply(createUser(id, "pinHash", "zq8642x", "email1", id+"@example.com")))
		record(f.apply(connectors.Change{Type: connectors.User, ID: "scim-" + id, Op: connectors.OpDelete, TargetID: id}))
	}
	// An account made outside the bridge, with knowledge-base answers,
	// adopted: the GET answer carries them.
	signer, _ := NewSigner(secureauthsim.DefaultAppID, secureauthsim.DefaultAppKey, nil)
	for try := 0; ; try++ { // past the injected 500s
		resp, err := (&http.Client{Transport: signer}).Post(f.base+"/users/", "application/json", strings.NewReader(
			`{"userId":"kb","password":"Xy7!longpass","knowledgeBase":{"kbq1":{"question":"Colour?","answer":"kb-answer-77q"}}}`))
		if err != nil || try == 10 {
			t.Fatalf("seeding: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
	}
	for try := 0; ; try++ { // redelivered until adopted, as the dispatcher would
		rs := f.apply(createUser("kb", "firstName", "K"))
		record(rs)
		if rs[0].Err == nil && rs[0].TargetID == "kb" {
			break
		}
		if try == 10 {
			t.Fatalf("adopting kb: %v", rs[0].Err)
		}
	}
	f.sim.TamperNext(1)
	record(f.apply(createUser("tampered", "pinHash", "zq8642x")))
	record(f.apply(createUser("bad/id", "pinHash", "zq8642x")))
	record(f.apply(connectors.Change{Type: connectors.Group, ID: "g", Op: connectors.OpUpsert, Fields: map[string]any{"name": "G"}, MembersAdded: []connectors.Member{member("nobody"), member("usera")}}))

	secrets := []string{secureauthsim.DefaultAppKey, "zq8642x", "kb-answer-77q", "Xy7!longpass"}
	for _, s := range f.take() {
		for _, m := range passwordRE.FindAllString(s.Body, -1) {
			secrets = append(secrets, strings.TrimSuffix(strings.TrimPrefix(m, `"password":"`), `"`))
		}
	}
	if len(secrets) < 8 {
		t.Fatalf("only %d secrets captured; the scenario did not run", len(secrets))
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `"op":"create_user"`) || len(errs) == 0 {
		t.Fatalf("scenario produced no logs or no errors:\n%s\n%v", logs, errs)
	}
	for _, s := range secrets {
		for _, where := range append([]string{logs}, errs...) {
			if strings.Contains(where, s) {
				t.Errorf("secret %.4s… appears in %q", s, where)
			}
		}
	}
}

func TestDefaultMappingCompiles(t *testing.T) {
	m, err := newMapper()
	if err != nil {
		t.Fatal(err)
	}
	got, err := m(connectors.User, map[string]any{
		"userName":     "jdoe@example.com",
		"externalId":   "E1",
		"active":       true,
		"name":         map[string]any{"givenName": "John", "familyName": "Doe"},
		"emails":       []any{map[string]any{"value": "jdoe@example.com"}, map[string]any{"value": "j@home.example"}},
		"phoneNumbers": []any{map[string]any{"value": "+1 555 0100"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"userId": "jdoe@example.com", "firstName": "John", "lastName": "Doe", "email1": "jdoe@example.com",
		"email2": "j@home.example", "phone1": "+1 555 0100", "auxId1": "E1", "active": true}
	if !jsonEqual(got, want) {
		t.Errorf("mapped %v, want %v", got, want)
	}
}
