package otp

import (
	"time"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// Policy is the effective code policy for one client.
type Policy struct {
	// CodeLength is the number of digits; 6 to 10, default 6.
	CodeLength int
	// Lifetime is how long a code is valid; default 5 minutes.
	Lifetime time.Duration
	// MaxLifetime bounds expiresInSeconds; default and hard cap 10 minutes.
	MaxLifetime time.Duration
	// MaxAttempts is the number of wrong codes before the challenge
	// locks; default 5.
	MaxAttempts int
	// ResendCooldown is the least time between sends; default 30s.
	ResendCooldown time.Duration
	// MaxResends is the number of resends per challenge; default 3.
	MaxResends int
}

// Bounds on policies.
const (
	MinCodeLength  = 6
	MaxCodeLength  = 10
	MinLifetime    = 30 * time.Second
	HardMaxExpiry  = 10 * time.Minute
	MaxAttemptsCap = 20
)

// DefaultPolicy is the policy of SPEC §4.
var DefaultPolicy = Policy{
	CodeLength: 6, Lifetime: 5 * time.Minute, MaxLifetime: 10 * time.Minute,
	MaxAttempts: 5, ResendCooldown: 30 * time.Second, MaxResends: 3,
}

// For returns p overridden by the client's non-zero fields, clamped to the
// hard bounds; p's MaxLifetime is the deployment's cap, which no client
// exceeds.
func (p Policy) For(c store.OTPPolicy) Policy {
	limit := min(p.MaxLifetime, HardMaxExpiry)
	if c.CodeLength != 0 {
		p.CodeLength = c.CodeLength
	}
	if c.Lifetime != 0 {
		p.Lifetime = c.Lifetime
	}
	if c.MaxLifetime != 0 {
		p.MaxLifetime = c.MaxLifetime
	}
	if c.MaxAttempts != 0 {
		p.MaxAttempts = c.MaxAttempts
	}
	if c.ResendCooldown != 0 {
		p.ResendCooldown = c.ResendCooldown
	}
	if c.MaxResends != 0 {
		p.MaxResends = c.MaxResends
	}
	p.CodeLength = min(max(p.CodeLength, MinCodeLength), MaxCodeLength)
	p.MaxLifetime = min(max(p.MaxLifetime, MinLifetime), limit)
	p.Lifetime = min(max(p.Lifetime, MinLifetime), p.MaxLifetime)
	p.MaxAttempts = min(max(p.MaxAttempts, 1), MaxAttemptsCap)

	return p
}

// ValidatePolicy reports a client policy outside the hard bounds, for the
// admin API to refuse rather than clamp.
func ValidatePolicy(c store.OTPPolicy) error {
	switch {
	case c.CodeLength != 0 && (c.CodeLength < MinCodeLength || c.CodeLength > MaxCodeLength):
		return &InputError{Field: "policy.codeLength", Err: errRange("6 to 10")}
	case c.Lifetime != 0 && (c.Lifetime < MinLifetime || c.Lifetime > HardMaxExpiry):
		return &InputError{Field: "policy.lifetimeSeconds", Err: errRange("30 to 600")}
	case c.MaxLifetime != 0 && (c.MaxLifetime < MinLifetime || c.MaxLifetime > HardMaxExpiry):
		return &InputError{Field: "policy.maxLifetimeSeconds", Err: errRange("30 to 600")}
	case c.Lifetime != 0 && c.MaxLifetime != 0 && c.Lifetime > c.MaxLifetime:
		return &InputError{Field: "policy.lifetimeSeconds", Err: errRange("at most maxLifetimeSeconds")}
	case c.MaxAttempts < 0 || c.MaxAttempts > MaxAttemptsCap:
		return &InputError{Field: "policy.maxAttempts", Err: errRange("1 to 20")}
	case c.ResendCooldown < 0 || c.MaxResends < 0 || c.MaxResends > 10:
		return &InputError{Field: "policy.resend", Err: errRange("cooldown >= 0, resends 0 to 10")}
	}
	return nil
}

type errRange string

// Error says what range the value must be in.
func (e errRange) Error() string { return "must be " + string(e) }
