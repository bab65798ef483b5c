package scim

import (
	"context"
	"net/http"

	"github.com/scimbridge/scimbridge/activity"
	"github.com/scimbridge/scimbridge/activitylog"
	"github.com/scimbridge/scimbridge/store"
)

// SetActivity makes every write append its event to log, inside the
// write's own transaction, so the log shows exactly the writes that
// committed. clientOf names the SCIM client of a request (nil:
// activity.ClientFrom, which BearerAuth fills with the token's position).
// Call it before serving.
func (s *Server) SetActivity(log *activitylog.Log, clientOf func(context.Context) string) {
	if clientOf == nil {
		clientOf = activity.ClientFrom
	}
	s.activity, s.clientOf = log, clientOf
}

// logWrite records a write that is about to commit in tx. Writes answered
// with an error commit nothing and are not recorded (the access log has
// them): their event would need a transaction of its own on the write
// path, and a rejected POST names no resource to file it under.
func (s *Server) logWrite(tx *store.Tx, r *http.Request, typ, id string, status int, before, after map[string]any, delta memberDelta) error {
	if s.activity == nil {
		return nil
	}
	ctx := r.Context()
	return s.activity.SCIMWrite(tx, activitylog.Write{
		RequestID: activity.RequestIDFrom(ctx), Client: s.clientOf(ctx), Method: r.Method, Status: status,
		Type: typ, ID: id, Before: before, After: after, Added: delta.added, Removed: delta.removed,
	})
}

// prepareWrite builds a write's event ahead of its transaction (nil when
// the log is off); the commit then only appends it (PreparedWrite.Append).
func (s *Server) prepareWrite(r *http.Request, typ, id string, status int, before, after map[string]any) (*activitylog.PreparedWrite, error) {
	if s.activity == nil {
		return nil, nil
	}
	ctx := r.Context()
	return s.activity.PrepareSCIMWrite(activitylog.Write{
		RequestID: activity.RequestIDFrom(ctx), Client: s.clientOf(ctx), Method: r.Method, Status: status,
		Type: typ, ID: id, Before: before, After: after,
	})
}
