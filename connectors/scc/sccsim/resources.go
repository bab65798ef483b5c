package sccsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// maxGroupPatchItems is the most users one admin-group PATCH takes [decided].
const maxGroupPatchItems = 100

type userJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Status    string `json:"status"`
}

func (u *user) json() userJSON {
	return userJSON{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Status: u.Status}
}

type groupJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	OrgID       string `json:"orgId"`
	Created     string `json:"created"`
	Type        string `json:"type"`
	AppliesTo   string `json:"appliesTo"`
}

func (s *Server) groupJSON(g *group) groupJSON {
	return groupJSON{ID: g.ID, Name: g.Name, Description: g.Description, OrgID: s.opts.OrgID,
		Created: g.Created, Type: "STANDARD", AppliesTo: g.AppliesTo}
}

var userStatuses = []string{"ACTIVE", "DISABLE", "PENDING", "SHARED"}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "max", "cursor", "groupId", "status"); err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	status := q.Get("status")
	if q.Has("status") && !contains(userStatuses, status) {
		s.fail(w, r, http.StatusBadRequest, "status must be one of ACTIVE, DISABLE, PENDING, SHARED")
		return
	}
	var g *group
	if q.Has("groupId") {
		if g = s.groupID[q.Get("groupId")]; g == nil {
			s.fail(w, r, http.StatusNotFound, "group not found")
			return
		}
	}
	var sel []*user
	for _, u := range s.users {
		if (status == "" || u.Status == status) && (g == nil || g.hasMember(u.ID)) {
			sel = append(sel, u)
		}
	}
	s.writeUserPage(w, r, sel)
}

func (s *Server) writeUserPage(w http.ResponseWriter, r *http.Request, sel []*user) {
	items, next, err := page(r.URL.Query(), sel, func(u *user) int { return u.seq })
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	out := struct {
		Users  []userJSON `json:"users"`
		Cursor string     `json:"cursor,omitempty"`
	}{Users: []userJSON{}, Cursor: next}
	for _, u := range items {
		out.Users = append(out.Users, u.json())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, id string) {
	if len(r.URL.Query()) > 0 {
		s.fail(w, r, http.StatusBadRequest, "unexpected query parameters")
		return
	}
	u := s.byID[id]
	if u == nil {
		s.fail(w, r, http.StatusNotFound, "user not found")
		return
	}
	writeJSON(w, http.StatusOK, u.json())
}

func (s *Server) putUser(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	m, err := object(body, "firstName", "lastName")
	if err == nil && len(m) == 0 {
		err = fmt.Errorf("nothing to update: send firstName and/or lastName")
	}
	first, hasFirst, err1 := str(m, "firstName")
	last, hasLast, err2 := str(m, "lastName")
	if err == nil {
		err = firstErr(err1, err2)
	}
	if err == nil && ((hasFirst && first == "") || (hasLast && last == "")) {
		err = fmt.Errorf("names must not be empty")
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	u := s.byID[id]
	if u == nil {
		s.fail(w, r, http.StatusNotFound, "user not found")
		return
	}
	if hasFirst {
		u.FirstName = first
	}
	if hasLast {
		u.LastName = last
	}
	writeJSON(w, http.StatusOK, u.json())
}

func (s *Server) userGroups(w http.ResponseWriter, r *http.Request, id string) {
	if err := checkQuery(r.URL.Query(), "max", "cursor"); err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	u := s.byID[id]
	if u == nil {
		s.fail(w, r, http.StatusNotFound, "user not found")
		return
	}
	var sel []*group
	for _, g := range s.groups {
		if g.hasMember(u.ID) {
			sel = append(sel, g)
		}
	}
	s.writeGroupPage(w, r, sel)
}

// userOp is one PATCH /users operation.
type userOp struct {
	Operation, Email, FirstName, LastName string
}

// maxUserOps is the most operations one bulk PATCH /users takes (the
// contract decides none; the admin-group PATCH's 100 is used).
const maxUserOps = 100

var userOperations = []string{"invite", "disable", "enable", "remove", "resend_email_invite", "reset_password", "reset_mfa"}

// patchUsers takes one operation object, an array of them, or
// {"users":[…]} (the SDK's bulk form). One object answers with the
// operation result or an error status; the bulk forms (at most 100
// items, each email once) answer 200 with a results array, one item per
// operation in order, {operation, email, status: SUCCESS|FAILED,
// message}: a failed item fails only itself.
func (s *Server) patchUsers(w http.ResponseWriter, r *http.Request, body []byte) {
	if len(r.URL.Query()) > 0 {
		s.fail(w, r, http.StatusBadRequest, "unexpected query parameters")
		return
	}
	var items []json.RawMessage
	trimmed := bytes.TrimSpace(body)
	single := false
	switch {
	case bytes.HasPrefix(trimmed, []byte("[")):
		if err := json.Unmarshal(trimmed, &items); err != nil {
			s.fail(w, r, http.StatusBadRequest, "body must be an operation, an array of operations or {\"users\":[…]}")
			return
		}
	default:
		var env map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &env); err != nil || env == nil {
			s.fail(w, r, http.StatusBadRequest, "body must be an operation, an array of operations or {\"users\":[…]}")
			return
		}
		if raw, ok := env["users"]; ok {
			if len(env) != 1 || json.Unmarshal(raw, &items) != nil {
				s.fail(w, r, http.StatusBadRequest, "bulk form is {\"users\":[…]} and nothing else")
				return
			}
		} else {
			single, items = true, []json.RawMessage{trimmed}
		}
	}
	if !single && s.opts.SingleUserOps {
		s.fail(w, r, http.StatusBadRequest, "body must be one operation object {operation, email, firstName?, lastName?}")
		return
	}
	if len(items) == 0 {
		s.fail(w, r, http.StatusBadRequest, "no operations")
		return
	}
	if len(items) > maxUserOps {
		s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("at most %d operations per request", maxUserOps))
		return
	}
	ops := make([]userOp, len(items))
	seen := map[string]bool{}
	for i, raw := range items {
		op, err := parseUserOp(raw)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("operation %d: %v", i, err))
			return
		}
		// The order in which SCC applies one request's items is not
		// documented: one email twice in a request is refused, so a
		// client that relies on an order finds out here.
		mail := strings.ToLower(op.Email)
		if seen[mail] {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("operation %d: %s appears more than once in the request", i, op.Email))
			return
		}
		seen[mail] = true
		ops[i] = op
	}
	if single {
		status, msg := s.applyUserOp(ops[0])
		if status != http.StatusOK {
			s.fail(w, r, status, msg)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"operation": ops[0].Operation, "email": ops[0].Email, "status": "SUCCESS"})
		return
	}
	type result struct {
		Operation string `json:"operation"`
		Email     string `json:"email"`
		Status    string `json:"status"`
		Message   string `json:"message,omitempty"`
	}
	out := struct {
		Results []result `json:"results"`
	}{}
	for _, op := range ops {
		res := result{Operation: op.Operation, Email: op.Email, Status: "SUCCESS"}
		if status, msg := s.applyUserOp(op); status != http.StatusOK {
			res.Status, res.Message = "FAILED", msg
		}
		out.Results = append(out.Results, res)
	}
	writeJSON(w, http.StatusOK, out)
}

func parseUserOp(raw json.RawMessage) (userOp, error) {
	m, err := object(raw, "operation", "email", "firstName", "lastName")
	if err != nil {
		return userOp{}, err
	}
	var op userOp
	var errs [4]error
	op.Operation, _, errs[0] = str(m, "operation")
	op.Email, _, errs[1] = str(m, "email")
	op.FirstName, _, errs[2] = str(m, "firstName")
	op.LastName, _, errs[3] = str(m, "lastName")
	if err := firstErr(errs[:]...); err != nil {
		return userOp{}, err
	}
	if !contains(userOperations, op.Operation) {
		return userOp{}, fmt.Errorf("operation must be one of %s", strings.Join(userOperations, ", "))
	}
	if !validEmail(op.Email) {
		return userOp{}, fmt.Errorf("a valid email is required")
	}
	if op.Operation == "invite" && (op.FirstName == "" || op.LastName == "") {
		return userOp{}, fmt.Errorf("invite needs firstName and lastName")
	}
	return op, nil
}

func validEmail(e string) bool {
	at := strings.IndexByte(e, '@')
	return at > 0 && at < len(e)-1 && !strings.ContainsAny(e, " \t\r\n")
}

// applyUserOp returns 200 or the error status and message. s.mu held.
func (s *Server) applyUserOp(op userOp) (int, string) {
	u := s.byEmail[strings.ToLower(op.Email)]
	if op.Operation == "invite" {
		if u != nil {
			return http.StatusConflict, "user already exists in organization"
		}
		s.addUser(op.Email, op.FirstName, op.LastName, "PENDING")
		return http.StatusOK, ""
	}
	if u == nil {
		return http.StatusNotFound, "user not found"
	}
	switch op.Operation {
	case "disable":
		u.Status = "DISABLE"
	case "enable":
		if u.accepted {
			u.Status = "ACTIVE"
		} else {
			u.Status = "PENDING"
		}
	case "remove":
		s.removeUser(u)
	case "resend_email_invite":
		if u.Status != "PENDING" {
			return http.StatusBadRequest, "user has no pending invitation"
		}
	}
	return http.StatusOK, ""
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query(), "max", "cursor"); err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	s.writeGroupPage(w, r, s.groups)
}

func (s *Server) writeGroupPage(w http.ResponseWriter, r *http.Request, sel []*group) {
	items, next, err := page(r.URL.Query(), sel, func(g *group) int { return g.seq })
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	out := struct {
		Groups []groupJSON `json:"groups"`
		Cursor string      `json:"cursor,omitempty"`
	}{Groups: []groupJSON{}, Cursor: next}
	for _, g := range items {
		out.Groups = append(out.Groups, s.groupJSON(g))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, body []byte) {
	m, err := object(body, "name", "description", "appliesTo")
	name, _, err1 := str(m, "name")
	desc, _, err2 := str(m, "description")
	applies, hasApplies, err3 := str(m, "appliesTo")
	if err == nil {
		err = firstErr(err1, err2, err3)
	}
	if err == nil && strings.TrimSpace(name) == "" {
		err = fmt.Errorf("name is required")
	}
	if err == nil && hasApplies && applies == "" {
		err = fmt.Errorf("appliesTo must not be empty")
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if s.groupByName(name) != nil {
		s.fail(w, r, http.StatusConflict, "admin group with this name already exists")
		return
	}
	if applies == "" {
		applies = "ALL"
	}
	writeJSON(w, http.StatusCreated, s.groupJSON(s.addGroup(name, desc, applies)))
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, id string) {
	if len(r.URL.Query()) > 0 {
		s.fail(w, r, http.StatusBadRequest, "unexpected query parameters")
		return
	}
	g := s.groupID[id]
	if g == nil {
		s.fail(w, r, http.StatusNotFound, "group not found")
		return
	}
	writeJSON(w, http.StatusOK, s.groupJSON(g))
}

func (s *Server) putGroup(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	m, err := object(body, "name", "description")
	name, hasName, err1 := str(m, "name")
	desc, hasDesc, err2 := str(m, "description")
	if err == nil {
		err = firstErr(err1, err2)
	}
	if err == nil && len(m) == 0 {
		err = fmt.Errorf("nothing to update: send name and/or description")
	}
	if err == nil && hasName && strings.TrimSpace(name) == "" {
		err = fmt.Errorf("name must not be empty")
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	g := s.groupID[id]
	if g == nil {
		s.fail(w, r, http.StatusNotFound, "group not found")
		return
	}
	if hasName {
		if other := s.groupByName(name); other != nil && other != g {
			s.fail(w, r, http.StatusConflict, "admin group with this name already exists")
			return
		}
		g.Name = name
	}
	if hasDesc {
		g.Description = desc
	}
	writeJSON(w, http.StatusOK, s.groupJSON(g))
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, id string) {
	g := s.groupID[id]
	if g == nil {
		s.fail(w, r, http.StatusNotFound, "group not found")
		return
	}
	delete(s.groupID, id)
	for i, x := range s.groups {
		if x == g {
			s.groups = append(s.groups[:i], s.groups[i+1:]...)
			break
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

type patchItem struct {
	Operation string `json:"operation"`
	ID        string `json:"id"`
}

type patchResult struct {
	ID        string `json:"id"`
	Operation string `json:"operation"`
	Status    string `json:"status"` // SUCCESS, FAILED, NOT_FOUND
	Message   string `json:"message,omitempty"`
}

// patchGroup adds and removes users by email, answering per item: SUCCESS,
// FAILED (an add of an unknown user) or NOT_FOUND (a remove of a user who
// is not a member). Managed orgs are accepted in the shape but this
// simulator has none, so each fails.
func (s *Server) patchGroup(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	m, err := object(body, "users", "managedOrg")
	var users, orgs []patchItem
	if err == nil {
		users, err = patchItems(m["users"])
	}
	if err == nil {
		orgs, err = patchItems(m["managedOrg"])
	}
	if err == nil && len(users)+len(orgs) == 0 {
		err = fmt.Errorf("nothing to patch")
	}
	if err == nil && len(users) > maxGroupPatchItems {
		err = fmt.Errorf("at most %d users per request", maxGroupPatchItems)
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	g := s.groupID[id]
	if g == nil {
		s.fail(w, r, http.StatusNotFound, "group not found")
		return
	}
	out := struct {
		Results []patchResult `json:"results"`
	}{Results: []patchResult{}}
	for _, it := range users {
		res := patchResult{ID: it.ID, Operation: it.Operation, Status: "SUCCESS"}
		u := s.byEmail[strings.ToLower(it.ID)]
		switch {
		case it.Operation == "add" && u == nil:
			res.Status, res.Message = "FAILED", "user not found"
		case it.Operation == "add":
			if !g.hasMember(u.ID) {
				g.members = append(g.members, u.ID)
			}
		case u == nil || !g.removeMember(u.ID):
			res.Status, res.Message = "NOT_FOUND", "user is not a member of the group"
		}
		out.Results = append(out.Results, res)
	}
	for _, it := range orgs {
		out.Results = append(out.Results, patchResult{ID: it.ID, Operation: it.Operation, Status: "FAILED", Message: "managed organization not found"})
	}
	writeJSON(w, http.StatusOK, out)
}

func patchItems(raw json.RawMessage) ([]patchItem, error) {
	if raw == nil {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("users and managedOrg must be arrays")
	}
	items := make([]patchItem, len(list))
	for i, e := range list {
		m, err := object(e, "operation", "id")
		if err != nil {
			return nil, fmt.Errorf("item %d: %v", i, err)
		}
		op, _, err1 := str(m, "operation")
		id, _, err2 := str(m, "id")
		if err := firstErr(err1, err2); err != nil {
			return nil, fmt.Errorf("item %d: %v", i, err)
		}
		if op != "add" && op != "remove" {
			return nil, fmt.Errorf("item %d: operation must be add or remove", i)
		}
		if id == "" {
			return nil, fmt.Errorf("item %d: id is required", i)
		}
		items[i] = patchItem{Operation: op, ID: id}
	}
	return items, nil
}

func (s *Server) groupSub(w http.ResponseWriter, r *http.Request, id, sub string) {
	if err := checkQuery(r.URL.Query(), "max", "cursor"); err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	g := s.groupID[id]
	if g == nil {
		s.fail(w, r, http.StatusNotFound, "group not found")
		return
	}
	switch sub {
	case "users":
		var sel []*user
		for _, u := range s.users {
			if g.hasMember(u.ID) {
				sel = append(sel, u)
			}
		}
		s.writeUserPage(w, r, sel)
	case "roles":
		writeJSON(w, http.StatusOK, map[string]any{"roles": []any{}})
	case "managedOrgs":
		writeJSON(w, http.StatusOK, map[string]any{"managedOrgs": []any{}})
	default:
		s.fail(w, r, http.StatusNotFound, "resource not found")
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
