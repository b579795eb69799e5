package harness

import "errors"

// Errors returned by the package.
var (
	// ErrExited is returned when a process ends before it was ready.
	ErrExited = errors.New("harness: process exited")
	// ErrTimeout is returned when something awaited did not happen in time.
	ErrTimeout = errors.New("harness: timed out")
	// ErrLoad is returned when a load run failed outright, such as a token
	// that could not be had.
	ErrLoad = errors.New("harness: load run failed")
)
