// Command mfa-sms-worker sends OTP text messages: it pulls delivery events
// from the shared JetStream consumer, renders the challenge's SMS template
// and sends it through Vonage (or, in development, appends it to an outbox
// file).
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
	"github.com/ciam-mfa/ciam-mfa/services/sms-worker/internal/config"
	"github.com/ciam-mfa/ciam-mfa/services/sms-worker/internal/outbox"
	"github.com/ciam-mfa/ciam-mfa/services/sms-worker/internal/vonage"
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
		fmt.Fprintf(os.Stderr, "mfa-sms-worker: configuration:\n%v\n", err)
		return 2
	}

	log, err := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mfa-sms-worker: %v\n", err)
		return 2
	}

	tpls, err := render.Defaults(templates.FS, cfg.TemplatesDir)
	if err != nil {
		log.Error("templates failed to load", logging.Err(err))
		return 1
	}

	build := func(ctx context.Context, js jetstream.JetStream, ring *keyring.AEAD) (worker.Sender, error) {
		conf, err := clientconfig.Open(ctx, js, ring, tpls, log)
		if err != nil {
			return nil, err
		}
		return newSender(cfg, conf)
	}

	if err := worker.Serve(ctx, cfg.Common, "mfa-sms-worker", build, log); err != nil {
		log.Error("worker stopped with error", logging.Err(err))
		return 1
	}

	return 0
}

func newSender(cfg config.Config, tpls *clientconfig.Store) (worker.Sender, error) {
	if cfg.Provider == config.ProviderOutbox {
		return outbox.New(cfg.OutboxPath, cfg.From, tpls)
	}
	return vonage.New(vonage.Options{
		APIKey: cfg.VonageAPIKey, APISecret: cfg.VonageAPISecret, BaseURL: cfg.VonageBaseURL,
		From: cfg.From, Timeout: cfg.Worker.SendTimeout, ReceiptURL: cfg.VonageDLRURL,
	}, tpls)
}
