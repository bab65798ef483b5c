package secureauthsim

import "testing"

// TestStricterReadings: the knobs for an independent target's stricter
// reading of the guide (membership twice, unique emails, vague
// not-found answers), each against its default.
func TestStricterReadings(t *testing.T) {
	type step struct {
		method, path, body string
		code               int
		status, message    string
	}
	tests := []struct {
		name  string
		opts  Options
		steps []step
	}{
		{"membership twice: default succeeds", Options{}, []step{
			{"POST", base + "/groups/Admins/users/jdoe", "", 200, "success", ""},
			{"POST", base + "/groups/Admins/users/jdoe", "", 200, "success", ""},
		}},
		{"membership twice: strict fails", Options{StrictMembership: true}, []step{
			{"POST", base + "/groups/Admins/users/jdoe", "", 200, "success", ""},
			{"POST", base + "/groups/Admins/users/jdoe", "", 400, "failure", "Failed to add user to group."},
			{"POST", base + "/users/jdoe/groups", `{"groupNames":["Admins","Sales"]}`, 400, "failed", "There were 1 association errors."},
		}},
		{"unique emails", Options{UniqueEmails: true}, []step{
			// mustCreate's jdoe holds a@example.com; the same create again
			// hears about the email first.
			{"POST", base + "/users/", `{"userId":"jdoe","password":"Xy7!longpass","properties":{"email1":"a@example.com"}}`, 400, "failed", "Duplicate email."},
			{"POST", base + "/users/", `{"userId":"jsmith","password":"Xy7!longpass","properties":{"email2":"A@example.com"}}`, 400, "failed", "Duplicate email."},
			{"POST", base + "/users/", `{"userId":"jsmith","password":"Xy7!longpass","properties":{"email1":"s@example.com"}}`, 200, "success", ""},
			{"PUT", base + "/users/jsmith", `{"properties":{"email3":"a@example.com"}}`, 400, "failed", "Duplicate email."},
			{"PUT", base + "/users/jdoe", `{"properties":{"email1":"a@example.com"}}`, 200, "success", ""},
		}},
		{"emails not unique by default", Options{}, []step{
			{"POST", base + "/users/", `{"userId":"jsmith","password":"Xy7!longpass","properties":{"email1":"a@example.com"}}`, 200, "success", ""},
		}},
		{"vague not found", Options{VagueNotFound: true}, []step{
			{"PUT", base + "/users/ghost", `{"properties":{"firstName":"G"}}`, 404, "error", "Not_Found"},
			{"POST", base + "/users/ghost/resetpwd", `{"password":"Xy7!longpass"}`, 400, "failed", ""},
			{"GET", base + "/users/ghost", "", 404, "not_found", "User Id was not found"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.opts)
			c.mustCreate("jdoe")
			for i, s := range tc.steps {
				code, body, _ := c.send(s.method, s.path, s.body)
				if code != s.code || body["status"] != s.status || body["message"] != s.message {
					t.Errorf("step %d %s %s: %d %v, want %d %s %q", i, s.method, s.path, code, body, s.code, s.status, s.message)
				}
			}
		})
	}
}
