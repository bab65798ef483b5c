package secureaccess

import (
	"context"
	"fmt"

	"github.com/scimbridge/scimbridge/connectors"
)

var _ connectors.Lister = (*Connector)(nil)

// List calls fn with the key of every device registration the target
// holds, the target id Apply answers for a user. Registrations with
// status inactive are listed too: they exist in the target (it has no
// delete; a deleted or out-of-scope user's registration is set inactive),
// and a drift check must not take them for gone. Secure Access has no
// groups, so listing Group calls fn for nothing.
//
// It pages with GET ?offset&limit=250: a target of n registrations costs
// max(1, ceil(n/250)) requests (the target's total says when to stop),
// each in a slot of the same limiter as the PUTs, so a listing never
// draws a 429 and shares the 14-a-minute budget with deliveries: 10,000
// registrations are 40 GETs, about two minutes of an idle budget. Errors
// are classified as a PUT's are.
func (c *Connector) List(ctx context.Context, typ string, fn func(targetID string) error) error {
	return c.ListFields(ctx, typ, func(targetID string, _ map[string]any) error { return fn(targetID) })
}

// scan pages through the device registrations from offset 0, calling
// visit once per key, until visit answers false or fails, or the target
// has no more.
//
// A target that pages wrongly must not make a listing endless or pass off
// a part as the whole, since a drift check would then take the rest for
// deleted. So scan fails when an answer echoes another offset than asked
// (the target ignores it), when a page brings no key not already seen
// (the same page again), and when a page is empty before the total the
// target announced.
func (c *Connector) scan(ctx context.Context, visit func(registration) (bool, error)) error {
	seen := map[string]struct{}{}
	for offset := 0; ; {
		p, err := c.list(ctx, offset)
		if err != nil {
			return err
		}
		if p.Offset != nil && *p.Offset != offset {
			return connectors.NewPermanent(fmt.Sprintf("list registrations: asked for offset %d, the target answered offset %d", offset, *p.Offset), nil)
		}
		fresh := 0
		for _, r := range p.Data {
			if r.Key == "" { // not one to find, but List must not pass over it
				if more, err := visit(r); err != nil || !more {
					return err
				}
				continue
			}
			if _, dup := seen[r.Key]; dup {
				continue
			}
			seen[r.Key] = struct{}{}
			fresh++
			more, err := visit(r)
			if err != nil || !more {
				return err
			}
		}
		offset += len(p.Data)
		switch {
		case len(p.Data) == 0:
			if p.Total != nil && offset < *p.Total {
				return connectors.NewTransient(fmt.Sprintf("list registrations: empty page at offset %d of a total of %d", offset, *p.Total), nil)
			}
			return nil
		case fresh == 0:
			return connectors.NewTransient(fmt.Sprintf("list registrations: the page at offset %d repeats registrations already listed (the target is not advancing)", offset-len(p.Data)), nil)
		case p.Total != nil && offset >= *p.Total:
			return nil
		case p.Total == nil && len(p.Data) < pageSize(p):
			return nil
		}
	}
}

// pageSize is the page length the target answered for: the limit asked
// for unless it says it used a smaller one.
func pageSize(p page) int {
	if p.Limit > 0 && p.Limit < MaxBatch {
		return p.Limit
	}
	return MaxBatch
}

var _ connectors.FieldLister = (*Connector)(nil)

// ListFields implements connectors.FieldLister: the same pages as List
// (which also rebuild the adoption index), each registration read back
// into the mapped fields (active from its status).
func (c *Connector) ListFields(ctx context.Context, typ string, fn func(targetID string, fields map[string]any) error) error {
	switch typ {
	case connectors.User:
	case connectors.Group:
		return nil
	default:
		return connectors.ErrListType("secureaccess", typ)
	}
	read := func(r registration) error {
		if r.Key == "" {
			return connectors.ErrListItemWithoutID("list registrations")
		}
		return fn(r.Key, map[string]any{
			fieldAuthName: r.AuthName, fieldLabel: r.Label, fieldActive: r.Status == "active",
			fieldDomainName: r.DomainName, fieldSamAccountName: r.SamAccountName, fieldGUIDHash: r.GUIDHash,
		})
	}
	if connectors.Background(ctx) != nil {
		// A background listing pauses while deliveries run, so it must not
		// hold the index build they may wait for: it only reads.
		return c.scan(ctx, func(r registration) (bool, error) { return true, read(r) })
	}
	// The listing reads every registration: it rebuilds the adoption
	// index on the way (adopt.go).
	c.adopt.build.Lock()
	defer c.adopt.build.Unlock()
	return c.reindex(ctx, read)
}
