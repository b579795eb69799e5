// Package store keeps mfa-api's state in one bbolt file: clients,
// challenges, signing keys, TOTP enrollments, counters and the audit log.
//
// Buckets and key encodings:
//
//	clients      client id                       -> JSON Client
//	challenges   16-byte UUIDv7 auth id          -> Challenge, binary (codec.go)
//	signing_keys key id                          -> JSON SigningKey (private part sealed)
//	meta         name                            -> value
//
// Challenge ids are UUIDv7, so keys arrive in time order: inserts append
// to the end of the B+tree and the sweeper deletes from its front, without
// an index.
//
// Writes that many requests make at once go through the committer
// (commit.go), which shares one commit (and its fsyncs) between them, as
// DB.Batch would but without its timer. A write's function may run more
// than once and is rolled back when it returns an error, so the functions
// here only report outcomes through values they reset on every run.
package store
