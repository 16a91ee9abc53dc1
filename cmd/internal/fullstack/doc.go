// Package fullstack holds the gateway's black-box tests, run on the
// assembled stack: the gateway built by wire.Build as `serve` builds it
// (through the shared harness, wiretest), in front of the in-process mock
// or of a fake upstream on 127.0.0.1. They sit here, above both the
// gateway and the mock, so that no package under gateway/ imports the mock
// or the assembly, tests included. The package has no non-test code.
package fullstack
