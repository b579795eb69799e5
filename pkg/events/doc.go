// Package events is the contract between mfa-api and the delivery workers:
// stream, subject, consumer and bucket names, message headers, the
// deterministic message ids, and the versioned event types.
//
// Streams:
//
//	MFA_DELIVERY  mfa.delivery.email, mfa.delivery.sms  what to send
//	MFA_STATUS    mfa.status.email, mfa.status.sms      what became of it
//	MFA_DLQ       mfa.dlq.email, mfa.dlq.sms            what could not be sent
//
// A Delivery never carries a code or a destination in clear: both sit in
// its Sealed field, encrypted with the shared delivery key ring and bound to
// the challenge's id and code generation.
//
// Nothing else in the repository spells these names; it imports them.
package events
