package console

import (
	"errors"
	"net/http"
	"net/url"
	"sync"

	"github.com/scimbridge/scimbridge/admin"
	"github.com/scimbridge/scimbridge/connectors"
)

// Field check on the lookup page: "Check fields" reads the resource from
// every target that can read one object and shows, per connector, in
// sync / drifted (field, target value, SCIM value) / missing / error /
// not available; "Repair" queues SCIM's values again through the outbox.
// Both are posts (CSRF) answered with a redirect to the lookup, which
// shows the latest check of each resource, kept in memory.

// maxFieldReports bounds the checks kept for the lookup page.
const maxFieldReports = 256

// fieldReports is the latest field check of each resource (type/id).
type fieldReports struct {
	mu   sync.Mutex
	byID map[string]admin.FieldReport
}

func (f *fieldReports) put(rep admin.FieldReport) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byID == nil {
		f.byID = map[string]admin.FieldReport{}
	}
	if _, ok := f.byID[rep.Type+"/"+rep.ID]; !ok && len(f.byID) >= maxFieldReports {
		oldest := ""
		for k, r := range f.byID {
			if oldest == "" || r.At.Before(f.byID[oldest].At) {
				oldest = k
			}
		}
		delete(f.byID, oldest)
	}
	f.byID[rep.Type+"/"+rep.ID] = rep
}

func (f *fieldReports) get(typ, id string) *admin.FieldReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.byID[typ+"/"+id]; ok {
		return &r
	}
	return nil
}

// checkFields runs the lookup page's "Check fields" (action=check) or
// "Repair" (action=repair) for the posted type and id, then shows the
// lookup of q again.
func (c *console) checkFields(w http.ResponseWriter, r *http.Request, q request) {
	f := r.PostForm
	typ, ok := admin.ParseType(f.Get("type"))
	action := f.Get("action")
	if !ok || f.Get("id") == "" || (action != "check" && action != "repair") {
		c.render(w, http.StatusBadRequest, "error", q.ses, r, pageData{Title: "Error", Nav: "lookup", Error: "Unknown field check: nothing was changed."})
		return
	}
	id, repair := f.Get("id"), action == "repair"
	rep, err := c.svc.CheckFields(r.Context(), typ, id, repair)
	switch {
	case errors.Is(err, connectors.ErrNotFound):
		c.render(w, http.StatusNotFound, "error", q.ses, r, pageData{Title: "Error", Nav: "lookup",
			Error: "That resource is no longer stored: nothing was checked or changed."})
		return
	case errors.Is(err, admin.ErrFieldCheckUnavailable):
		c.render(w, http.StatusServiceUnavailable, "error", q.ses, r, pageData{Title: "Error", Nav: "lookup", Error: "Field check not available."})
		return
	case err != nil && rep.Connectors == nil:
		c.fail(w, r, q, "lookup", err)
		return
	case err != nil:
		// The check ran; only recording it failed: show what it found.
		c.opts.Log.Error().Err(err).Str("type", typ).Str("id", id).Msg("console: field check not recorded in the activity log")
	}
	c.fields.put(rep)
	ev := c.opts.Log.Info().Str("type", typ).Str("id", id).Bool("repair", repair)
	for _, fc := range rep.Connectors {
		ev = ev.Str(fc.Connector, fc.State)
	}
	ev.Msg("console: field check")
	back := f.Get("q")
	if back == "" {
		back = id
	}
	http.Redirect(w, r, "/admin/ui/lookup?"+url.Values{"q": {back}}.Encode(), http.StatusSeeOther)
}
