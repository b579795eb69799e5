// Package config loads mfa-sms-worker's configuration from MFA_* environment
// variables.
package config

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
)

// SMS providers.
const (
	ProviderVonage = "vonage"
	ProviderOutbox = "outbox"
)

// Config is the SMS worker's configuration.
type Config struct {
	worker.Common
	// Provider is vonage or outbox (MFA_SMS_PROVIDER); default outbox in
	// dev, vonage otherwise.
	Provider string
	// VonageAPIKey and VonageAPISecret are the account's credentials
	// (MFA_VONAGE_API_KEY, MFA_VONAGE_API_SECRET); required with vonage.
	VonageAPIKey, VonageAPISecret string
	// VonageBaseURL is the SMS API base including /sms
	// (MFA_VONAGE_BASE_URL); default https://rest.nexmo.com/sms.
	VonageBaseURL string
	// VonageDLRURL, when set, asks Vonage for delivery receipts at that URL
	// (MFA_VONAGE_DLR_URL), normally mfa-api's /v1/webhooks/vonage/dlr.
	VonageDLRURL string
	// From is the default sender id or number (MFA_SMS_FROM); default
	// CIAMMFA.
	From string
	// OutboxPath is where the outbox provider writes
	// (MFA_SMS_OUTBOX); default var/sms-outbox.jsonl.
	OutboxPath string
}

// Load reads the configuration. It fails naming every missing or
// malformed variable.
func Load(l *envconf.Loader) (Config, error) {
	c := Config{Common: worker.LoadCommon(l, events.ChannelSMS)}
	def := ProviderVonage
	if c.Dev {
		def = ProviderOutbox
	}
	c.Provider = l.String("MFA_SMS_PROVIDER", def)
	c.VonageBaseURL = l.String("MFA_VONAGE_BASE_URL", "https://rest.nexmo.com/sms")
	c.From = l.String("MFA_SMS_FROM", "CIAMMFA")
	c.VonageDLRURL = l.String("MFA_VONAGE_DLR_URL", "")
	c.OutboxPath = l.String("MFA_SMS_OUTBOX", filepath.Join(c.DataDir, "sms-outbox.jsonl"))
	var errs []error
	switch c.Provider {
	case ProviderVonage:
		c.VonageAPIKey = l.Required("MFA_VONAGE_API_KEY")
		c.VonageAPISecret = l.Required("MFA_VONAGE_API_SECRET")
		if c.VonageAPIKey != "" && len(c.VonageAPIKey) != 8 {
			errs = append(errs, errors.New("MFA_VONAGE_API_KEY: must be the 8-character key Vonage issued"))
		}
	case ProviderOutbox:
	default:
		errs = append(errs, fmt.Errorf("MFA_SMS_PROVIDER: %q is not vonage or outbox", c.Provider))
	}
	return c, errors.Join(append([]error{l.Err()}, errs...)...)
}
