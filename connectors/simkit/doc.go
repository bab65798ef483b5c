// Package simkit is what the target simulators (webexsim, sccsim,
// secureauthsim, secureaccesssim) and testconn share: the suite's view of a
// simulator (Sim), fault injection with one set of knob names (Faults,
// Injector), the fixed rate window, paging bounds and WriteJSON.
//
// It is a non-test package on purpose: the simulators ship in the binary
// (`simulate: true`, `scimbridge simulate`, `scimbridge demo`), so nothing
// here may import package testing. The conformance suite that drives a Sim
// lives in connectortest.
//
// Each simulator still writes its own wire format: simkit decides *whether*
// and *how* a request fails (a Fault and a Retry-After), the simulator
// answers it in the target's error body.
package simkit
