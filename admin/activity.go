package admin

import (
	"net/http"

	"github.com/scimbridge/scimbridge/activitylog"
)

// Client is the name operator actions through the admin API are recorded
// under in the activity log.
const Client = "admin"

// WithActivity records the operator actions the API runs (reconcile,
// verify, check-targets) in log; dead-letter retries and discards are
// recorded by the dispatcher in their own transactions.
func WithActivity(log *activitylog.Log) Option {
	return func(a *api) {
		if log == nil {
			return
		}
		a.oplog = func(_ *http.Request, action, detail string, err error) {
			_ = log.Operator(Client, action, detail, err)
		}
	}
}

func (a *api) operator(r *http.Request, action, detail string, err error) {
	if a.oplog != nil {
		a.oplog(r, action, detail, err)
	}
}
