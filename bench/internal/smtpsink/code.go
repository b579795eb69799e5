package smtpsink

import (
	"errors"
	"regexp"

	"github.com/ciam-mfa/ciam-mfa/pkg/smtptest"
)

// ErrNoCode is returned when a message has no text part with a code.
var ErrNoCode = errors.New("smtpsink: no code in message")

// codePattern is a one-time code of six to ten digits standing alone.
var codePattern = regexp.MustCompile(`\b\d{6,10}\b`)

// Code returns the one-time code in the plain-text part of raw. It fails
// with ErrNoCode when raw has no readable text part with one.
func Code(raw []byte) (string, error) {
	code := codePattern.FindString(smtptest.Part(raw, "text/plain"))
	if code == "" {
		return "", ErrNoCode
	}
	return code, nil
}
