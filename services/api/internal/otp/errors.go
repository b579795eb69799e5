package otp

import (
	"errors"
	"strconv"
)

// Errors returned by the Service. The HTTP layer maps each to one status
// and public code.
var (
	ErrNotFound      = errors.New("challenge not found")
	ErrExpired       = errors.New("challenge expired")
	ErrLocked        = errors.New("challenge locked")
	ErrAlreadyUsed   = errors.New("challenge already validated")
	ErrInvalidCode   = errors.New("invalid code")
	ErrDeviceType    = errors.New("device type not supported")
	ErrTemplate      = errors.New("unknown template")
	ErrExpiry        = errors.New("expiry outside the client's policy")
	ErrUnavailable   = errors.New("delivery unavailable")
	ErrInvalidInput  = errors.New("invalid request")
	ErrResendLimited = errors.New("resend not allowed yet")
	ErrNotResendable = errors.New("challenge cannot be resent")
)

// InvalidCodeError is a wrong code, with the attempts left after it. It
// matches ErrInvalidCode with errors.Is.
type InvalidCodeError struct {
	Remaining int
}

// Error says how many attempts are left.
func (e *InvalidCodeError) Error() string {
	return "invalid code, " + strconv.Itoa(e.Remaining) + " attempts left"
}

// Is makes errors.Is(err, ErrInvalidCode) true.
func (e *InvalidCodeError) Is(target error) bool { return target == ErrInvalidCode }

// RemainingAttempts returns the attempts left.
func (e *InvalidCodeError) RemainingAttempts() int { return e.Remaining }

// InputError is a request field that fails validation; Field names it and
// Err is the public reason.
type InputError struct {
	Field string
	Err   error
}

// Error names the field and the reason.
func (e *InputError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *InputError) Unwrap() error { return e.Err }
