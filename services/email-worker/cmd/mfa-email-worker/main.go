// Command mfa-email-worker sends OTP emails: it pulls delivery events from
// the shared JetStream consumer, renders the challenge's template and sends
// it over SMTP. Run as many as the load needs; each message goes to one.
package main

import (
	"log/slog"
	"os"

	"github.com/ciam-mfa/ciam-mfa/pkg/clientconfig"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
	"github.com/ciam-mfa/ciam-mfa/services/email-worker/internal/config"
	"github.com/ciam-mfa/ciam-mfa/services/email-worker/internal/smtpsend"
)

func main() {
	os.Exit(worker.Main(worker.Binary[config.Config]{
		Name:   "mfa-email-worker",
		Load:   config.Load,
		Common: func(c config.Config) worker.Common { return c.Common },
		Sender: newSender,
	}))
}

func newSender(cfg config.Config, conf *clientconfig.Store, log *slog.Logger) (worker.Sender, error) {
	return smtpsend.New(smtpsend.Options{
		Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername,
		Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS, HELO: cfg.HELO,
		From: cfg.From, FromName: cfg.FromName, Timeout: cfg.Worker.SendTimeout,
		PoolSize: cfg.Worker.Concurrency,
	}, conf, log)
}
