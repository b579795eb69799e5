// Command mfactl is the CIAM MFA operator's command line: it onboards
// clients, rotates secrets and keys, and inspects and replays deliveries,
// all through mfa-api's admin API. Run "mfactl help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/services/mfactl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.LoadEnv(envconf.FromEnviron()), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
