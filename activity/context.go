package activity

import "context"

// The request context carries who asked and under which request id, so
// the event a write commits can name them. Whoever authenticates puts
// the client in (scim.BearerAuth: the token's position; named clients
// replace that); the HTTP layer puts the request id in.

type ctxKey int

const (
	clientKey ctxKey = iota
	requestIDKey
)

// WithClient returns ctx carrying the name of the client that sent the
// request ("token #1", a named SCIM client, "admin").
func WithClient(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, clientKey, name)
}

// ClientFrom is the client WithClient put into ctx, or "".
func ClientFrom(ctx context.Context) string {
	s, _ := ctx.Value(clientKey).(string)
	return s
}

// WithRequestID returns ctx carrying the request's id (X-Request-Id).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestIDFrom is the request id WithRequestID put into ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}
