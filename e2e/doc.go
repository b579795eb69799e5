// Package e2e runs the whole system as its users do: the four binaries,
// built from this workspace and started as separate processes, against an
// embedded NATS server, a real SMTP server and a Vonage-protocol server,
// all on loopback in the test process. The tests talk to mfa-api over HTTP
// only and read codes from the messages that arrive.
package e2e
