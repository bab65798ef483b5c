package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/connectors"
)

// sentRequest is one HTTP request a connector made during a dry run.
type sentRequest struct {
	Method, Path, ContentType string
	Body                      []byte
}

// recorder records requests and lets through only those to the dry run's
// own simulator: options such as a token_url may name a real host, and a
// dry run must send nothing anywhere else.
type recorder struct {
	host string
	mu   sync.Mutex
	sent []sentRequest
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != r.host {
		return nil, fmt.Errorf("dry run: not sending to %s (only the built-in simulator is reachable)", req.URL.Host)
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	path := req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		path += "?" + req.URL.RawQuery
	}
	r.mu.Lock()
	r.sent = append(r.sent, sentRequest{Method: req.Method, Path: path, ContentType: req.Header.Get("Content-Type"), Body: body})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// dryRun applies an upsert of one resource to a fresh built-in simulator of
// the connector's type and returns the requests the connector sent: what
// it would send to a target that does not hold the resource yet.
func dryRun(reg connectors.Registration, s connectors.Settings, ch connectors.Change) ([]sentRequest, connectors.Result, error) {
	if reg.NewSimulator == nil {
		return nil, connectors.Result{}, fmt.Errorf("type %q has no built-in simulator to dry-run against", reg.Type)
	}
	sim := reg.NewSimulator()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	rec := &recorder{host: strings.TrimPrefix(srv.URL, "http://")}
	s.BaseURL = srv.URL + sim.BasePath()
	s.Credentials = sim.Credentials()
	s.Simulate = true
	conn, err := reg.New(s, connectors.Deps{
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: rec},
		Log:        zerolog.Nop(),
	})
	if err != nil {
		return nil, connectors.Result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := conn.Apply(ctx, []connectors.Change{ch})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.sent, res[0], nil
}

// writeRequests prints a dry run's requests. Form bodies (token requests)
// are not shown: they carry credentials.
func writeRequests(out io.Writer, sent []sentRequest, res connectors.Result) {
	fmt.Fprintln(out, "requests (dry run against the built-in simulator, as for a target that does not hold it yet):")
	for _, r := range sent {
		fmt.Fprintf(out, "  %s %s\n", r.Method, r.Path)
		switch {
		case len(r.Body) == 0:
		case strings.HasPrefix(r.ContentType, "application/x-www-form-urlencoded"):
			fmt.Fprintln(out, "    (form body not shown: it carries credentials)")
		default:
			var v any
			if json.Unmarshal(r.Body, &v) == nil {
				b, _ := json.MarshalIndent(redact(v), "    ", "  ")
				fmt.Fprintf(out, "    %s\n", b)
			} else {
				fmt.Fprintf(out, "    %s\n", r.Body)
			}
		}
	}
	switch {
	case res.Err != nil:
		fmt.Fprintf(out, "result: %s: %v\n", connectors.ClassOf(res.Err), res.Err)
	default:
		fmt.Fprintf(out, "result: delivered (target id %q)\n", res.TargetID)
	}
}

// secretKeys are body keys whose values a plan never prints (SecureAuth's
// generated password, PIN hashes, knowledge-base answers).
var secretKeys = map[string]bool{"password": true, "pinhash": true, "knowledgebase": true, "client_secret": true, "refresh_token": true, "access_token": true}

// redact replaces the values of secret keys, at any depth.
func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if secretKeys[strings.ToLower(k)] {
				out[k] = "(redacted)"
			} else {
				out[k] = redact(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(e)
		}
		return out
	}
	return v
}
