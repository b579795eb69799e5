package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
)

// DeviceType is the factor a challenge is answered with.
type DeviceType int

// The device types.
const (
	DeviceEmail DeviceType = iota + 1
	DeviceSMS
	DeviceTOTP
)

// DeviceTypes lists every device type.
var DeviceTypes = []DeviceType{DeviceEmail, DeviceSMS, DeviceTOTP}

// String returns the API name: "EMAIL", "SMS" or "TOTP".
func (d DeviceType) String() string {
	switch d {
	case DeviceEmail:
		return "EMAIL"
	case DeviceSMS:
		return "SMS"
	case DeviceTOTP:
		return "TOTP"
	default:
		return "DEVICE(" + strconv.Itoa(int(d)) + ")"
	}
}

// ParseDeviceType parses an API name, case-sensitively as the API is.
func ParseDeviceType(s string) (DeviceType, bool) {
	for _, d := range DeviceTypes {
		if d.String() == s {
			return d, true
		}
	}

	return 0, false
}

// Channel returns the delivery channel of an out-of-band device type.
func (d DeviceType) Channel() (events.Channel, bool) {
	switch d {
	case DeviceEmail:
		return events.ChannelEmail, true
	case DeviceSMS:
		return events.ChannelSMS, true
	default:
		return 0, false
	}
}

// MarshalText encodes the device type by name. It fails for a value that
// is not one of the device types.
func (d DeviceType) MarshalText() ([]byte, error) {
	if d < DeviceEmail || d > DeviceTOTP {
		return nil, fmt.Errorf("%w: device type %d", ErrCorrupt, int(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes a device type name.
func (d *DeviceType) UnmarshalText(b []byte) error {
	v, ok := ParseDeviceType(strings.ToUpper(string(b)))
	if !ok {
		return fmt.Errorf("%w: device type %q", ErrCorrupt, b)
	}
	*d = v
	return nil
}

// ChallengeState is a challenge's stored state. Locked and expired are not
// stored: they follow from the attempt count and the clock.
type ChallengeState int

// The stored challenge states.
const (
	ChallengePending ChallengeState = iota + 1
	ChallengeValidated
	ChallengeCancelled
)

// String returns the state's name.
func (s ChallengeState) String() string {
	switch s {
	case ChallengePending:
		return "PENDING"
	case ChallengeValidated:
		return "VALIDATED"
	case ChallengeCancelled:
		return "CANCELLED"
	default:
		return "STATE(" + strconv.Itoa(int(s)) + ")"
	}
}

// DeliveryRecord is one entry of a challenge's delivery history.
type DeliveryRecord struct {
	Generation int          `json:"generation"`
	Replay     int          `json:"replay,omitempty"`
	State      events.State `json:"state"`
	Attempt    int          `json:"attempt,omitempty"`
	ProviderID string       `json:"providerId,omitempty"`
	Reason     string       `json:"reason,omitempty"`
	Error      string       `json:"error,omitempty"`
	At         time.Time    `json:"at"`
}

// maxHistory bounds the delivery history kept per challenge.
const maxHistory = 32

// Challenge is one OTP challenge. The code is never stored, only its keyed
// hash; the destination is stored sealed under the data key.
type Challenge struct {
	ID         string         `json:"id"`
	ClientID   string         `json:"clientId"`
	UserName   string         `json:"userName"`
	DeviceType DeviceType     `json:"deviceType"`
	State      ChallengeState `json:"state"`

	// SealedDestination is the address or number as it is sent to.
	SealedDestination []byte `json:"dest,omitempty"`
	// MaskedDestination is safe to show and log.
	MaskedDestination string `json:"maskedDest,omitempty"`
	// LimitKey is the canonical destination that limits count against.
	LimitKey string `json:"limitKey,omitempty"`

	CodeHash    []byte `json:"codeHash,omitempty"`
	HashKeyID   string `json:"hashKey,omitempty"`
	Generation  int    `json:"generation"`
	Replays     int    `json:"replays,omitempty"`
	Attempts    int    `json:"attempts"`
	MaxAttempts int    `json:"maxAttempts"`
	Resends     int    `json:"resends,omitempty"`

	Template        string `json:"template,omitempty"`
	TemplateVersion int    `json:"templateVersion,omitempty"`
	Locale          string `json:"locale,omitempty"`

	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	SentAt      time.Time `json:"sentAt"`
	ValidatedAt time.Time `json:"validatedAt,omitzero"`
	CancelledAt time.Time `json:"cancelledAt,omitzero"`

	Deliveries []DeliveryRecord `json:"deliveries,omitempty"`
}

// Locked reports whether every attempt has been used.
func (c *Challenge) Locked() bool { return c.Attempts >= c.MaxAttempts }

// Expired reports whether the code's lifetime is over at now.
func (c *Challenge) Expired(now time.Time) bool { return !now.Before(c.ExpiresAt) }

// Live reports whether the challenge can still be validated at now.
func (c *Challenge) Live(now time.Time) bool {
	return c.State == ChallengePending && !c.Locked() && !c.Expired(now)
}

// AddDelivery adds a history entry in time order, however late it
// arrives, dropping the oldest beyond a bound.
func (c *Challenge) AddDelivery(r DeliveryRecord) {
	i := len(c.Deliveries)
	for i > 0 && c.Deliveries[i-1].At.After(r.At) {
		i--
	}
	c.Deliveries = slices.Insert(c.Deliveries, i, r)
	if n := len(c.Deliveries); n > maxHistory {
		c.Deliveries = append(c.Deliveries[:0], c.Deliveries[n-maxHistory:]...)
	}
}

// Secret is one client secret, stored as a keyed hash.
type Secret struct {
	Hash      []byte    `json:"hash"`
	KeyID     string    `json:"keyId"`
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when a rotated-out secret stops working; zero for the
	// current secret.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// OTPPolicy is a client's code policy. Zero fields take the service
// defaults.
type OTPPolicy struct {
	CodeLength     int           `json:"codeLength,omitempty"`
	Lifetime       time.Duration `json:"lifetime,omitempty"`
	MaxLifetime    time.Duration `json:"maxLifetime,omitempty"`
	MaxAttempts    int           `json:"maxAttempts,omitempty"`
	ResendCooldown time.Duration `json:"resendCooldown,omitempty"`
	MaxResends     int           `json:"maxResends,omitempty"`
}

// TOTPPolicy is a client's authenticator app parameters. Zero fields take
// the defaults: SHA1, 6 digits, 30 seconds, the client's name as issuer.
type TOTPPolicy struct {
	Algorithm string `json:"algorithm,omitempty"`
	Digits    int    `json:"digits,omitempty"`
	Period    int    `json:"period,omitempty"`
	Issuer    string `json:"issuer,omitempty"`
}

// LimitRule overrides one rate limit or the failure budget for a client:
// at most Max per Window (HardStop only for the failure budget).
type LimitRule struct {
	Max      int           `json:"max"`
	Window   time.Duration `json:"window"`
	HardStop int           `json:"hardStop,omitempty"`
}

// DestinationPolicy is what a client accepts as destinations.
type DestinationPolicy struct {
	// AllowUnicodeEmail accepts email local parts that are not ASCII.
	AllowUnicodeEmail bool `json:"allowUnicodeEmail,omitempty"`
	// DefaultRegion allows phone numbers in that region's national format.
	DefaultRegion string `json:"defaultRegion,omitempty"`
	// AllowedCountries, when set, are the only regions SMS may go to.
	AllowedCountries []string `json:"allowedCountries,omitempty"`
}

// EmailSender is a client's From and Reply-To, on a domain it registered.
type EmailSender struct {
	FromAddress string `json:"fromAddress,omitempty"`
	FromName    string `json:"fromName,omitempty"`
	ReplyTo     string `json:"replyTo,omitempty"`
	// DKIMDomain is the From domain when the client registered a DKIM key
	// for it; messages are then signed.
	DKIMDomain string `json:"dkimDomain,omitempty"`
}

// Client is an application allowed to call the API.
type Client struct {
	ID              string       `json:"id"`
	Name            string       `json:"name"`
	Secrets         []Secret     `json:"secrets"`
	Scopes          []string     `json:"scopes"`
	DeviceTypes     []DeviceType `json:"deviceTypes"`
	Templates       []string     `json:"templates"`
	DefaultTemplate string       `json:"defaultTemplate,omitempty"`
	Disabled        bool         `json:"disabled,omitempty"`
	Policy          OTPPolicy    `json:"policy"`
	TOTP            TOTPPolicy   `json:"totp"`
	// Limits overrides rate limits by name (see package limits).
	Limits       map[string]LimitRule `json:"limits,omitempty"`
	Destinations DestinationPolicy    `json:"destinations"`
	EmailSender  EmailSender          `json:"emailSender"`
	// SMSSender is the alphanumeric sender id or E.164 number SMS go out
	// from; empty takes the worker's default.
	SMSSender string       `json:"smsSender,omitempty"`
	Brand     events.Brand `json:"brand"`
	// SMSMaxSegments caps how many segments an SMS may take; 0 is no cap.
	SMSMaxSegments int       `json:"smsMaxSegments,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// Allows reports whether the client may use device type d.
func (c *Client) Allows(d DeviceType) bool {
	for _, x := range c.DeviceTypes {
		if x == d {
			return true
		}
	}

	return false
}

// ValidTemplateName reports whether n can name a template: 1 to 64
// letters, digits, '-' and '_'.
func ValidTemplateName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}

	return true
}

// AllowsTemplate reports whether the client may use template name.
func (c *Client) AllowsTemplate(name string) bool {
	for _, t := range c.Templates {
		if t == name || t == "*" {
			return true
		}
	}

	return false
}

// HasScope reports whether the client may be granted scope.
func (c *Client) HasScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}

	return false
}

// SigningKey is a JWT signing key. The private key is sealed under the
// data key.
type SigningKey struct {
	ID            string    `json:"kid"`
	Algorithm     string    `json:"alg"`
	Public        []byte    `json:"public"`
	SealedPrivate []byte    `json:"sealedPrivate"`
	CreatedAt     time.Time `json:"createdAt"`
	// RetiredAt is when the key stopped signing; it is still published
	// until tokens it signed have expired.
	RetiredAt time.Time `json:"retiredAt,omitzero"`
}
