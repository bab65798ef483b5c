package scim

import (
	bolt "go.etcd.io/bbolt"

	"github.com/scimbridge/scimbridge/store"
)

// EachResource calls fn for every stored user (as GET shows it, with its
// derived groups) and then every group (with its members), reading them
// from tx. The dispatcher's start-up Reconcile walks the store with it.
func (s *Server) EachResource(tx *bolt.Tx, fn func(typ, id string, res map[string]any) error) error {
	for _, d := range []*resourceDef{s.user, s.group} {
		err := store.ScanResources(tx, d.typ, 0, func(id string, raw []byte) (bool, error) {
			doc, err := decodeDoc(raw)
			if err != nil {
				return false, err
			}
			view, err := s.view(tx, d, doc, s.base, true)
			if err != nil {
				return false, err
			}
			return true, fn(d.typ, id, view)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
