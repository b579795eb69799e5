// Package config loads mfa-email-worker's configuration from MFA_*
// environment variables.
package config

import (
	"errors"
	"fmt"
	"net/mail"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
)

// TLS modes for the SMTP connection.
const (
	TLSNone     = "none"     // plain text; for a local relay only
	TLSStartTLS = "starttls" // STARTTLS required
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// Config is the email worker's configuration.
type Config struct {
	worker.Common
	// SMTPHost and SMTPPort locate the mail server (MFA_SMTP_HOST,
	// MFA_SMTP_PORT); default 127.0.0.1:1025 in dev, required host and
	// port 587 otherwise.
	SMTPHost string
	SMTPPort int
	// SMTPUsername and SMTPPassword authenticate, when set
	// (MFA_SMTP_USERNAME, MFA_SMTP_PASSWORD).
	SMTPUsername, SMTPPassword string
	// SMTPTLS is none, starttls or tls (MFA_SMTP_TLS); default none in dev,
	// starttls otherwise.
	SMTPTLS string
	// From is the default sender, a bare address (MFA_EMAIL_FROM); default
	// no-reply@mfa.localhost in dev, required otherwise.
	From string
	// FromName is the default sender's display name (MFA_EMAIL_FROM_NAME);
	// default "CIAM MFA".
	FromName string
	// HELO is the name given to the server (MFA_SMTP_HELO); default the
	// host name.
	HELO string
}

// Load reads the configuration. It fails naming every missing or
// malformed variable.
func Load(l *envconf.Loader) (Config, error) {
	c := Config{Common: worker.LoadCommon(l, events.ChannelEmail)}
	if c.Dev {
		c.SMTPHost = l.String("MFA_SMTP_HOST", "127.0.0.1")
		c.SMTPPort = l.Int("MFA_SMTP_PORT", 1025)
		c.SMTPTLS = l.String("MFA_SMTP_TLS", TLSNone)
		c.From = l.String("MFA_EMAIL_FROM", "no-reply@mfa.localhost")
	} else {
		c.SMTPHost = l.Required("MFA_SMTP_HOST")
		c.SMTPPort = l.Int("MFA_SMTP_PORT", 587)
		c.SMTPTLS = l.String("MFA_SMTP_TLS", TLSStartTLS)
		c.From = l.Required("MFA_EMAIL_FROM")
	}
	c.SMTPUsername = l.String("MFA_SMTP_USERNAME", "")
	c.SMTPPassword = l.String("MFA_SMTP_PASSWORD", "")
	c.FromName = l.String("MFA_EMAIL_FROM_NAME", "CIAM MFA")
	c.HELO = l.String("MFA_SMTP_HELO", "")

	return c, errors.Join(l.Err(), c.validate())
}

func (c *Config) validate() error {
	var errs []error
	switch c.SMTPTLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		errs = append(errs, fmt.Errorf("MFA_SMTP_TLS: %q is not none, starttls or tls", c.SMTPTLS))
	}
	if c.SMTPPort <= 0 || c.SMTPPort > 65535 {
		errs = append(errs, errors.New("MFA_SMTP_PORT: must be 1 to 65535"))
	}
	if c.From != "" {
		if a, err := mail.ParseAddress(c.From); err != nil || a.Name != "" {
			errs = append(errs, errors.New("MFA_EMAIL_FROM: must be a bare address"))
		}
	}

	if (c.SMTPUsername == "") != (c.SMTPPassword == "") {
		errs = append(errs, errors.New("MFA_SMTP_USERNAME and MFA_SMTP_PASSWORD: set both or neither"))
	}
	return errors.Join(errs...)
}
