package hrimport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// Export, then import the export: nothing changes, nothing is written.
func TestExportImportRoundTrip(t *testing.T) {
	b := newTestBridge(t, scim.Options{})
	cfg := workdayConfig(t)
	if _, _, err := b.run(fixture(t, "workday.csv"), Options{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := Export(context.Background(), b.client(), &out, ExportOptions{})
	if err != nil || n != 5 {
		t.Fatalf("export: %d users, %v", n, err)
	}
	if !bytes.HasPrefix(out.Bytes(), utf8BOM) || !strings.Contains(out.String(), `"Head of`+"\n"+`Engineering"`) ||
		!strings.Contains(out.String(), "Zoë") || !strings.Contains(out.String(), "Berlin; Engineering") && !strings.Contains(out.String(), "Engineering; Berlin") {
		t.Errorf("export:\n%s", out.String())
	}
	before := b.writes.Load()
	sum, report, err := b.run(out.Bytes(), Options{Config: Config{Groups: nil}})
	if err != nil {
		t.Fatal(err)
	}
	if b.writes.Load() != before || sum.Unchanged != 5 || !sum.OK() {
		t.Errorf("importing the export changed something: %s\n%s", sum, report)
	}
}

func TestExportJSONLinesAndFilter(t *testing.T) {
	b := newTestBridge(t, scim.Options{MaxResults: 3}) // several pages
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		b.createUser(map[string]any{"userName": n + "@example.com", "title": map[bool]string{true: "x", false: "y"}[n < "d"]})
	}
	var out bytes.Buffer
	n, err := Export(context.Background(), b.client(), &out, ExportOptions{Format: "jsonl", Filter: `title eq "y"`, Columns: []string{"userName"}})
	if err != nil || n != 4 {
		t.Fatalf("%d %v", n, err)
	}
	sc := bufio.NewScanner(&out)
	var names []string
	for sc.Scan() {
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["title"] != nil {
			t.Errorf("projection ignored: %v", doc)
		}
		names = append(names, doc["userName"].(string))
	}
	if strings.Join(names, ",") != "d@example.com,e@example.com,f@example.com,g@example.com" {
		t.Errorf("exported %v", names)
	}
	if _, err := Export(context.Background(), b.client(), &out, ExportOptions{Columns: []string{"nope"}}); err == nil {
		t.Error("unknown column accepted")
	}
}
