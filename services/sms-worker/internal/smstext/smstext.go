// Package smstext renders the text of an SMS delivery, for every SMS
// provider: it picks the client's template revision or the built-in one,
// and enforces the client's cap on segments.
package smstext

import (
	"context"
	"errors"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/clientconfig"
	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
)

// Templates finds the template a delivery names (see clientconfig.Store).
type Templates interface {
	Template(ctx context.Context, clientID, name string, revision int) (*render.Template, error)
}

var _ Templates = (*clientconfig.Store)(nil)

// Render returns the message text for d. A template revision not yet
// published is a temporary failure; an unknown or broken template, or a
// text over the client's segment cap, is permanent.
func Render(ctx context.Context, ts Templates, d *events.Delivery, sec events.Secret, now time.Time) (string, error) {
	tpl, err := ts.Template(ctx, d.ClientID, d.Template, d.TemplateVersion)
	switch {
	case errors.Is(err, clientconfig.ErrNotYet):
		return "", err
	case err != nil:
		return "", worker.Permanent("unknown-template", err)
	}
	text, err := tpl.SMS(d.Locale, render.DataFor(d, sec, now))
	if err != nil {
		return "", worker.Permanent("template-error", err)
	}
	if info := render.Segments(text); d.SMSMaxSegments > 0 && info.Segments > d.SMSMaxSegments {
		return "", worker.Permanentf("sms-too-long", "%d %s segments, the client allows %d",
			info.Segments, info.Encoding, d.SMSMaxSegments)
	}

	return text, nil
}
