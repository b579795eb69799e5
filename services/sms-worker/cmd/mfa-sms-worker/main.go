// Command mfa-sms-worker sends OTP text messages: it pulls delivery events
// from the shared JetStream consumer, renders the challenge's SMS template
// and sends it through Vonage (or, in development, appends it to an outbox
// file).
package main

import (
	"log/slog"
	"os"

	"github.com/ciam-mfa/ciam-mfa/pkg/clientconfig"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
	"github.com/ciam-mfa/ciam-mfa/services/sms-worker/internal/config"
	"github.com/ciam-mfa/ciam-mfa/services/sms-worker/internal/outbox"
	"github.com/ciam-mfa/ciam-mfa/services/sms-worker/internal/vonage"
)

func main() {
	os.Exit(worker.Main(worker.Binary[config.Config]{
		Name:   "mfa-sms-worker",
		Load:   config.Load,
		Common: func(c config.Config) worker.Common { return c.Common },
		Sender: newSender,
	}))
}

func newSender(cfg config.Config, conf *clientconfig.Store, _ *slog.Logger) (worker.Sender, error) {
	if cfg.Provider == config.ProviderOutbox {
		return outbox.New(cfg.OutboxPath, cfg.From, conf)
	}
	return vonage.New(vonage.Options{
		APIKey: cfg.VonageAPIKey, APISecret: cfg.VonageAPISecret, BaseURL: cfg.VonageBaseURL,
		From: cfg.From, Timeout: cfg.Worker.SendTimeout, ReceiptURL: cfg.VonageDLRURL,
	}, conf)
}
