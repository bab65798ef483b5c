package main

import "github.com/scimbridge/scimbridge/internal/httpmw"

// The request middleware lives in internal/httpmw (so the speed
// benchmarks measure the chain that is served); these names keep the
// program's code and tests short.
const requestIDHeader = httpmw.RequestIDHeader

var (
	requestID      = httpmw.RequestID
	withLogger     = httpmw.WithLogger
	accessLog      = httpmw.AccessLog
	recoverer      = httpmw.Recoverer
	writeSCIMError = httpmw.WriteSCIMError
	quote          = httpmw.Quote
)
