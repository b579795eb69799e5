package worker

import (
	"errors"
	"fmt"
)

// Errors and classifications used by this package.
var (
	// ErrPermanent marks a send failure that retrying cannot fix, such as a
	// rejected recipient. Wrap it with Permanent.
	ErrPermanent = errors.New("permanent delivery failure")
)

// permanent carries a short public reason with the cause.
type permanent struct {
	reason string
	err    error
}

// Error returns the reason and the cause.
func (p *permanent) Error() string { return p.reason + ": " + p.err.Error() }

// Unwrap makes the error match ErrPermanent and its cause.
func (p *permanent) Unwrap() []error {
	return []error{ErrPermanent, p.err}
}

// Permanent marks err as not worth retrying; reason is a short stable label
// (such as "invalid-number") recorded with the dead letter.
func Permanent(reason string, err error) error {
	if err == nil {
		err = errors.New(reason)
	}
	return &permanent{reason: reason, err: err}
}

// Permanentf is Permanent with a formatted cause.
func Permanentf(reason, format string, args ...any) error {
	return Permanent(reason, fmt.Errorf(format, args...))
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// Reason returns the label of a permanent error, or "temporary".
func Reason(err error) string {
	var p *permanent
	if errors.As(err, &p) {
		return p.reason
	}
	return "temporary"
}
