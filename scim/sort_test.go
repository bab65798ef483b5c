package scim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// names lists the userName (or displayName) of each resource of a list answer.
func names(t *testing.T, r resp, attr string) []string {
	t.Helper()
	var out []string
	for _, x := range r.body["Resources"].([]any) {
		v, _ := x.(map[string]any)[attr].(string)
		out = append(out, v)
	}
	return out
}

// TestSort: sortBy/sortOrder on GET and .search (RFC 7644 §3.4.2.3).
func TestSort(t *testing.T) {
	e := newEnv(t, Options{})
	// Created in an order that is not the sorted one; family names with a
	// gap (carol has none) and mixed case.
	for _, u := range []struct{ name, family string }{
		{"bob@x", "zed"}, {"Alice@x", "Young"}, {"carol@x", ""}, {"dave@x", "adams"}, {"Eve@x", "Brown"},
	} {
		extra := map[string]any{}
		if u.family != "" {
			extra["name"] = map[string]any{"familyName": u.family}
		}
		e.createUser(u.name, extra)
	}
	for _, g := range []string{"sales", "Admins", "dev"} {
		e.createGroup(g)
	}
	tests := []struct {
		name, query string
		want        []string
		attr        string // userName unless set
		path        string // /Users unless set
	}{
		{"userName ascending (index)", "sortBy=userName", []string{"Alice@x", "bob@x", "carol@x", "dave@x", "Eve@x"}, "", ""},
		{"userName descending (index)", "sortBy=userName&sortOrder=descending", []string{"Eve@x", "dave@x", "carol@x", "bob@x", "Alice@x"}, "", ""},
		{"userName with URN prefix", "sortBy=urn:ietf:params:scim:schemas:core:2.0:User:userName", []string{"Alice@x", "bob@x", "carol@x", "dave@x", "Eve@x"}, "", ""},
		{"userName page 2 of 2", "sortBy=userName&startIndex=3&count=2", []string{"carol@x", "dave@x"}, "", ""},
		{"userName past the end", "sortBy=userName&startIndex=9", nil, "", ""},
		{"familyName: missing last ascending", "sortBy=name.familyName", []string{"dave@x", "Eve@x", "Alice@x", "bob@x", "carol@x"}, "", ""},
		{"familyName: missing first descending", "sortBy=name.familyName&sortOrder=descending", []string{"carol@x", "bob@x", "Alice@x", "Eve@x", "dave@x"}, "", ""},
		{"in-memory sort paged", "sortBy=name.familyName&startIndex=2&count=2", []string{"Eve@x", "Alice@x"}, "", ""},
		{"filter and sort", "filter=" + url.QueryEscape(`userName sw "a" or userName sw "b" or userName sw "e"`) + "&sortBy=userName&sortOrder=descending", []string{"Eve@x", "bob@x", "Alice@x"}, "", ""},
		{"filter and sort by index attribute", "filter=" + url.QueryEscape(`userName eq "bob@x"`) + "&sortBy=userName", []string{"bob@x"}, "", ""},
		{"sort with projection", "sortBy=userName&attributes=userName&count=2", []string{"Alice@x", "bob@x"}, "", ""},
		{"sortOrder without sortBy keeps creation order", "sortOrder=descending", []string{"bob@x", "Alice@x", "carol@x", "dave@x", "Eve@x"}, "", ""},
		{"groups by displayName (index)", "sortBy=displayName", []string{"Admins", "dev", "sales"}, "displayName", "/Groups"},
		{"groups by displayName descending", "sortBy=displayName&sortOrder=descending&excludedAttributes=members", []string{"sales", "dev", "Admins"}, "displayName", "/Groups"},
		{"groups by id sorts in memory", "sortBy=meta.created&attributes=displayName", []string{"sales", "Admins", "dev"}, "displayName", "/Groups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, attr := "/Users", "userName"
			if tt.path != "" {
				path, attr = tt.path, tt.attr
			}
			r := e.must(http.StatusOK, "GET", path+"?"+tt.query, nil)
			if got := names(t, r, attr); !slices.Equal(got, tt.want) {
				t.Errorf("GET %s?%s = %v, want %v", path, tt.query, got, tt.want)
			}
			// .search takes the same parameters in its body.
			body := map[string]any{}
			q, _ := url.ParseQuery(tt.query)
			for k, v := range q {
				switch k {
				case "startIndex", "count":
					var n int
					fmt.Sscan(v[0], &n)
					body[k] = n
				case "attributes", "excludedAttributes":
					body[k] = strings.Split(v[0], ",")
				default:
					body[k] = v[0]
				}
			}
			r = e.must(http.StatusOK, "POST", path+"/.search", body)
			if got := names(t, r, attr); !slices.Equal(got, tt.want) {
				t.Errorf(".search %v = %v, want %v", body, got, tt.want)
			}
			if r.body["totalResults"] == nil {
				t.Errorf("no totalResults")
			}
		})
	}
	for _, bad := range []string{"sortBy=name", "sortBy=" + url.QueryEscape(`emails[type eq "work"].value`), "sortBy=userName&sortOrder=up", "sortOrder=sideways"} {
		r := e.do("GET", "/Users?"+bad, nil)
		if r.status != http.StatusBadRequest || r.body["scimType"] != "invalidValue" {
			t.Errorf("GET /Users?%s: %d %v, want 400 invalidValue", bad, r.status, r.body["scimType"])
		}
	}
	for _, q := range []string{"sortBy=name.familyName&count=0", "sortBy=userName&count=0"} {
		r := e.must(http.StatusOK, "GET", "/Users?"+q, nil)
		if r.body["totalResults"] != float64(5) || len(r.body["Resources"].([]any)) != 0 {
			t.Errorf("GET /Users?%s: %v", q, r.raw)
		}
	}
	r := e.must(http.StatusOK, "GET", "/ServiceProviderConfig", nil)
	if get(r.body, "sort.supported") != true {
		t.Errorf("sort.supported = %v", get(r.body, "sort.supported"))
	}
}

// TestSortTooMany: past maxSortResources an in-memory sort answers a
// clear 400; the indexed sorts do not count against it.
func TestSortTooMany(t *testing.T) {
	old := maxSortResources
	maxSortResources = 3
	t.Cleanup(func() { maxSortResources = old })
	e := newEnv(t, Options{})
	for i := range 5 {
		e.createUser(fmt.Sprintf("u%d@x", i), map[string]any{"title": fmt.Sprint(5 - i)})
	}
	r := e.do("GET", "/Users?sortBy=title", nil)
	if r.status != http.StatusBadRequest || r.body["scimType"] != "tooMany" || !strings.Contains(r.body["detail"].(string), "userName") {
		t.Errorf("sort of 5 with a limit of 3: %d %v", r.status, r.body)
	}
	r = e.do("GET", "/Users?sortBy=title&filter="+url.QueryEscape(`userName sw "u1" or userName sw "u2"`), nil)
	if r.status != http.StatusOK || !slices.Equal(names(t, r, "userName"), []string{"u2@x", "u1@x"}) {
		t.Errorf("filtered sort of 2: %d %v", r.status, r.raw)
	}
	r = e.must(http.StatusOK, "GET", "/Users?sortBy=userName&count=2", nil)
	if got := names(t, r, "userName"); !slices.Equal(got, []string{"u0@x", "u1@x"}) || r.body["totalResults"] != float64(5) {
		t.Errorf("indexed sort: %v %v", got, r.body["totalResults"])
	}
}

// TestPagesInSequence: pages fetched one after another (the remembered
// cursor) give what the creation order says, also after creates and
// deletes between them.
func TestPagesInSequence(t *testing.T) {
	e := newEnv(t, Options{})
	var order []string // userNames in creation order
	created := 0
	add := func(n int) {
		for range n {
			name := fmt.Sprintf("p%d@x", created)
			created++
			e.createUser(name)
			order = append(order, name)
		}
	}
	add(25)
	page := func(start, count int) []string {
		r := e.must(http.StatusOK, "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d&attributes=userName", start, count), nil)
		if r.body["totalResults"] != float64(len(order)) {
			t.Fatalf("totalResults %v, want %d", r.body["totalResults"], len(order))
		}
		return names(t, r, "userName")
	}
	check := func(step string, start, count int) {
		t.Helper()
		want := order[min(start-1, len(order)):min(start-1+count, len(order))]
		if got := page(start, count); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: page %d+%d = %v, want %v", step, start, count, got, want)
		}
	}
	for start := 1; start <= 25; start += 10 {
		check("first pass", start, 10)
	}
	if _, ok := e.s.pages.m[pageKey{"User", 21}]; !ok {
		t.Fatal("no cursor remembered for the page after 11-20")
	}
	check("again, from remembered cursors", 11, 10)
	add(3) // creates append: remembered positions stay right
	check("after creates", 11, 10)
	check("after creates", 21, 10)
	// Delete the 5th user: everything after it moves up by one.
	var id string
	r := e.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+order[4]+`"`), nil)
	id = get(r.body, "Resources.0.id").(string)
	e.must(http.StatusNoContent, "DELETE", "/Users/"+id, nil)
	order = slices.Delete(order, 4, 5)
	check("after a delete", 11, 10)
	check("after a delete", 21, 10)
	add(1) // a create after a delete: the cursor must not take it for no change
	check("after delete and create", 11, 10)
}
