package scim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	elimity "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
)

// The pinned elimity library is our validator: a request is replayed
// through its server, whose resource handler (captureHandler) only keeps
// what the library validated. We then store and answer ourselves, because
// the library's responses are wrong in places (relative meta.location, no
// Location header, itemsPerPage) and it does not store, filter or PATCH.

// captured is what the library validated for one request.
type captured struct {
	attrs map[string]any
	ok    bool
}

type captureHandler struct{}

func capture(r *http.Request, attrs elimity.ResourceAttributes) {
	if c, _ := r.Context().Value(ctxKey{}).(*captured); c != nil {
		c.attrs, c.ok = attrs, true
	}
}

func (captureHandler) Create(r *http.Request, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	capture(r, attrs)
	return elimity.Resource{ID: "validated"}, nil
}

func (captureHandler) Replace(r *http.Request, _ string, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	capture(r, attrs)
	return elimity.Resource{ID: "validated"}, nil
}

func (captureHandler) Patch(r *http.Request, _ string, _ []elimity.PatchOperation) (elimity.Resource, error) {
	capture(r, nil)
	return elimity.Resource{}, nil
}

func (captureHandler) Get(*http.Request, string) (elimity.Resource, error) {
	return elimity.Resource{}, scimerrors.ScimErrorResourceNotFound("")
}

func (captureHandler) GetAll(*http.Request, elimity.ListRequestParams) (elimity.Page, error) {
	return elimity.Page{}, scimerrors.ScimErrorInternal
}

func (captureHandler) Delete(*http.Request, string) error { return scimerrors.ScimErrorInternal }

// bufferWriter records the library's answer to a replayed request.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}
func (b *bufferWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferWriter) WriteHeader(status int)      { b.status = status }

// validate runs body through the library as method on the resource type
// and returns the attributes it accepted (canonical names, typed values,
// read-only and undeclared attributes dropped), or its error. Requests
// no longer go through it (checkResource, checkPatch): it is the
// reference the differential tests compare them with.
func (s *Server) validate(r *http.Request, d *resourceDef, method string, body []byte) (map[string]any, *Error) {
	c := &captured{}
	r2, _ := http.NewRequestWithContext(withCapture(r.Context(), c), method, "/v2"+d.endpoint, bytes.NewReader(body))
	if method != http.MethodPost {
		r2.URL.Path += "/validate"
	}
	r2.Header.Set("Content-Type", contentType)
	var bw bufferWriter
	s.elim.ServeHTTP(&bw, r2)
	if c.ok {
		return c.attrs, nil
	}
	var e scimerrors.ScimError
	if err := json.Unmarshal(bw.body.Bytes(), &e); err != nil || e.Status == 0 {
		return nil, errorf(http.StatusBadRequest, "invalidValue", "request rejected by schema validation")
	}
	detail := e.Detail
	if detail == "" {
		detail = "request rejected by schema validation"
	}
	if method != http.MethodPatch && e.ScimType == scimerrors.ScimTypeInvalidValue {
		if missing := missingRequired(d, body); missing != "" {
			detail = missing + " is required"
		}
	}
	return nil, &Error{Status: e.Status, ScimType: string(e.ScimType), Detail: detail}
}

// missingRequired names the first required core attribute absent (or
// null) in a resource body, "" if none.
func missingRequired(d *resourceDef, body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	return missingRequiredIn(d, m)
}

// missingRequiredIn names the first required core attribute absent (or
// null) in a decoded resource body, "" if none.
func missingRequiredIn(d *resourceDef, m map[string]any) string {
	for _, a := range d.core.Attributes {
		if !a.Required() || a.Mutability() == "readOnly" {
			continue
		}
		v, ok := lookupFold(m, a.Name())
		if s, isString := v.(string); !ok || v == nil || isString && strings.TrimSpace(s) == "" {
			return a.Name()
		}
	}
	return ""
}

// normalizeResource rewrites the IdP quirks in a POST/PUT body that the
// library would reject: Entra's bare-string enterprise manager.
func normalizeResource(m map[string]any) {
	for k, v := range m {
		if !strings.EqualFold(k, enterpriseURN) {
			continue
		}
		ext, ok := v.(map[string]any)
		if !ok {
			continue
		}
		for ek, ev := range ext {
			if strings.EqualFold(ek, "manager") {
				if id, ok := ev.(string); ok {
					if id == "" {
						delete(ext, ek)
					} else {
						ext[ek] = map[string]any{"value": id}
					}
				}
			}
		}
	}
}

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// commonKeys are accepted at the top level of any resource body without
// being declared by a schema (RFC 7643 §3.1; id and meta are read-only).
var commonKeys = map[string]bool{"schemas": true, "id": true, "externalid": true, "meta": true}

// unknownAttributes lists the attributes of a resource body that no
// schema of d declares, as dotted paths, sorted.
func unknownAttributes(d *resourceDef, m map[string]any) []string {
	var out []string
	for k, v := range m {
		lk := strings.ToLower(k)
		if commonKeys[lk] {
			continue
		}
		if ext := d.extension(k); ext != nil {
			sub, ok := v.(map[string]any)
			if !ok {
				continue // a type error the validator reports
			}
			for ek, ev := range sub {
				a, ok := ext.Attributes.ContainsAttribute(ek)
				if !ok {
					out = append(out, ext.ID+":"+ek)
					continue
				}
				out = append(out, unknownSub(ext.ID+":"+a.Name(), a, ev)...)
			}
			continue
		}
		a, ok := d.core.Attributes.ContainsAttribute(k)
		if !ok {
			out = append(out, k)
			continue
		}
		out = append(out, unknownSub(a.Name(), a, v)...)
	}
	sort.Strings(out)
	return out
}

// unknownSub checks the sub-attributes of a complex value (or of each
// element of a multi-valued one).
func unknownSub(path string, a schema.CoreAttribute, v any) []string {
	if !a.HasSubAttributes() {
		return nil
	}
	var elems []any
	switch v := v.(type) {
	case []any:
		elems = v
	case map[string]any:
		elems = []any{v}
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range elems {
		obj, ok := e.(map[string]any)
		if !ok {
			continue
		}
		for k := range obj {
			if path == "members" && strings.EqualFold(k, "displayName") {
				continue // kept as display (Okta, Microsoft)
			}
			if _, ok := a.SubAttributes().ContainsAttribute(k); !ok && !seen[strings.ToLower(k)] {
				seen[strings.ToLower(k)] = true
				out = append(out, path+"."+k)
			}
		}
	}
	return out
}

// extension returns d's extension schema named by urn, or nil.
func (d *resourceDef) extension(urn string) *schema.Schema {
	for i := range d.exts {
		if strings.EqualFold(d.exts[i].ID, urn) {
			return &d.exts[i]
		}
	}
	return nil
}

// maxWarned bounds the attribute names remembered for warn-once.
const maxWarned = 1000

// checkUnknown enforces the unknown-attribute policy: rejected with 400
// naming them in strict mode, otherwise ignored with one warning per
// attribute name and a metric.
func (s *Server) checkUnknown(r *http.Request, d *resourceDef, m map[string]any) *Error {
	unknown := unknownAttributes(d, m)
	if len(unknown) == 0 {
		return nil
	}
	s.unknownAttrs.WithLabelValues(d.typ).Add(float64(len(unknown)))
	if s.opts.StrictAttributes {
		return errorf(http.StatusBadRequest, "invalidValue", "attribute(s) not declared by any schema: "+strings.Join(unknown, ", "))
	}
	for _, name := range unknown {
		// Bounded, so a client inventing names cannot grow it without end.
		if s.warnedCount.Load() >= maxWarned {
			break
		}
		if _, dup := s.warned.LoadOrStore(d.typ+" "+strings.ToLower(name), struct{}{}); !dup {
			s.warnedCount.Add(1)
			s.logger(r).Warn().Str("resource_type", d.typ).Str("attribute", name).
				Msg("ignoring attribute that no schema declares (declare it as a schema extension in config.yaml to keep it)")
		}
	}
	return nil
}
