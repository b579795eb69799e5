// Package harness runs the system benchmark behind make bench: it builds
// the four binaries, starts an embedded NATS server and an SMTP sink in
// this process and mfa-api and email workers as processes on loopback,
// measures the ceilings in-process, drives the product with the built
// mfactl's bench commands, and collects every figure into a report.
//
// Phases run one after another so that no two measurements share the CPU:
// ceilings, tokens, request-to-SMTP latency at a paced rate, OTP requests
// at each client count (leaving a backlog of deliveries), the email
// workers draining that backlog with one and then two instances, the
// validations of the codes they delivered, and last the memory and file
// size of a fresh mfa-api holding many live challenges.
package harness
