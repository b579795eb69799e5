package otp

import "golang.org/x/text/unicode/norm"

// CanonicalUserName is the form a userName is stored, counted and looked
// up under: Unicode NFC, so that a name sent composed ("josé" as é) and
// decomposed (e and a combining accent) is one user, with one set of rate
// limits and at most one active authenticator.
func CanonicalUserName(u string) string { return norm.NFC.String(u) }
