// Package oauth implements the OAuth 2.0 client credentials grant (RFC 6749
// §4.4) with JWT access tokens (RFC 9068), and verifies those tokens on
// every API request following the JWT best practices of RFC 8725.
//
// Tokens are signed with Ed25519 (alg EdDSA) keys kept in the store, their
// private halves sealed under the data key. Verification accepts only EdDSA
// with a known kid, requires typ at+jwt, iss, aud and exp, allows a small
// leeway, and never reads jku, x5u or jwk headers. Verified tokens are
// cached until they expire; the client's enabled state is checked on every
// use, so disabling a client stops its tokens at once.
package oauth
