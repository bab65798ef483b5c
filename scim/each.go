package scim

import (
	"context"
	"net/http"

	"github.com/scimbridge/scimbridge/store"
)

// EachResource calls fn, inside the caller's transaction, for every stored
// user and group as GET shows them (users with their derived groups),
// groups with "members" as [{"value": id}, ...]. The connectors'
// dispatcher reconciles its targets with it at start-up.
func (s *Server) EachResource(tx *store.Tx, fn func(typ, id string, res map[string]any) error) error {
	base := s.base
	if base == "" {
		base = "/scim/v2"
	}
	for _, d := range []*resourceDef{s.user, s.group} {
		err := tx.ScanResources(d.typ, 0, func(id string, raw []byte) (bool, error) {
			doc, err := decodeDoc(raw)
			if err != nil {
				return false, err
			}
			var res map[string]any
			if d.typ == store.TypeUser {
				if res, err = s.userView(tx, doc, base); err != nil {
					return false, err
				}
			} else {
				res = s.groupView(doc, base)
				members := []any{}
				if err := tx.Members(id, func(mid string, _ []byte) error {
					members = append(members, map[string]any{"value": mid})
					return nil
				}); err != nil {
					return false, err
				}
				res["members"] = members
			}
			return true, fn(d.typ, id, res)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// await waits, when the sink delivers synchronously (store.Awaiter), for
// the delivery of a committed write before the IdP is answered. A failure
// is reported as a SCIM error; the write stays stored.
func (s *Server) await(ctx context.Context, typ, id string) *Error {
	a, ok := s.sink.(store.Awaiter)
	if !ok {
		return nil
	}
	if err := a.Await(ctx, typ, id); err != nil {
		return errorf(http.StatusBadGateway, "", "stored, but delivery to a connector failed: "+err.Error())
	}
	return nil
}
