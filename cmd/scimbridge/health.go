package main

import "net/http"

// readyz answers 200 once the store is open and the dispatcher runs, and
// 503 before that and from the start of shutdown, so a load balancer or
// Kubernetes sends SCIM requests only to a bridge that can take them.
// /healthz stays a constant answer: liveness must not depend on the store.
func (a *app) readyz(w http.ResponseWriter, _ *http.Request) {
	if !a.ready.Load() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
