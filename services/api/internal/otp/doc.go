// Package otp issues and checks one-time passcode challenges.
//
// A code is drawn from crypto/rand and stored only as an HMAC bound to its
// challenge and generation; the destination is stored sealed under the data
// key. Checking, counting and consuming a code happen in one batched bbolt
// write, so parallel guesses cannot get more attempts than allowed, nor a
// code validate twice.
//
// Validation answers in a fixed order: a validated challenge is
// ErrAlreadyUsed, else a locked one ErrLocked, else an expired or cancelled
// one ErrExpired, whatever code is sent; only a live challenge compares the
// code.
package otp
