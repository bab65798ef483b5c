package webexsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// The attributes the simulator accepts; anything else is rejected.
type userDoc struct {
	Schemas           []string       `json:"schemas"`
	ID                string         `json:"id,omitempty"`
	ExternalID        string         `json:"externalId,omitempty"`
	UserName          string         `json:"userName"`
	Active            *bool          `json:"active,omitempty"`
	DisplayName       string         `json:"displayName,omitempty"`
	NickName          string         `json:"nickName,omitempty"`
	Title             string         `json:"title,omitempty"`
	UserType          string         `json:"userType,omitempty"`
	PreferredLanguage string         `json:"preferredLanguage,omitempty"`
	Locale            string         `json:"locale,omitempty"`
	Timezone          string         `json:"timezone,omitempty"`
	Name              *nameDoc       `json:"name,omitempty"`
	Emails            []multiDoc     `json:"emails,omitempty"`
	PhoneNumbers      []multiDoc     `json:"phoneNumbers,omitempty"`
	Enterprise        *enterpriseDoc `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,omitempty"`
	Cisco             *ciscoUserDoc  `json:"urn:scim:schemas:extension:cisco:webexidentity:2.0:User,omitempty"`
	Meta              *metaDoc       `json:"meta,omitempty"`
}

type nameDoc struct {
	Formatted       string `json:"formatted,omitempty"`
	GivenName       string `json:"givenName,omitempty"`
	FamilyName      string `json:"familyName,omitempty"`
	MiddleName      string `json:"middleName,omitempty"`
	HonorificPrefix string `json:"honorificPrefix,omitempty"`
	HonorificSuffix string `json:"honorificSuffix,omitempty"`
}

type multiDoc struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary *bool  `json:"primary,omitempty"`
	Display string `json:"display,omitempty"`
}

type enterpriseDoc struct {
	EmployeeNumber string      `json:"employeeNumber,omitempty"`
	CostCenter     string      `json:"costCenter,omitempty"`
	Organization   string      `json:"organization,omitempty"`
	Division       string      `json:"division,omitempty"`
	Department     string      `json:"department,omitempty"`
	Manager        *managerDoc `json:"manager,omitempty"`
}

type managerDoc struct {
	Value string `json:"value"`
}

type ciscoUserDoc struct {
	AccountStatus       []string   `json:"accountStatus,omitempty"`
	SipAddresses        []multiDoc `json:"sipAddresses,omitempty"`
	ExtensionAttribute1 []string   `json:"extensionAttribute1,omitempty"`
	ExtensionAttribute2 []string   `json:"extensionAttribute2,omitempty"`
	ExtensionAttribute3 []string   `json:"extensionAttribute3,omitempty"`
}

type metaDoc struct {
	ResourceType string `json:"resourceType,omitempty"`
	Created      string `json:"created,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Version      string `json:"version,omitempty"`
	Location     string `json:"location,omitempty"`
}

type groupDoc struct {
	Schemas     []string       `json:"schemas"`
	ID          string         `json:"id,omitempty"`
	DisplayName string         `json:"displayName"`
	ExternalID  string         `json:"externalId,omitempty"`
	Members     []memberDoc    `json:"members,omitempty"`
	Cisco       *ciscoGroupDoc `json:"urn:scim:schemas:extension:cisco:webexidentity:2.0:Group,omitempty"`
	Meta        *metaDoc       `json:"meta,omitempty"`
}

type memberDoc struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Display string `json:"display,omitempty"`
	Ref     string `json:"$ref,omitempty"`
}

type ciscoGroupDoc struct {
	Usage           string `json:"usage,omitempty"`
	ProvisionSource string `json:"provisionSource,omitempty"`
}

const (
	maxMembersInGroup = 500 // GET /Groups/{id} returns at most this many
	maxListCount      = 500 // the contract's cap on count for GET /Users and /Groups
)

// --- users ---

func (s *Server) createUser(body []byte, base string) result {
	var u userDoc
	if err := decodeStrict(body, &u); err != nil {
		return errResult(http.StatusBadRequest, "invalidSyntax", err.Error())
	}
	if r := s.validateUser(&u, ""); r.failed() {
		return r
	}
	id := s.newID("u")
	s.putUser(id, &u)
	return ok(http.StatusCreated, s.userOut(id, base))
}

func (s *Server) getUser(id, base string) result {
	if s.users[id] == nil {
		return errResult(http.StatusNotFound, "", "User "+id+" not found")
	}
	return ok(http.StatusOK, s.userOut(id, base))
}

func (s *Server) putUserReq(id string, body []byte, base string) result {
	if s.users[id] == nil {
		return errResult(http.StatusNotFound, "", "User "+id+" not found")
	}
	var u userDoc
	if err := decodeStrict(body, &u); err != nil {
		return errResult(http.StatusBadRequest, "invalidSyntax", err.Error())
	}
	if r := s.validateUser(&u, id); r.failed() {
		return r
	}
	s.putUser(id, &u)
	return ok(http.StatusOK, s.userOut(id, base))
}

func (s *Server) patchUser(id string, body []byte, base string) result {
	cur := s.users[id]
	if cur == nil {
		return errResult(http.StatusNotFound, "", "User "+id+" not found")
	}
	doc, r := s.applyPatch(body, cur)
	if r.failed() {
		return r
	}
	var u userDoc
	if err := decodeStrict(doc, &u); err != nil {
		return errResult(http.StatusBadRequest, "invalidValue", err.Error())
	}
	if r := s.validateUser(&u, id); r.failed() {
		return r
	}
	s.putUser(id, &u)
	return ok(http.StatusOK, s.userOut(id, base))
}

func (s *Server) deleteUser(id string) result {
	if s.users[id] == nil {
		return errResult(http.StatusNotFound, "", "User "+id+" not found")
	}
	delete(s.byName, strings.ToLower(s.users[id].UserName))
	delete(s.users, id)
	s.userOrder = slices.DeleteFunc(s.userOrder, func(x string) bool { return x == id })
	for _, g := range s.groups { // Webex drops a deleted user's memberships
		g.Members = slices.DeleteFunc(g.Members, func(m memberDoc) bool { return m.Value == id })
	}
	return ok(http.StatusNoContent, nil)
}

func (s *Server) validateUser(u *userDoc, self string) result {
	if !slices.Contains(u.Schemas, schemaUser) {
		return errResult(http.StatusBadRequest, "invalidValue", "schemas must include "+schemaUser)
	}
	if u.Enterprise != nil && !slices.Contains(u.Schemas, schemaEnterprise) {
		return errResult(http.StatusBadRequest, "invalidValue", "schemas must include "+schemaEnterprise+" when it is used")
	}
	if u.Cisco != nil && !slices.Contains(u.Schemas, schemaCiscoUser) {
		return errResult(http.StatusBadRequest, "invalidValue", "schemas must include "+schemaCiscoUser+" when it is used")
	}
	if !isEmail(u.UserName) {
		return errResult(http.StatusBadRequest, "invalidValue", "userName must be an email address")
	}
	for _, e := range u.Emails {
		if e.Value == "" {
			return errResult(http.StatusBadRequest, "invalidValue", "emails.value is required")
		}
		if e.Primary != nil && *e.Primary && !strings.EqualFold(e.Value, u.UserName) {
			return errResult(http.StatusBadRequest, "invalidValue", "the primary email must equal userName")
		}
	}
	if id, taken := s.byName[strings.ToLower(u.UserName)]; taken && id != self {
		return errResult(http.StatusConflict, "uniqueness", "User with userName "+u.UserName+" already exists")
	}
	return result{}
}

func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n") && !strings.Contains(domain, "@")
}

// putUser stores u under id with fresh server-side attributes.
func (s *Server) putUser(id string, u *userDoc) {
	created := s.opts.Now().UTC().Format(time.RFC3339)
	if old := s.users[id]; old != nil && old.Meta != nil {
		created = old.Meta.Created
	} else if old == nil {
		s.userOrder = append(s.userOrder, id)
	}
	if old := s.users[id]; old != nil {
		delete(s.byName, strings.ToLower(old.UserName))
	}
	s.byName[strings.ToLower(u.UserName)] = id
	s.seq++
	u.ID = id
	u.Meta = &metaDoc{ResourceType: "User", Created: created,
		LastModified: s.opts.Now().UTC().Format(time.RFC3339), Version: fmt.Sprintf("W/\"%d\"", s.seq)}
	s.users[id] = u
}

func (s *Server) userOut(id, base string) userDoc {
	u := *s.users[id]
	m := *u.Meta
	m.Location = base + "/Users/" + id
	u.Meta = &m
	return u
}

func (s *Server) listUsers(q url.Values, base string) result {
	conds, r := parseFilter(q.Get("filter"), s.filterable(map[string]bool{"userName": true, "id": true, "externalId": true, "displayName": true, "emails.value": true, "emails": true}))
	if r.failed() {
		return r
	}
	var match []string
	for _, id := range s.userOrder {
		u := s.users[id]
		if matchAny(conds, func(attr string) []string {
			switch attr {
			case "userName":
				return []string{u.UserName}
			case "id":
				return []string{id}
			case "externalId":
				return []string{u.ExternalID}
			case "displayName":
				return []string{u.DisplayName}
			}
			var vs []string
			for _, e := range u.Emails {
				vs = append(vs, e.Value)
			}
			return vs
		}) {
			match = append(match, id)
		}
	}
	start, count, r := paging(q, 100, s.maxCount())
	if r.failed() {
		return r
	}
	proj := parseProjection(q)
	page := window(match, start, count)
	res := make([]any, len(page))
	for i, id := range page {
		res[i] = proj.apply(s.userOut(id, base))
	}
	return ok(http.StatusOK, listResponse(len(match), start, res))
}

// --- groups ---

func (s *Server) createGroup(body []byte, base string) result {
	var g groupDoc
	if err := decodeStrict(body, &g); err != nil {
		return errResult(http.StatusBadRequest, "invalidSyntax", err.Error())
	}
	if r := s.validateGroup(&g, ""); r.failed() {
		return r
	}
	id := s.newID("g")
	s.putGroup(id, &g)
	return ok(http.StatusCreated, s.groupOut(id, base, maxMembersInGroup))
}

func (s *Server) getGroup(id, base string) result {
	if s.groups[id] == nil {
		return errResult(http.StatusNotFound, "", "Group "+id+" not found")
	}
	return ok(http.StatusOK, s.groupOut(id, base, maxMembersInGroup))
}

func (s *Server) putGroupReq(id string, body []byte, base string) result {
	if s.groups[id] == nil {
		return errResult(http.StatusNotFound, "", "Group "+id+" not found")
	}
	var g groupDoc
	if err := decodeStrict(body, &g); err != nil {
		return errResult(http.StatusBadRequest, "invalidSyntax", err.Error())
	}
	if r := s.validateGroup(&g, id); r.failed() {
		return r
	}
	s.putGroup(id, &g)
	return ok(http.StatusOK, s.groupOut(id, base, maxMembersInGroup))
}

func (s *Server) patchGroup(id string, body []byte, base string) result {
	cur := s.groups[id]
	if cur == nil {
		return errResult(http.StatusNotFound, "", "Group "+id+" not found")
	}
	doc, r := s.applyPatch(body, cur)
	if r.failed() {
		return r
	}
	var g groupDoc
	if err := decodeStrict(doc, &g); err != nil {
		return errResult(http.StatusBadRequest, "invalidValue", err.Error())
	}
	if r := s.validateGroup(&g, id); r.failed() {
		return r
	}
	s.putGroup(id, &g)
	return ok(http.StatusOK, s.groupOut(id, base, maxMembersInGroup))
}

func (s *Server) deleteGroup(id string) result {
	if s.groups[id] == nil {
		return errResult(http.StatusNotFound, "", "Group "+id+" not found")
	}
	delete(s.groups, id)
	s.groupOrder = slices.DeleteFunc(s.groupOrder, func(x string) bool { return x == id })
	return ok(http.StatusNoContent, nil)
}

func (s *Server) validateGroup(g *groupDoc, self string) result {
	if !slices.Contains(g.Schemas, schemaGroup) {
		return errResult(http.StatusBadRequest, "invalidValue", "schemas must include "+schemaGroup)
	}
	if g.Cisco != nil && !slices.Contains(g.Schemas, schemaCiscoGroup) {
		return errResult(http.StatusBadRequest, "invalidValue", "schemas must include "+schemaCiscoGroup+" when it is used")
	}
	if strings.TrimSpace(g.DisplayName) == "" {
		return errResult(http.StatusBadRequest, "invalidValue", "displayName is required")
	}
	seen := map[string]bool{}
	members := g.Members[:0]
	for _, m := range g.Members {
		if m.Type != "user" {
			return errResult(http.StatusBadRequest, "invalidValue", fmt.Sprintf("member type must be \"user\", got %q", m.Type))
		}
		if s.users[m.Value] == nil {
			return errResult(http.StatusBadRequest, "invalidValue", "member "+m.Value+" is not a user of this organization")
		}
		if !seen[m.Value] {
			seen[m.Value] = true
			members = append(members, memberDoc{Value: m.Value, Type: "user"})
		}
	}
	g.Members = members
	for id, o := range s.groups {
		if id != self && strings.EqualFold(o.DisplayName, g.DisplayName) {
			return errResult(http.StatusConflict, "uniqueness", "Group with displayName "+g.DisplayName+" already exists")
		}
	}
	return result{}
}

func (s *Server) putGroup(id string, g *groupDoc) {
	created := s.opts.Now().UTC().Format(time.RFC3339)
	if old := s.groups[id]; old != nil && old.Meta != nil {
		created = old.Meta.Created
	} else if old == nil {
		s.groupOrder = append(s.groupOrder, id)
	}
	s.seq++
	g.ID = id
	g.Meta = &metaDoc{ResourceType: "Group", Created: created,
		LastModified: s.opts.Now().UTC().Format(time.RFC3339), Version: fmt.Sprintf("W/\"%d\"", s.seq)}
	s.groups[id] = g
}

// groupOut copies a group with at most maxMembers members (0: none).
func (s *Server) groupOut(id, base string, maxMembers int) groupDoc {
	g := *s.groups[id]
	m := *g.Meta
	m.Location = base + "/Groups/" + id
	g.Meta = &m
	g.Members = nil
	src := s.groups[id].Members
	for _, mem := range src[:min(len(src), maxMembers)] {
		mem.Display = s.display(mem.Value)
		g.Members = append(g.Members, mem)
	}
	return g
}

func (s *Server) display(userID string) string {
	if u := s.users[userID]; u != nil {
		if u.DisplayName != "" {
			return u.DisplayName
		}
		return u.UserName
	}
	return ""
}

func (s *Server) listGroups(q url.Values, base string) result {
	conds, r := parseFilter(q.Get("filter"), s.filterable(map[string]bool{"displayName": true, "id": true, "externalId": true}))
	if r.failed() {
		return r
	}
	include := 0
	if v := q.Get("includeMembers"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errResult(http.StatusBadRequest, "invalidValue", "includeMembers must be true or false")
		}
		if b {
			include = maxMembersInGroup
		}
	}
	var match []string
	for _, id := range s.groupOrder {
		g := s.groups[id]
		if matchAny(conds, func(attr string) []string {
			switch attr {
			case "displayName":
				return []string{g.DisplayName}
			case "id":
				return []string{id}
			}
			return []string{g.ExternalID}
		}) {
			match = append(match, id)
		}
	}
	start, count, r := paging(q, 100, s.maxCount())
	if r.failed() {
		return r
	}
	proj := parseProjection(q)
	page := window(match, start, count)
	res := make([]any, len(page))
	for i, id := range page {
		res[i] = proj.apply(s.groupOut(id, base, include))
	}
	return ok(http.StatusOK, listResponse(len(match), start, res))
}

func (s *Server) groupMembers(id string, q url.Values) result {
	g := s.groups[id]
	if g == nil {
		return errResult(http.StatusNotFound, "", "Group "+id+" not found")
	}
	if mt := q.Get("memberType"); mt != "" && mt != "user" && mt != "machine" && mt != "group" {
		return errResult(http.StatusBadRequest, "invalidValue", "memberType must be user, machine or group")
	}
	ids := make([]string, len(g.Members))
	for i, m := range g.Members {
		ids[i] = m.Value
	}
	if q.Get("memberType") == "machine" || q.Get("memberType") == "group" {
		ids = nil // only users are members here
	}
	start, count, r := paging(q, maxMembersInGroup, maxMembersInGroup)
	if r.failed() {
		return r
	}
	page := window(ids, start, count)
	members := make([]memberDoc, len(page))
	for i, m := range page {
		members[i] = memberDoc{Value: m, Type: "user", Display: s.display(m)}
	}
	return ok(http.StatusOK, map[string]any{
		"schemas":      []string{schemaMembers},
		"displayName":  g.DisplayName,
		"memberSize":   len(ids),
		"itemsPerPage": len(members),
		"startIndex":   start,
		"members":      members,
	})
}

// --- filters and paging ---

// filterable is attrs less externalId under NoExternalIDFilter.
func (s *Server) filterable(attrs map[string]bool) map[string]bool {
	if s.opts.NoExternalIDFilter {
		delete(attrs, "externalId")
	}
	return attrs
}

type cond struct{ attr, value string }

var condRE = regexp.MustCompile(`^\s*([A-Za-z][\w.]*)\s+(?i:eq)\s+("(?:[^"\\]|\\.)*")\s*$`)
var orRE = regexp.MustCompile(`(?i)\s+or\s+`)

// parseFilter accepts `attr eq "value"` terms joined by `or`, the forms the
// contract uses; "" matches everything (nil conds).
func parseFilter(f string, attrs map[string]bool) ([]cond, result) {
	if strings.TrimSpace(f) == "" {
		return nil, result{}
	}
	var out []cond
	for _, term := range orRE.Split(f, -1) {
		m := condRE.FindStringSubmatch(term)
		if m == nil {
			return nil, errResult(http.StatusBadRequest, "invalidFilter", "unsupported filter: "+f)
		}
		if !attrs[m[1]] {
			return nil, errResult(http.StatusBadRequest, "invalidFilter", "cannot filter on "+m[1]+"; supported: "+strings.Join(sortedKeys(attrs), ", "))
		}
		var v string
		if err := json.Unmarshal([]byte(m[2]), &v); err != nil {
			return nil, errResult(http.StatusBadRequest, "invalidFilter", "bad string in filter: "+m[2])
		}
		out = append(out, cond{m[1], v})
	}
	return out, result{}
}

// matchAny reports whether any condition holds (string attributes compare
// case-insensitively, as SCIM's caseExact=false attributes do).
func matchAny(conds []cond, values func(attr string) []string) bool {
	if conds == nil {
		return true
	}
	for _, c := range conds {
		for _, v := range values(c.attr) {
			if strings.EqualFold(v, c.value) {
				return true
			}
		}
	}
	return false
}

// paging reads startIndex (1-based; less than 1 means 1) and count
// (default def, negative means 0, capped at maxCount).
func paging(q url.Values, def, maxCount int) (start, count int, r result) {
	start, count = 1, def
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, errResult(http.StatusBadRequest, "invalidValue", "startIndex must be an integer")
		}
		start = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, errResult(http.StatusBadRequest, "invalidValue", "count must be an integer")
		}
		count = max(n, 0)
	}
	return start, min(count, maxCount), result{}
}

func window(ids []string, start, count int) []string {
	lo, hi := simkit.Page(len(ids), start-1, count)
	return ids[lo:hi]
}

func listResponse(total, start int, res []any) map[string]any {
	return map[string]any{
		"schemas":      []string{schemaList},
		"totalResults": total,
		"itemsPerPage": len(res),
		"startIndex":   start,
		"Resources":    res,
	}
}
