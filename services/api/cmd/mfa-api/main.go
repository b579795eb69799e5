// Command mfa-api serves the CIAM MFA HTTP API: OAuth client credentials
// tokens, OTP and TOTP challenges, and the admin API. Configuration comes
// from MFA_* environment variables; see the README.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/app"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/config"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := config.Load(envconf.FromEnviron())
	if err != nil {
		fmt.Fprintf(os.Stderr, "mfa-api: configuration:\n%v\n", err)
		return 2
	}

	debug.SetGCPercent(cfg.GCPercent)
	debug.SetMemoryLimit(cfg.MemoryLimit)
	log, err := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mfa-api: %v\n", err)
		return 2
	}

	a, err := app.New(ctx, cfg, log)
	if err != nil {
		log.Error("start-up failed", logging.Err(err))
		return 1
	}

	if err := a.Run(ctx); err != nil {
		log.Error("stopped with error", logging.Err(err))
		return 1
	}

	log.Info("stopped")

	return 0
}
