package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/clientconfig"
	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/templates"
)

// Binary describes a worker program for Main. C is its configuration.
type Binary[C any] struct {
	// Name is the program's name, for messages and the NATS connection.
	Name string
	// Load reads the configuration from the environment.
	Load func(l *envconf.Loader) (C, error)
	// Common returns the part of the configuration every worker shares.
	Common func(cfg C) Common
	// Sender builds the provider sender once NATS is up and the client
	// settings are loaded. A sender that is an io.Closer is closed at exit.
	Sender func(cfg C, conf *clientconfig.Store, log *slog.Logger) (Sender, error)
}

// Main runs a worker program until SIGINT or SIGTERM and returns its exit
// code: 0 after a clean stop, 1 when it failed, 2 for bad configuration.
func Main[C any](b Binary[C]) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := b.Load(envconf.FromEnviron())
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: configuration:\n%v\n", b.Name, err)
		return 2
	}

	common := b.Common(cfg)
	log, err := logging.New(os.Stderr, common.LogLevel, common.LogFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", b.Name, err)
		return 2
	}

	builtin, err := render.Defaults(templates.FS, common.TemplatesDir)
	if err != nil {
		log.Error("templates failed to load", logging.Err(err))
		return 1
	}

	var sender Sender
	build := func(ctx context.Context, js jetstream.JetStream, ring *keyring.AEAD) (Sender, error) {
		conf, err := clientconfig.Open(ctx, js, ring, builtin, log)
		if err != nil {
			return nil, err
		}
		built, err := b.Sender(cfg, conf, log)
		if err != nil {
			return nil, err
		}
		sender = built
		return sender, nil
	}
	err = Serve(ctx, common, b.Name, build, log)
	if c, ok := sender.(io.Closer); ok {
		_ = c.Close()
	}
	if err != nil {
		log.Error("worker stopped with error", logging.Err(err))
		return 1
	}
	return 0
}
