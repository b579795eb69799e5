// Command mfa-email-worker sends OTP emails: it pulls delivery events from
// the shared JetStream consumer, renders the challenge's template and sends
// it over SMTP. Run as many as the load needs; each message goes to one.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/clientconfig"
	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
	"github.com/ciam-mfa/ciam-mfa/services/email-worker/internal/config"
	"github.com/ciam-mfa/ciam-mfa/services/email-worker/internal/smtpsend"
	"github.com/ciam-mfa/ciam-mfa/templates"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := config.Load(envconf.FromEnviron())
	if err != nil {
		fmt.Fprintf(os.Stderr, "mfa-email-worker: configuration:\n%v\n", err)
		return 2
	}

	log, err := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mfa-email-worker: %v\n", err)
		return 2
	}

	tpls, err := render.Defaults(templates.FS, cfg.TemplatesDir)
	if err != nil {
		log.Error("templates failed to load", logging.Err(err))
		return 1
	}

	var sender *smtpsend.Sender
	defer func() {
		if sender != nil {
			_ = sender.Close()
		}
	}()
	build := func(ctx context.Context, js jetstream.JetStream, ring *keyring.AEAD) (worker.Sender, error) {
		conf, err := clientconfig.Open(ctx, js, ring, tpls, log)
		if err != nil {
			return nil, err
		}
		sender, err = smtpsend.New(smtpsend.Options{
			Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS, HELO: cfg.HELO,
			From: cfg.From, FromName: cfg.FromName, Timeout: cfg.Worker.SendTimeout,
			PoolSize: cfg.Worker.Concurrency,
		}, conf, log)
		return sender, err
	}

	if err := worker.Serve(ctx, cfg.Common, "mfa-email-worker", build, log); err != nil {
		log.Error("worker stopped with error", logging.Err(err))
		return 1
	}

	return 0
}
