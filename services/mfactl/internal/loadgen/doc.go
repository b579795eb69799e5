// Package loadgen drives HTTP load at mfa-api for mfactl's bench
// commands: closed-loop workers (or a paced open loop at a fixed rate)
// sharing one tuned http.Transport, latency percentiles from sorted
// samples, and a Result that prints as text or JSON.
//
// A run is bounded twice: it stops when its duration has passed or its
// request count is reached, whichever comes first, and both have hard
// caps. Targets must be loopback addresses unless the caller allows
// remote ones explicitly, so a mistyped URL cannot load someone else's
// server.
package loadgen
