package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
)

// Stream, consumer and bucket names.
const (
	StreamDelivery = "MFA_DELIVERY"
	StreamStatus   = "MFA_STATUS"
	StreamDLQ      = "MFA_DLQ"

	// BucketConfig holds per-client templates and sender settings that
	// mfa-api writes and workers watch.
	BucketConfig = "MFA_CONFIG"
	// BucketSent holds a marker for every delivery a provider accepted, so
	// that a redelivered message is not sent twice.
	BucketSent = "MFA_SENT"

	// ConsumerStatus is mfa-api's durable consumer of MFA_STATUS.
	ConsumerStatus = "api-status"
)

// Header names set on delivery, status and dead-letter messages.
const (
	HeaderMsgID       = "Nats-Msg-Id"
	HeaderSchema      = "Mfa-Schema"
	HeaderReason      = "Mfa-Reason"
	HeaderDestination = "Mfa-Destination" // always masked
	HeaderAttempts    = "Mfa-Attempts"
	HeaderLastError   = "Mfa-Last-Error"
	HeaderAuthID      = "Mfa-Auth-Id"
	HeaderFailedAt    = "Mfa-Failed-At"
)

// SchemaVersion is the version of Delivery and Status this package writes.
const SchemaVersion = 1

// Errors returned by this package.
var (
	// ErrUnknownChannel is returned for a channel name other than email
	// or sms.
	ErrUnknownChannel = errors.New("events: unknown channel")
	// ErrSchema is returned when a message is not a readable event of a
	// supported schema version.
	ErrSchema = errors.New("events: unsupported or malformed event")
)

// Channel is a delivery channel.
type Channel int

// The delivery channels.
const (
	ChannelEmail Channel = iota + 1
	ChannelSMS
)

// Channels lists every channel, for loops that set up each.
var Channels = []Channel{ChannelEmail, ChannelSMS}

// String returns "email" or "sms".
func (c Channel) String() string {
	switch c {
	case ChannelEmail:
		return "email"
	case ChannelSMS:
		return "sms"
	default:
		return "channel(" + strconv.Itoa(int(c)) + ")"
	}
}

// ParseChannel parses "email" or "sms". It fails with ErrUnknownChannel.
func ParseChannel(s string) (Channel, error) {
	switch strings.ToLower(s) {
	case "email":
		return ChannelEmail, nil
	case "sms":
		return ChannelSMS, nil
	default:
		return 0, fmt.Errorf("%w %q", ErrUnknownChannel, s)
	}
}

// MarshalText encodes the channel by name.
func (c Channel) MarshalText() ([]byte, error) {
	if c != ChannelEmail && c != ChannelSMS {
		return nil, fmt.Errorf("%w %d", ErrUnknownChannel, int(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText decodes a channel name. It fails with ErrUnknownChannel.
func (c *Channel) UnmarshalText(b []byte) error {
	v, err := ParseChannel(string(b))
	*c = v
	return err
}

// DeliverySubject is the subject delivery events for c are published on.
func (c Channel) DeliverySubject() string { return "mfa.delivery." + c.String() }

// StatusSubject is the subject workers of c report results on.
func (c Channel) StatusSubject() string { return "mfa.status." + c.String() }

// DLQSubject is the subject dead letters of c are published on.
func (c Channel) DLQSubject() string { return "mfa.dlq." + c.String() }

// Consumer is the durable pull consumer every worker of c shares.
func (c Channel) Consumer() string { return c.String() + "-workers" }

// MsgID returns the Nats-Msg-Id of a delivery: "<authId>.<generation>.<replay>".
// A resend (new generation) or a replay is a new message; a retried publish
// of the same one is dropped by the stream's duplicate window.
func MsgID(authID string, generation, replay int) string {
	return authID + "." + strconv.Itoa(generation) + "." + strconv.Itoa(replay)
}

// Sender is the per-client sender identity a delivery goes out under. Empty
// fields fall back to the worker's configured defaults.
type Sender struct {
	FromAddress string `json:"fromAddress,omitempty"`
	FromName    string `json:"fromName,omitempty"`
	ReplyTo     string `json:"replyTo,omitempty"`
	SMSFrom     string `json:"smsFrom,omitempty"`
	// DKIMDomain names the client's signing domain; the sealed key itself
	// lives in BucketConfig.
	DKIMDomain string `json:"dkimDomain,omitempty"`
}

// Delivery asks a worker to send one code. Version is SchemaVersion.
type Delivery struct {
	Version         int     `json:"v"`
	AuthID          string  `json:"authId"`
	ClientID        string  `json:"clientId"`
	Channel         Channel `json:"channel"`
	Generation      int     `json:"generation"`
	Replay          int     `json:"replay"`
	Template        string  `json:"template"`
	TemplateVersion int     `json:"templateVersion,omitempty"`
	Locale          string  `json:"locale,omitempty"`
	AppName         string  `json:"appName,omitempty"`
	Brand           Brand   `json:"brand,omitzero"`
	Sender          Sender  `json:"sender"`
	// SMSMaxSegments, when set, is the most segments the client allows an
	// SMS to take.
	SMSMaxSegments int       `json:"smsMaxSegments,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	ExpiresAt      time.Time `json:"expiresAt"`
	// Sealed is the Secret, encrypted under the delivery key ring with
	// the message's AAD.
	Sealed []byte `json:"sealed"`
}

// Secret is the part of a delivery that only a worker may read.
type Secret struct {
	Code        string `json:"code"`
	Destination string `json:"to"`
	UserName    string `json:"userName"`
}

// MsgID returns the delivery's Nats-Msg-Id.
func (d *Delivery) MsgID() string { return MsgID(d.AuthID, d.Generation, d.Replay) }

// aad binds a sealed secret to its challenge and code generation, so that
// one cannot be moved into another event.
func (d *Delivery) aad() []byte {
	return []byte(d.ClientID + "/" + d.AuthID + "/" + strconv.Itoa(d.Generation))
}

// Seal encrypts s into d.Sealed under the primary key of ring.
func (d *Delivery) Seal(ring *keyring.AEAD, s Secret) error {
	pt, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding secret: %w", err)
	}
	d.Sealed = ring.Seal(pt, d.aad())
	return nil
}

// Open decrypts d.Sealed. It fails with the keyring's ErrUnknownKey or
// ErrOpen, or ErrSchema when the plaintext is not a Secret.
func (d *Delivery) Open(ring *keyring.AEAD) (Secret, error) {
	pt, err := ring.Open(d.Sealed, d.aad())
	if err != nil {
		return Secret{}, err
	}
	var s Secret
	if err := json.Unmarshal(pt, &s); err != nil {
		return Secret{}, fmt.Errorf("%w: secret: %w", ErrSchema, err)
	}
	return s, nil
}

// Expired reports whether the challenge behind d can no longer be validated
// at now.
func (d *Delivery) Expired(now time.Time) bool { return !now.Before(d.ExpiresAt) }

// Marshal encodes d for publishing.
func (d *Delivery) Marshal() ([]byte, error) {
	d.Version = SchemaVersion
	return appendDelivery(make([]byte, 0, 640), d)
}

// UnmarshalDelivery decodes a published delivery. It fails with ErrSchema.
func UnmarshalDelivery(data []byte) (Delivery, error) {
	var d Delivery
	if err := json.Unmarshal(data, &d); err != nil {
		return Delivery{}, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	if d.Version != SchemaVersion || d.AuthID == "" {
		return Delivery{}, fmt.Errorf("%w: version %d", ErrSchema, d.Version)
	}
	return d, nil
}
