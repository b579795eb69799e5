package render

import (
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
)

// DataFor returns the template data of a delivery at now: the minutes left
// are rounded up, and never less than one.
func DataFor(d *events.Delivery, s events.Secret, now time.Time) Data {
	left := d.ExpiresAt.Sub(now)
	minutes := int((left + time.Minute - 1) / time.Minute)
	locale := d.Locale
	if locale == "" {
		locale = "en"
	}
	return Data{
		Code: s.Code, UserName: s.UserName, ExpiresInMinutes: max(minutes, 1),
		AppName: d.AppName, Locale: locale, Brand: d.Brand,
	}
}
