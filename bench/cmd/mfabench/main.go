// Command mfabench runs the CIAM MFA system benchmark on this machine and
// prints its markdown table: it builds the binaries, starts the system on
// loopback, measures the ceilings and the product in one run, and marks
// each target passed or failed. make bench runs it; BENCH_QUICK=1 (or
// -quick) makes a run of about a minute that only proves it works.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ciam-mfa/ciam-mfa/bench/internal/harness"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var cfg harness.Config
	flag.BoolVar(&cfg.Quick, "quick", os.Getenv("BENCH_QUICK") == "1",
		"short windows and 20k challenges (default from BENCH_QUICK=1)")
	sweep := flag.String("sweep", os.Getenv("BENCH_SWEEP"),
		"wait for the sweeper after the live challenges: auto (full runs only), on, off "+
			"(default from BENCH_SWEEP)")
	flag.StringVar(&cfg.WorkDir, "dir", "", "keep binaries, data and logs here (default a temp dir)")
	flag.StringVar(&cfg.ProfileDir, "profile", os.Getenv("BENCH_PROFILE"),
		"record mfa-api with perf under OTP and validation load into this directory")
	out := flag.String("out", "", "also write the table to this file")
	flag.Parse()
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	var err error
	if cfg.Sweep, err = harness.ParseSweepMode(*sweep); err != nil {
		fmt.Fprintln(os.Stderr, "mfabench:", err)
		return 2
	}

	rep, err := harness.Run(ctx, cfg)
	if err != nil {
		cfg.Log.Error("benchmark failed", slog.String("error", err.Error()))
		return 1
	}

	if err := rep.Markdown(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mfabench:", err)
		return 1
	}

	if *out != "" {
		if err := writeTable(*out, rep.Markdown); err != nil {
			fmt.Fprintln(os.Stderr, "mfabench:", err)
			return 1
		}
	}

	return 0
}

// writeTable writes the table to path.
func writeTable(path string, render func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}

	if err := render(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}

	return f.Close()
}
