package harness

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// profile starts perf recording mfa-api's CPU into ProfileDir/name and
// returns a function that stops it and writes a text summary beside the
// recording. Without ProfileDir or perf it does nothing.
func (h *harness) profile(ctx context.Context, name string) func() {
	if h.cfg.ProfileDir == "" {
		return func() {}
	}

	perf, err := exec.LookPath("perf")
	if err != nil {
		h.log.Warn("perf not found; not profiling", slog.String("profile", name))
		return func() {}
	}

	data := filepath.Join(h.cfg.ProfileDir, name+".perf.data")
	p, err := startProc(perf, filepath.Join(h.cfg.ProfileDir, name+".perf.log"), nil,
		"record", "-F", "499", "-g", "-p", strconv.Itoa(h.api.pid()), "-o", data)
	if err != nil {
		h.log.Warn("perf did not start", slog.String("error", err.Error()))
		return func() {}
	}

	h.perfs = append(h.perfs, p)
	_ = sleep(ctx, 300*time.Millisecond) // let perf attach
	return func() {
		if err := p.stop(syscall.SIGINT, 30*time.Second); err != nil {
			h.log.Warn("perf did not stop", slog.String("error", err.Error()))
		}

		if err := summarizePerf(ctx, perf, data); err != nil {
			h.log.Warn("perf report failed", slog.String("error", err.Error()))
		}

		h.log.Info("profile written", slog.String("file", data))
	}
}

// summarizePerf writes the flat and the cumulative top symbols of a perf
// recording to data's name with .txt.
func summarizePerf(ctx context.Context, perf, data string) error {
	var out []byte
	for _, mode := range []string{"--no-children", "--children"} {
		cmd := exec.CommandContext(ctx, perf, "report", "-i", data, "--stdio", mode,
			"--sort", "symbol", "--percent-limit", "0.7", "-g", "none")
		b, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("perf report %s: %w", mode, err)
		}

		out = append(out, b...)
	}

	txt := data[:len(data)-len(filepath.Ext(data))] + ".txt"
	if err := os.WriteFile(txt, out, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", txt, err)
	}

	return nil
}
