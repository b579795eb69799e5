// Package worker is the delivery loop shared by the email and SMS workers.
//
// A Worker pulls from its channel's durable consumer, which every process of
// that kind shares, and gives each message exactly one outcome:
//
//   - ack: the provider accepted it, the challenge had expired, or a marker
//     in the MFA_SENT bucket shows an earlier attempt already got through;
//   - nak with a delay taken from the delivery count, for a temporary
//     failure that has attempts left;
//   - publish to MFA_DLQ, then terminate, for a permanent failure, the last
//     allowed attempt failing, or a message that cannot be read.
//
// Each outcome is reported to MFA_STATUS. Long sends are kept alive with
// progress heartbeats. On shutdown the loop stops fetching and lets what it
// holds finish, the messages that had arrived but not started included;
// anything still running or waiting at the hard deadline is naked so
// another worker takes it at once.
package worker
