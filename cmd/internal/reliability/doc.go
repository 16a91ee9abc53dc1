// Package reliability is the gateway's reliability and security suite: it
// drives the real gateway (gateway.New behind a 127.0.0.1 listener) with
// the cases of the shared reliability catalogue (bad inputs BI-*, faults
// F-*, load L-*, secrets S-*), in front of counting fake upstreams that
// fail, hang, trickle, reset, redirect or answer garbage on demand, and
// writes raw bytes over net.Conn where the framing itself is the attack.
//
// Every subtest is named after the catalogue case it holds ("BI-07/…"), so
// that SECURITY.md at the repository root can point at it. The package has
// no non-test code.
package reliability
