package app

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
	"github.com/ciam-mfa/ciam-mfa/templates"
)

// ensureDemoClient gives the dev profile a client allowed everything and
// writes its credentials, with the admin token, to var/dev.env. A demo
// client already recorded there is kept.
func (a *App) ensureDemoClient() error {
	path := a.cfg.DevEnvPath()
	if values, err := envconf.ReadFile(path); err == nil {
		if _, ok := a.clients.Get(values["MFA_CLIENT_ID"]); ok && values["MFA_CLIENT_SECRET"] != "" &&
			values["MFA_ADMIN_TOKEN"] == a.cfg.AdminToken {
			return nil
		}
	}

	c, secret, err := a.clients.Create(clients.Spec{
		Name: "Demo App", Scopes: clients.AllScopes, DeviceTypes: store.DeviceTypes,
		Templates: []string{templates.Default, "*"}, DefaultTemplate: templates.Default,
	})
	if err != nil {
		return fmt.Errorf("creating demo client: %w", err)
	}
	var b strings.Builder
	b.WriteString("# written by mfa-api in the dev profile; source it: . var/dev.env\n")
	fmt.Fprintf(&b, "MFA_ADMIN_TOKEN=%s\nMFA_CLIENT_ID=%s\nMFA_CLIENT_SECRET=%s\n", a.cfg.AdminToken, c.ID, secret)
	fmt.Fprintf(&b, "MFA_BASE_URL=http://%s\n", a.PublicAddr())
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	a.log.Info("demo client created", slog.String(logging.KeyClientID, c.ID), slog.String("credentials", path))

	return nil
}
