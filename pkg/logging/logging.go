// Package logging builds the structured logger every binary uses and
// defines the attribute keys, once, so that log lines from the API and the
// workers can be joined on them.
//
// Values that identify a person (addresses, numbers) are passed through
// package redact before they reach an attribute; codes and secrets never do.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Attribute keys shared by every service.
const (
	KeyAuthID      = "auth_id"
	KeyClientID    = "client_id"
	KeyChannel     = "channel"
	KeyDestination = "destination" // always masked
	KeyError       = "error"
	KeyRequestID   = "request_id"
	KeyMethod      = "method"
	KeyPath        = "path"
	KeyStatus      = "status"
	KeyCode        = "error_code"
	KeyAttempt     = "attempt"
	KeyReason      = "reason"
	KeyAddr        = "addr"
	KeyDuration    = "duration"
	KeyProviderID  = "provider_id"
	KeyTemplate    = "template"
	KeyComponent   = "component"
	KeyCount       = "count"
)

// New returns a logger writing to w at the given level ("debug", "info",
// "warn", "error") in the given format ("json" or "text"). It fails when
// either is unknown.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
}

// Err returns the attribute for an error.
func Err(err error) slog.Attr {
	return slog.String(KeyError, err.Error())
}

// Discard returns a logger that drops everything, for tests and benchmarks.
func Discard() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}
