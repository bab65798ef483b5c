package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/admin"
	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/testconn"
	"github.com/scimbridge/scimbridge/store"
)

// readableConn keeps each user's fields and can read one back (a
// connectors.FieldReader); edit changes one behind the bridge's back.
type readableConn struct {
	mu    sync.Mutex
	users map[string]map[string]any // target id -> fields
}

func (c *readableConn) Name() string { return "readable" }
func (c *readableConn) Limits() connectors.Limits {
	return connectors.Limits{BatchSize: 1, Rate: 100, Burst: 1, Timeout: time.Second}
}

func (c *readableConn) Apply(_ context.Context, batch []connectors.Change) []connectors.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]connectors.Result, len(batch))
	for i, ch := range batch {
		tid := ch.TargetID
		if tid == "" {
			tid = "t-" + ch.ID
		}
		if c.users[tid] == nil {
			c.users[tid] = map[string]any{}
		}
		for k, v := range ch.Fields { // only what changed, as a diffing target
			if ch.Prev == nil || fmt.Sprint(ch.Prev[k]) != fmt.Sprint(v) {
				c.users[tid][k] = v
			}
		}
		out[i] = connectors.Result{TargetID: tid}
	}
	return out
}

func (c *readableConn) ReadFields(_ context.Context, _, tid string) (map[string]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.users[tid]
	if !ok {
		return nil, connectors.ErrTargetGone
	}
	return map[string]any{"userName": f["userName"], "displayName": f["displayName"]}, nil
}

func (c *readableConn) edit(tid, field string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users[tid][field] = v
}

func (c *readableConn) field(tid, field string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.users[tid])[field]
}

// POST /admin/resources/{type}/{id}/check-fields reports each
// connector's view of one resource (drifted with field, target value and
// SCIM's; not available for a connector that cannot read one object);
// ?repair=true queues SCIM's values and the target gets them back; both
// are in the resource's timeline as the admin's.
func TestCheckFieldsEndpoint(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := activitylog.New(db, activitylog.Options{})
	rc := &readableConn{users: map[string]map[string]any{}}
	other := testconn.New("test", testconn.NewTarget(testconn.Options{}), connectors.Limits{BatchSize: 10, Rate: 50, Timeout: time.Second})
	d, err := connectors.NewDispatcher(db, []connectors.Target{
		{Connector: rc, Settings: connectors.Settings{Name: "readable", Type: "readable"}},
		{Connector: other, Settings: connectors.Settings{Name: "test", Type: "testconn"}},
	}, zerolog.Nop(), nil, connectors.WithBackoff(time.Millisecond, 5*time.Millisecond), connectors.WithPollInterval(5*time.Millisecond),
		connectors.WithActivity(log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	drain := func() {
		t.Helper()
		for range 5000 {
			st, _ := d.Status()
			if st[0].QueueDepth+st[1].QueueDepth+st[0].InFlight+st[1].InFlight == 0 {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Fatal("queues not drained")
	}
	doc := map[string]any{"id": "u1", "userName": "ann@example.com", "displayName": "Ann Example"}
	err = db.Update(func(tx *store.Tx) error {
		b, _ := json.Marshal(doc)
		if _, err := tx.CreateResource(store.TypeUser, "u1", b); err != nil {
			return err
		}
		return d.Enqueue(tx, store.Change{Type: store.TypeUser, ID: "u1", After: doc})
	})
	if err != nil {
		t.Fatal(err)
	}
	drain()
	srv := httptest.NewServer(admin.Handler(d, token, admin.WithService(&admin.Service{Dispatcher: d, DB: db})))
	t.Cleanup(srv.Close)
	post := func(path, tok string) (int, admin.FieldReport, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep admin.FieldReport
		raw, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(raw, &rep)
		return resp.StatusCode, rep, string(raw)
	}
	byName := func(rep admin.FieldReport) map[string]connectors.FieldCheck {
		out := map[string]connectors.FieldCheck{}
		for _, c := range rep.Connectors {
			out[c.Connector] = c
		}
		return out
	}

	if code, _, body := post("/admin/resources/Users/u1/check-fields", ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d %s", code, body)
	}
	code, rep, body := post("/admin/resources/Users/u1/check-fields", token)
	if code != http.StatusOK || rep.Type != store.TypeUser || rep.ID != "u1" || rep.Repair {
		t.Fatalf("check: %d %s", code, body)
	}
	if c := byName(rep); c["readable"].State != connectors.FieldsInSync || c["test"].State != connectors.FieldsUnavailable ||
		!strings.Contains(c["test"].Message, "field check not available for test") {
		t.Errorf("before any edit: %s", body)
	}

	rc.edit("t-u1", "displayName", "Renamed By Hand")
	code, rep, body = post("/admin/resources/users/u1/check-fields", token)
	want := []connectors.FieldDrift{{ID: "u1", Field: "displayName", Target: "Renamed By Hand", SCIM: "Ann Example"}}
	if c := byName(rep)["readable"]; code != http.StatusOK || c.State != connectors.FieldsDrifted || fmt.Sprint(c.Fields) != fmt.Sprint(want) || c.Repaired {
		t.Fatalf("drifted: %d %s", code, body)
	}
	drain()
	if rc.field("t-u1", "displayName") != "Renamed By Hand" {
		t.Fatal("a check without repair changed the target")
	}

	code, rep, body = post("/admin/resources/Users/u1/check-fields?repair=true", token)
	if c := byName(rep)["readable"]; code != http.StatusOK || !rep.Repair || c.State != connectors.FieldsDrifted || !c.Repaired {
		t.Fatalf("repair: %d %s", code, body)
	}
	drain()
	if got := rc.field("t-u1", "displayName"); got != "Ann Example" {
		t.Errorf("displayName %v after repair", got)
	}
	if _, rep, body = post("/admin/resources/Users/u1/check-fields", token); byName(rep)["readable"].State != connectors.FieldsInSync {
		t.Errorf("after repair: %s", body)
	}

	for path, wantCode := range map[string]int{
		"/admin/resources/Users/nobody/check-fields":          http.StatusNotFound,
		"/admin/resources/Groups/u1/check-fields":             http.StatusNotFound,
		"/admin/resources/Printers/u1/check-fields":           http.StatusBadRequest,
		"/admin/resources/Users/u1/check-fields?repair=maybe": http.StatusBadRequest,
	} {
		if code, _, body := post(path, token); code != wantCode || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d", path, code, body, wantCode)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/resources/Users/u1/check-fields", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp.StatusCode, err)
	}

	p, err := log.Timeline(context.Background(), "u1", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, ev := range p.Events {
		if ev.Kind == activity.KindOperator && ev.Client == connectors.Operator {
			ops = append(ops, ev.Op)
		}
		if strings.Contains(ev.Detail, "Renamed By Hand") {
			t.Errorf("a target value in the activity log: %+v", ev)
		}
	}
	if strings.Join(ops, ",") != "check-fields,repair-fields,check-fields,check-fields" { // newest first
		t.Errorf("operator events %v", ops)
	}
}
