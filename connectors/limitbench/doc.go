// Package limitbench holds the onboarding benchmark of issue 16: 10,000
// new users delivered by the dispatcher to each connector's simulator,
// which enforces the target's rate limit (scaled down where the
// simulator's windows allow it), reported as a share of the connector's
// ceiling (requests per second × users per request) with every HTTP
// request counted. It has no code outside its test.
package limitbench
