package simkit

import (
	"encoding/json"
	"net/http"
)

// WriteJSON answers status with v as JSON under contentType
// ("application/json" when empty).
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) {
	if contentType == "" {
		contentType = "application/json"
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Page returns the bounds [lo, hi) of the page of at most limit items
// starting at offset in a list of n (both clamped to the list).
func Page(n, offset, limit int) (lo, hi int) {
	lo = min(max(offset, 0), n)
	return lo, min(lo+max(limit, 0), n)
}
