package scimpath

import "testing"

func TestSmoke(t *testing.T) {
	rs := CoreUser()
	u := sampleUser(t)
	for _, s := range []string{`userName eq "bjensen@example.com"`, `externalId eq bjensen`, `meta.created gt 2009-10-10T14:38:21.8617979-07:00`,
		`emails[type eq "work" and primary eq true]`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`} {
		f, err := ParseFilter(s)
		if err != nil {
			t.Fatal(s, err)
		}
		if !f.Match(u, &rs) || !f.Match(u, nil) {
			t.Errorf("%s no match (%s)", s, f)
		}
	}
	err := ApplyPatch(u, []Operation{
		{Op: "Replace", Path: "active", Value: "False"},
		{Op: "Add", Path: `emails[type eq "work"].value`, Value: "new@x"},
		{Op: "Add", Path: `phoneNumbers[type eq "mobile"].value`, Value: "123"},
		{Op: "Add", Path: URNEnterpriseUser + ":manager", Value: "m1"},
		{Op: "replace", Value: map[string]any{"id": u["id"], "displayName": "New", "name.givenName": "G", URNEnterpriseUser + ":employeeNumber": "9"}},
	}, &rs)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(mustJSON(t, u))
	t.Log(mustJSON(t, Project(u, []string{"userName", "emails.value", `emails[type eq "work"].type`, URNEnterpriseUser + ":manager"}, nil, &rs)))
}
