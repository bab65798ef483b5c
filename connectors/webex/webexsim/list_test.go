package webexsim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// attributes and excludedAttributes project every listed resource (RFC
// 7644 §3.4.2.5): names in any case, sub-attributes, URN-qualified names,
// whole extensions; id and schemas always come back; the ListResponse
// around them is unchanged.
func TestListProjection(t *testing.T) {
	s, c := newSim(t, Options{})
	status, _, body := c.req("POST", base+"/Users", `{"schemas":["`+schemaUser+`","`+schemaEnterprise+`"],"userName":"ann@example.com",`+
		`"displayName":"Ann","name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann@example.com","type":"work","primary":true}],`+
		`"`+schemaEnterprise+`":{"department":"R&D","costCenter":"7"}}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, body)
	}
	ann := body["id"].(string)
	s.AddGroup("Eng", ann)
	ent := url.QueryEscape(schemaEnterprise)

	tests := []struct {
		path string
		want string   // the first resource, exactly (when set)
		keys []string // else: its top-level keys
	}{
		{"/Users?attributes=id", `{"id":"` + ann + `","schemas":["` + schemaUser + `","` + schemaEnterprise + `"]}`, nil},
		{"/Users?attributes=ID", "", []string{"id", "schemas"}},
		{"/Users?attributes=nosuch", "", []string{"id", "schemas"}},
		{"/Users?attributes=userName,name.givenName", "", []string{"id", "name", "schemas", "userName"}},
		{"/Users?attributes=" + url.QueryEscape(schemaUser+":USERNAME"), "", []string{"id", "schemas", "userName"}},
		{"/Users?attributes=" + url.QueryEscape(schemaEnterprise+":department"), "", []string{"id", "schemas", schemaEnterprise}},
		{"/Users?attributes=" + ent, "", []string{"id", "schemas", schemaEnterprise}},
		{"/Users?attributes=emails.value", "", []string{"emails", "id", "schemas"}},
		{"/Users?excludedAttributes=meta,emails,id,schemas," + ent, "", []string{"displayName", "id", "name", "schemas", "userName"}},
		{"/Groups?attributes=id", "", []string{"id", "schemas"}},
		{"/Groups?attributes=id&includeMembers=true", "", []string{"id", "schemas"}},
		{"/Groups?attributes=members.value&includeMembers=true", "", []string{"id", "members", "schemas"}},
		{"/Groups?excludedAttributes=meta", "", []string{"displayName", "id", "schemas"}},
		{"/Groups", "", []string{"displayName", "id", "meta", "schemas"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, _, body := c.req("GET", base+tt.path, "")
			res, _ := body["Resources"].([]any)
			if status != 200 || len(res) != 1 || body["totalResults"] != float64(1) || body["itemsPerPage"] != float64(1) {
				t.Fatalf("%d %v", status, body)
			}
			r := res[0].(map[string]any)
			if tt.want != "" {
				if got, _ := json.Marshal(r); string(got) != tt.want {
					t.Errorf("got %s\nwant %s", got, tt.want)
				}
				return
			}
			var keys []string
			for k := range r {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.keys) {
				t.Errorf("keys %v, want %v (%v)", keys, tt.keys, r)
			}
		})
	}

	// Sub-attributes keep only what was asked, inside objects and in every
	// value of a multi-valued attribute.
	_, _, body = c.req("GET", base+"/Users?attributes=name.givenName,emails.value,"+url.QueryEscape(schemaEnterprise+":department"), "")
	got, _ := json.Marshal(body["Resources"].([]any)[0].(map[string]any))
	for _, want := range []string{`"name":{"givenName":"Ann"}`, `"emails":[{"value":"ann@example.com"}]`, `{"department":"R\u0026D"}`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
	_, _, body = c.req("GET", base+"/Users?excludedAttributes=name.givenName", "")
	if name := body["Resources"].([]any)[0].(map[string]any)["name"]; fmt.Sprint(name) != "map[familyName:Lee]" {
		t.Errorf("name after excluding givenName: %v", name)
	}
	_, _, body = c.req("GET", base+"/Groups?attributes=members.value&includeMembers=true", "")
	if m := body["Resources"].([]any)[0].(map[string]any)["members"]; fmt.Sprint(m) != "[map[value:"+ann+"]]" {
		t.Errorf("members.value: %v", m)
	}
}

// Paging of GET /Users and /Groups: totalResults, itemsPerPage = the number
// returned, startIndex echoed (less than 1 is 1), count capped at 500 (or
// Options.MaxCount), and the token checked like every resource request.
func TestListPagingCaps(t *testing.T) {
	type page struct {
		query         string
		total, n, idx int
	}
	tests := []struct {
		name  string
		opts  Options
		users int
		path  string
		pages []page
	}{
		{"users capped at 500", Options{}, 620, "/Users", []page{
			{"?count=1000", 620, 500, 1},
			{"?startIndex=501&count=1000&attributes=id", 620, 120, 501},
			{"?startIndex=0&count=2", 620, 2, 1},
			{"?startIndex=-4&count=-1", 620, 0, 1},
			{"?startIndex=621", 620, 0, 621},
		}},
		{"users MaxCount", Options{MaxCount: 3}, 7, "/Users", []page{
			{"", 7, 3, 1},
			{"?count=500&attributes=id", 7, 3, 1},
			{"?startIndex=4&count=2", 7, 2, 4},
			{"?startIndex=7&count=5", 7, 1, 7},
		}},
		{"groups", Options{}, 7, "/Groups", []page{
			{"?attributes=id", 7, 7, 1},
			{"?startIndex=3&count=2&attributes=id", 7, 2, 3},
			{"?startIndex=7&count=5", 7, 1, 7},
			{"?startIndex=8", 7, 0, 8},
			{"?count=0", 7, 0, 1},
		}},
		{"groups MaxCount", Options{MaxCount: 4}, 7, "/Groups", []page{
			{"?count=100", 7, 4, 1},
			{"?startIndex=5&count=100", 7, 3, 5},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newSim(t, tt.opts)
			var all []string
			for i := range tt.users {
				if tt.path == "/Users" {
					all = append(all, s.AddUser(fmt.Sprintf("p%d@example.com", i)))
				} else {
					all = append(all, s.AddGroup(fmt.Sprintf("G%d", i)))
				}
			}
			for _, p := range tt.pages {
				status, _, body := c.req("GET", base+tt.path+p.query, "")
				res, ok := body["Resources"].([]any)
				if status != 200 || !ok {
					t.Fatalf("%s: %d %v", p.query, status, body)
				}
				if body["totalResults"] != float64(p.total) || len(res) != p.n || body["itemsPerPage"] != float64(p.n) || body["startIndex"] != float64(p.idx) {
					t.Errorf("%s: totalResults %v itemsPerPage %v startIndex %v len %d", p.query, body["totalResults"], body["itemsPerPage"], body["startIndex"], len(res))
				}
				for i, r := range res { // creation order from startIndex
					if id := r.(map[string]any)["id"]; id != all[p.idx-1+i] {
						t.Errorf("%s: resource %d is %v, want %s", p.query, i, id, all[p.idx-1+i])
					}
				}
			}
			status, _, body := c.req("GET", base+tt.path+"?attributes=id", "", "Authorization", "Bearer nope")
			if status != 401 {
				t.Errorf("bad token: %d", status)
			}
			checkError(t, status, body)
		})
	}
}
