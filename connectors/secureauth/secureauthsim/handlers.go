package secureauthsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/connectors/simkit"
)

// answer is the body of every reply: status and message always, the rest
// as the endpoint has them.
type answer struct {
	UserID          string              `json:"userId,omitempty"`
	Properties      map[string]property `json:"properties,omitempty"`
	KnowledgeBase   map[string]kbEntry  `json:"knowledgeBase,omitempty"`
	Groups          []string            `json:"groups,omitempty"`
	AccessHistories []any               `json:"accessHistories,omitempty"`
	Failures        map[string][]string `json:"failures,omitempty"`
	Status          string              `json:"status"`
	Message         string              `json:"message"`
}

type property struct {
	Value      string `json:"value"`
	IsWritable string `json:"isWritable"`
}

func failed(msg string) answer  { return answer{Status: "failed", Message: msg} }
func success(msg string) answer { return answer{Status: "success", Message: msg} }

var (
	notFoundUser  = answer{Status: "not_found", Message: "User Id was not found"}
	notFoundRoute = answer{Status: "error", Message: "Not_Found"}
)

const maxBody = 1 << 20

// ServeHTTP serves /<realm>/api/v1 and /<realm>/api/v2 alike.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(path, s.base)
	if ok {
		rest, ok = cutVersion(rest)
	}
	if !ok {
		s.reply(w, http.StatusNotFound, notFoundRoute)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		s.reply(w, http.StatusRequestEntityTooLarge, failed("Request body too large."))
		return
	}
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if msg := s.authenticate(r, body); msg != "" {
		s.reply(w, http.StatusUnauthorized, answer{Status: "invalid", Message: msg})
		return
	}
	if s.limited(w) || s.injected(w) {
		return
	}
	if len(body) > 0 {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			s.reply(w, http.StatusUnsupportedMediaType, answer{Status: "invalid", Message: "Content-Type must be application/json."})
			return
		}
	}
	status, a := s.route(r.Method, rest, body)
	s.reply(w, status, a)
}

func cutVersion(rest string) (string, bool) {
	for _, v := range []string{"v1", "v2"} {
		if r, ok := strings.CutPrefix(rest, v); ok && strings.HasPrefix(r, "/") {
			return r, true
		}
	}
	return "", false
}

// limited answers 429 when the rate window is full.
func (s *Server) limited(w http.ResponseWriter) bool {
	over, retryAfter := s.faults.Limited(s.clock())
	if !over {
		return false
	}
	simkit.SetRetryAfter(w, retryAfter)
	s.reply(w, http.StatusTooManyRequests, answer{Status: "error", Message: "Too many requests."})
	return true
}

// injected answers a fault queued by FailNext or drawn at random.
func (s *Server) injected(w http.ResponseWriter) bool {
	f, retryAfter := s.faults.Queued()
	if f == simkit.FaultNone {
		f, retryAfter = s.faults.Random()
	}
	simkit.SetRetryAfter(w, retryAfter)
	switch f {
	case simkit.FaultNone:
		return false
	case simkit.Fault429, simkit.Fault429RetryAfter:
		s.reply(w, http.StatusTooManyRequests, answer{Status: "error", Message: "Too many requests."})
	case simkit.FaultPermanent:
		s.reply(w, http.StatusBadRequest, failed("Unknown error."))
	default:
		s.reply(w, http.StatusInternalServerError, answer{Status: "server_error", Message: "Injected server error."})
	}
	return true
}

// reply writes a signed JSON answer.
func (s *Server) reply(w http.ResponseWriter, status int, a answer) {
	body, _ := json.Marshal(a)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	unsigned := status == http.StatusUnauthorized || status == http.StatusTooManyRequests || status >= 500
	if !unsigned || !s.opts.UnsignedErrors {
		s.signResponse(h, body)
	}
	if s.tamper > 0 {
		s.tamper--
		body, _ = json.Marshal(success("tampered"))
	}
	w.WriteHeader(status)
	w.Write(body)
}

// route dispatches on the path segments after /api/vN.
func (s *Server) route(method, rest string, body []byte) (int, answer) {
	seg := strings.Split(rest, "/")[1:]
	for i, v := range seg {
		u, err := url.PathUnescape(v)
		if err != nil {
			return http.StatusNotFound, notFoundRoute
		}
		seg[i] = u
	}
	// Every segment but /users/'s trailing one names something.
	named := func(idx ...int) bool {
		for _, i := range idx {
			if seg[i] == "" {
				return false
			}
		}
		return true
	}
	noBody := func(f func() (int, answer)) (int, answer) {
		if len(body) > 0 {
			return http.StatusBadRequest, failed("Invalid request: no body expected.")
		}
		return f()
	}
	allow := func(ok bool, f func() (int, answer)) (int, answer) {
		if !ok {
			return http.StatusMethodNotAllowed, answer{Status: "error", Message: "Method not allowed."}
		}
		return f()
	}
	switch {
	case len(seg) == 2 && seg[0] == "users" && seg[1] == "":
		switch method {
		case http.MethodPost:
			return s.createUser(body)
		case http.MethodDelete:
			if s.opts.AllowDelete {
				return s.deleteUser(body)
			}
			return http.StatusNotFound, notFoundRoute
		}
		return allow(false, nil)
	case len(seg) == 2 && seg[0] == "users" && named(1):
		switch method {
		case http.MethodGet:
			return noBody(func() (int, answer) { return s.getUser(seg[1]) })
		case http.MethodPut, http.MethodPost:
			return s.updateUser(seg[1], body)
		}
		return allow(false, nil)
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "resetpwd" && named(1):
		return allow(method == http.MethodPost, func() (int, answer) { return s.resetPassword(seg[1], body) })
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "groups" && named(1):
		return allow(method == http.MethodPost, func() (int, answer) {
			var req struct {
				GroupNames []string `json:"groupNames"`
			}
			if msg := decode(body, &req, "groupNames"); msg != "" {
				return http.StatusBadRequest, failed(msg)
			}
			return s.associate(seg[1], req.GroupNames, nil)
		})
	case len(seg) == 3 && seg[0] == "groups" && seg[2] == "users" && named(1):
		return allow(method == http.MethodPost, func() (int, answer) {
			var req struct {
				UserIDs []string `json:"userIds"`
			}
			if msg := decode(body, &req, "userIds"); msg != "" {
				return http.StatusBadRequest, failed(msg)
			}
			return s.associate(seg[1], nil, req.UserIDs)
		})
	case len(seg) == 4 && seg[0] == "users" && seg[2] == "groups" && named(1, 3):
		return allow(method == http.MethodPost, func() (int, answer) {
			return noBody(func() (int, answer) { return s.associateOne(seg[1], seg[3]) })
		})
	case len(seg) == 4 && seg[0] == "groups" && seg[2] == "users" && named(1, 3):
		return allow(method == http.MethodPost, func() (int, answer) {
			return noBody(func() (int, answer) { return s.associateOne(seg[3], seg[1]) })
		})
	}
	return http.StatusNotFound, notFoundRoute
}

// decode reads a JSON object strictly: only the listed fields, none null,
// every one present, nothing after the object.
func decode(body []byte, v any, fields ...string) string {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return "Invalid request: body must be a JSON object."
	}
	for k, m := range raw {
		if !slices.Contains(fields, k) {
			return fmt.Sprintf("Invalid request: unknown field %q.", k)
		}
		if string(m) == "null" {
			return fmt.Sprintf("Invalid request: %q is null.", k)
		}
	}
	for _, f := range fields {
		if _, ok := raw[f]; !ok {
			return fmt.Sprintf("Invalid request: %q is required.", f)
		}
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return "Invalid request: " + strings.TrimPrefix(err.Error(), "json: ") + "."
	}
	return ""
}

// profile is the writable part of a user: properties and knowledge base.
type profile struct {
	Properties    map[string]*string  `json:"properties"`
	KnowledgeBase map[string]*kbEntry `json:"knowledgeBase"`
}

// decodeProfile reads a create or update body strictly: the profile, and
// the raw extra fields (userId, password) for the caller.
func decodeProfile(body []byte, extra ...string) (map[string]json.RawMessage, profile, string) {
	var raw map[string]json.RawMessage
	var p profile
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, p, "Invalid request: body must be a JSON object."
	}
	known := append([]string{"properties", "knowledgeBase"}, extra...)
	for k, m := range raw {
		if !slices.Contains(known, k) {
			return nil, p, fmt.Sprintf("Invalid request: unknown field %q.", k)
		}
		if string(m) == "null" {
			return nil, p, fmt.Sprintf("Invalid request: %q is null.", k)
		}
	}
	for _, k := range []string{"properties", "knowledgeBase"} {
		if m, ok := raw[k]; ok {
			d := json.NewDecoder(bytes.NewReader(m))
			d.DisallowUnknownFields()
			var err error
			if k == "properties" {
				err = d.Decode(&p.Properties)
			} else {
				err = d.Decode(&p.KnowledgeBase)
			}
			if err != nil {
				return nil, p, fmt.Sprintf("Invalid request: %q: %s.", k, strings.TrimPrefix(err.Error(), "json: "))
			}
		}
	}
	for k, v := range p.Properties {
		switch {
		case strings.HasPrefix(k, "ExtProperty"):
			return nil, p, "Extended properties cannot be updated."
		case !writable(k):
			return nil, p, fmt.Sprintf("Invalid request: unknown property %q.", k)
		case v == nil:
			return nil, p, fmt.Sprintf("Invalid request: property %q is null.", k)
		case strings.HasPrefix(k, "email") && *v != "" && !validEmail(*v):
			return nil, p, "Invalid email."
		}
	}
	for k, v := range p.KnowledgeBase {
		if v == nil || !(k == "helpDeskKb" || numbered(k, "kbq", 6)) {
			return nil, p, fmt.Sprintf("Invalid request: bad knowledgeBase entry %q.", k)
		}
	}
	return raw, p, ""
}

func writable(k string) bool {
	return k == "firstName" || k == "lastName" || k == "pinHash" ||
		numbered(k, "phone", 4) || numbered(k, "email", 4) || numbered(k, "auxId", 10)
}

// numbered reports whether k is prefix1..prefixN.
func numbered(k, prefix string, n int) bool {
	d, ok := strings.CutPrefix(k, prefix)
	if !ok || d == "" || d[0] == '0' {
		return false
	}
	i, err := strconv.Atoi(d)
	return err == nil && i >= 1 && i <= n
}

func validEmail(v string) bool {
	local, domain, ok := strings.Cut(v, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(v, " \t\r\n")
}

func validUserID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return false
		}
	}
	return true
}

// validPassword is Active Directory's complexity rule as the contract
// states it: 8-128 characters, three of four classes, not containing the
// userId.
func validPassword(pw, userID string) bool {
	if len(pw) < 8 || len(pw) > 128 || strings.Contains(strings.ToLower(pw), strings.ToLower(userID)) {
		return false
	}
	var upper, lower, digit, other int
	for _, r := range pw {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = 1
		case r >= 'a' && r <= 'z':
			lower = 1
		case r >= '0' && r <= '9':
			digit = 1
		default:
			other = 1
		}
	}
	return upper+lower+digit+other >= 3
}

func (s *Server) createUser(body []byte) (int, answer) {
	raw, p, msg := decodeProfile(body, "userId", "password")
	if msg != "" {
		return http.StatusBadRequest, failed(msg)
	}
	var id, pw string
	if json.Unmarshal(raw["userId"], &id) != nil || !validUserID(id) {
		return http.StatusBadRequest, failed("Invalid username.")
	}
	if json.Unmarshal(raw["password"], &pw) != nil || !validPassword(pw, id) {
		return http.StatusBadRequest, failed("Invalid password.")
	}
	key := strings.ToLower(id)
	if s.emailTaken("", p) { // any holder, the same userId included

		return http.StatusBadRequest, failed("Duplicate email.")
	}
	if _, dup := s.users[key]; dup {
		return http.StatusBadRequest, failed("Duplicate username.")
	}
	u := &user{id: id, password: pw, passwordAt: 1, props: map[string]string{}, kb: map[string]kbEntry{}}
	u.apply(p)
	s.users[key] = u
	return http.StatusOK, success("")
}

func (u *user) apply(p profile) {
	for k, v := range p.Properties {
		if *v == "" {
			delete(u.props, k) // "" clears
		} else {
			u.props[k] = *v
		}
	}
	for k, v := range p.KnowledgeBase {
		u.kb[k] = *v
	}
}

func (s *Server) updateUser(id string, body []byte) (int, answer) {
	_, p, msg := decodeProfile(body)
	if msg != "" {
		return http.StatusBadRequest, failed(msg)
	}
	u, ok := s.users[strings.ToLower(id)]
	if !ok {
		if s.opts.VagueNotFound {
			return http.StatusNotFound, notFoundRoute
		}
		return http.StatusNotFound, notFoundUser
	}
	if s.emailTaken(strings.ToLower(id), p) {
		return http.StatusBadRequest, failed("Duplicate email.")
	}
	u.apply(p)
	return http.StatusOK, success("")
}

// emailTaken reports whether, with UniqueEmails, a user other than key
// ("": any user) holds one of the emails p sets.
func (s *Server) emailTaken(key string, p profile) bool {
	if !s.opts.UniqueEmails {
		return false
	}
	for k, v := range p.Properties {
		if !strings.HasPrefix(k, "email") || *v == "" {
			continue
		}
		for other, u := range s.users {
			if other == key {
				continue
			}
			for pk, pv := range u.props {
				if strings.HasPrefix(pk, "email") && strings.EqualFold(pv, *v) {
					return true
				}
			}
		}
	}
	return false
}

func (s *Server) getUser(id string) (int, answer) {
	u, ok := s.users[strings.ToLower(id)]
	if !ok {
		return http.StatusNotFound, notFoundUser
	}
	a := answer{UserID: u.id, Properties: map[string]property{}, AccessHistories: []any{}, Groups: []string{}, Status: "found"}
	for k, v := range u.props {
		a.Properties[k] = property{Value: v, IsWritable: "true"}
	}
	if len(u.kb) > 0 {
		a.KnowledgeBase = u.kb
	}
	for _, g := range s.groups {
		if g.members[strings.ToLower(id)] {
			a.Groups = append(a.Groups, "CN="+escapeRDN(g.name)+",OU=Groups,DC=secureauth,DC=sim")
		}
	}
	slices.Sort(a.Groups)
	return http.StatusOK, a
}

// escapeRDN escapes a DN attribute value (RFC 4514).
func escapeRDN(v string) string {
	var b strings.Builder
	for i, r := range v {
		if strings.ContainsRune(`,+"\<>;=`, r) || (i == 0 && (r == '#' || r == ' ')) || (i == len(v)-1 && r == ' ') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Server) resetPassword(id string, body []byte) (int, answer) {
	var req struct {
		Password string `json:"password"`
	}
	if msg := decode(body, &req, "password"); msg != "" {
		return http.StatusBadRequest, failed(msg)
	}
	u, ok := s.users[strings.ToLower(id)]
	if !ok {
		if s.opts.VagueNotFound {
			return http.StatusBadRequest, failed("")
		}
		return http.StatusNotFound, notFoundUser
	}
	if !validPassword(req.Password, u.id) {
		return http.StatusBadRequest, failed("Password does not meet the complexity requirements.")
	}
	u.password, u.scrambled = req.Password, true
	u.passwordAt++
	return http.StatusOK, success("Password was reset")
}

func (s *Server) deleteUser(body []byte) (int, answer) {
	var req struct {
		UserID               string `json:"user_id"`
		DeleteAllRelatedData bool   `json:"deleteAllRelatedData"`
		Domain               string `json:"domain"`
	}
	if msg := decode(body, &req, "user_id", "deleteAllRelatedData", "domain"); msg != "" {
		return http.StatusBadRequest, failed(msg)
	}
	key := strings.ToLower(req.UserID)
	if _, ok := s.users[key]; !ok {
		return http.StatusNotFound, notFoundUser
	}
	delete(s.users, key)
	for _, g := range s.groups {
		delete(g.members, key)
	}
	return http.StatusOK, success("")
}

// join associates a user with a group; false when either is unknown.
func (s *Server) join(userID, groupName string) bool {
	key := strings.ToLower(userID)
	if _, ok := s.users[key]; !ok || groupName == "" {
		return false
	}
	g, ok := s.groups[strings.ToLower(groupName)]
	if !ok {
		if s.opts.StrictGroups {
			return false
		}
		g = &group{name: groupName, members: map[string]bool{}}
		s.groups[strings.ToLower(groupName)] = g
	}
	if g.members[key] && s.opts.StrictMembership {
		return false
	}
	g.members[key] = true
	return true
}

func (s *Server) associateOne(userID, groupName string) (int, answer) {
	if !s.join(userID, groupName) {
		return http.StatusBadRequest, answer{Status: "failure", Message: "Failed to add user to group."}
	}
	return http.StatusOK, success("")
}

// associate serves both list forms: one user with groupNames, or one
// group (key) with userIds. Failures are keyed by the URL's id.
func (s *Server) associate(key string, groupNames, userIDs []string) (int, answer) {
	list := groupNames
	if userIDs != nil {
		list = userIDs
	}
	if len(list) == 0 {
		return http.StatusBadRequest, failed("Invalid request: empty list.")
	}
	var bad []string
	for _, item := range list {
		ok := false
		if userIDs != nil {
			ok = s.join(item, key)
		} else {
			ok = s.join(key, item)
		}
		if !ok {
			bad = append(bad, item)
		}
	}
	if len(bad) == 0 {
		return http.StatusOK, success("")
	}
	return http.StatusBadRequest, answer{
		Failures: map[string][]string{key: bad},
		Status:   "failed",
		Message:  fmt.Sprintf("There were %d association errors.", len(bad)),
	}
}
