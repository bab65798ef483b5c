// Package e2ekit is what the end-to-end tests share: building and running
// the real scimbridge binary (SIGKILLed and restarted at will), a SCIM
// client that retries across those kills and remembers when each write was
// acknowledged, the admin API, and the four connectors' simulators at their
// shipped limits, each behind a counter of every HTTP request it serves and
// of the moments its state changes. test/story drives a provisioning story
// with it; test/crash runs its bridge with it.
package e2ekit
