package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/ciam-mfa/ciam-mfa/bench/internal/procstat"
	"github.com/ciam-mfa/ciam-mfa/bench/internal/report"
)

// hardMaxExpiry is the longest challenge lifetime mfa-api allows; an
// mfa-api without MFA_MAX_CODE_LIFETIME sweeps this long after creation.
const hardMaxExpiry = 10 * time.Minute

// memory restarts mfa-api on a fresh store, fills it with live
// challenges and reads its anonymous memory and file size; with the sweep
// wait it then lets them expire and be swept and fills it again.
func (h *harness) memory(ctx context.Context, f *report.Figures) error {
	if err := h.api.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		return err
	}

	// Debug logging reports each sweep; no request of this phase logs.
	a, err := h.startAPI(ctx, "api-live", map[string]string{
		"MFA_CHALLENGE_RETENTION": "0s", "MFA_SWEEP_INTERVAL": h.plan.sweepInterval.String(),
		"MFA_MAX_CODE_LIFETIME": h.plan.lifetime.String(), "MFA_LOG_LEVEL": "debug"})
	if err != nil {
		return err
	}

	m := &f.Memory
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}

	if m.BaselineAnon, err = procstat.RSSAnon(a.pid()); err != nil {
		return err
	}

	if m.Challenges, err = h.fill(ctx, "live"); err != nil {
		return err
	}

	if m.LiveAnon, m.LiveFile, err = h.footprint(ctx); err != nil {
		return err
	}
	if m.LiveRSSFile, err = procstat.RSSFile(a.pid()); err != nil {
		return err
	}

	if !h.plan.sweep {
		m.SkipReason = "the sweep wait was not asked for"
		if h.cfg.Quick {
			m.SkipReason = "quick run (BENCH_SWEEP=on waits the 30 s minimum lifetime)"
		}

		return nil
	}

	return h.sweepAndRefill(ctx, m)
}

// sweepAndRefill waits until the sweeper has deleted every challenge,
// measures, and stores as many again.
func (h *harness) sweepAndRefill(ctx context.Context, m *report.Memory) error {
	limit := hardMaxExpiry + 3*h.plan.sweepInterval + time.Minute
	h.log.Info("waiting for the sweeper", slog.Duration("at_most", limit.Round(time.Second)))
	err := h.awaitSwept(ctx, "challenges", m.Challenges, limit)
	if err == nil {
		// Each challenge left a rate-limit counter for its user and one
		// for its address, stale by now; the refill should find their
		// pages free as well. Measure anyway if the sweeper is slower.
		err = h.awaitSwept(ctx, "counters", 2*m.Challenges, 12*h.plan.sweepInterval)
		if errors.Is(err, ErrTimeout) {
			h.log.Warn("refilling before every counter was swept", slog.String("error", err.Error()))
			err = nil
		}
	}
	if errors.Is(err, ErrTimeout) {
		m.SkipReason = err.Error()
		return nil
	} else if err != nil {
		return err
	}

	if m.SweptAnon, m.SweptFile, err = h.footprint(ctx); err != nil {
		return err
	}

	if _, err := h.fill(ctx, "refill"); err != nil {
		return err
	}

	if _, m.RefilledFile, err = h.footprint(ctx); err != nil {
		return err
	}

	m.Swept = true
	return nil
}

// fill creates the plan's number of live challenges and returns how many
// were created.
func (h *harness) fill(ctx context.Context, prefix string) (int, error) {
	res, err := h.bench(ctx, run{kind: "otp", url: h.api.base, clients: liveClients,
		duration: 30 * time.Minute, requests: h.plan.challenges, credentials: h.api.creds,
		extra: []string{"--prefix", prefix, "--expires-in", strconv.Itoa(int(h.plan.lifetime.Seconds()))}})
	return res.OK, err
}

// footprint settles for a moment, then reads mfa-api's anonymous memory
// and the bbolt file's size.
func (h *harness) footprint(ctx context.Context) (int64, int64, error) {
	if err := sleep(ctx, 2*time.Second); err != nil {
		return 0, 0, err
	}

	anon, err := procstat.RSSAnon(h.api.pid())
	if err != nil {
		return 0, 0, err
	}

	st, err := os.Stat(h.api.storePath())
	if err != nil {
		return 0, 0, fmt.Errorf("sizing the store: %w", err)
	}

	h.log.Info("footprint", slog.Int64("rss_anon", anon), slog.Int64("file", st.Size()))
	return anon, st.Size(), nil
}

// awaitSwept polls mfa-api's log until its sweeps add up to n deleted
// records of what. It fails with ErrTimeout after limit.
func (h *harness) awaitSwept(ctx context.Context, what string, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		total, err := h.swept(what)
		if err != nil {
			return err
		}

		if total >= n {
			return nil
		}

		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %d of %d %s swept", ErrTimeout, total, n, what)
		}

		if err := sleep(ctx, time.Second); err != nil {
			return errors.Join(err, fmt.Errorf("%d of %d %s swept", total, n, what))
		}
	}
}

// swept adds up the records of what mfa-api's log says it swept: lines
// "swept" with that what, or, from versions that logged challenges
// alone, "swept challenges".
func (h *harness) swept(what string) (int, error) {
	total := 0
	for _, msg := range []string{"swept " + what, "swept"} {
		lines, err := h.api.logLines(msg)
		if err != nil {
			return 0, err
		}
		for _, l := range lines {
			if w, ok := l["what"]; ok && w != what {
				continue
			}
			c, _ := l["count"].(float64)
			total += int(c)
		}
	}
	return total, nil
}
