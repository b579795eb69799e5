package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ciam-mfa/ciam-mfa/bench/internal/ceiling"
	"github.com/ciam-mfa/ciam-mfa/bench/internal/procstat"
	"github.com/ciam-mfa/ciam-mfa/bench/internal/report"
	"github.com/ciam-mfa/ciam-mfa/bench/internal/smtpsink"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsembed"
)

// Config configures a run.
type Config struct {
	// Quick shortens every window to about a second or two and creates
	// 20,000 live challenges instead of 1,000,000, so that the whole run
	// proves the harness works in about a minute.
	Quick bool
	// Sweep says whether to wait, after the live challenges, for the
	// sweeper to delete them, then create as many again to see whether
	// the bbolt file grows. The default waits in full runs (about 11
	// minutes, as challenges live up to MFA_MAX_CODE_LIFETIME, 10 minutes)
	// and not in quick ones, where the lifetime is cut to its 30 s minimum
	// when asked to wait.
	Sweep SweepMode
	// WorkDir holds binaries, data and logs; empty makes a temporary one
	// that is removed afterwards.
	WorkDir string
	// ProfileDir, when set and perf is installed, gets perf recordings of
	// mfa-api under OTP-request and validation load.
	ProfileDir string
	// Log gets progress; required.
	Log *slog.Logger
}

// SweepMode chooses whether a run waits for the sweeper.
type SweepMode int

// Sweep modes.
const (
	// SweepAuto waits in full runs only; it is the zero value.
	SweepAuto SweepMode = iota
	// SweepOn always waits.
	SweepOn
	// SweepOff never waits.
	SweepOff
)

// String names the mode as the -sweep flag takes it.
func (m SweepMode) String() string {
	switch m {
	case SweepAuto:
		return "auto"
	case SweepOn:
		return "on"
	case SweepOff:
		return "off"
	default:
		return fmt.Sprintf("SweepMode(%d)", int(m))
	}
}

// ParseSweepMode reads "auto", "on" or "off"; "" is auto. It fails for
// anything else.
func ParseSweepMode(s string) (SweepMode, error) {
	for _, m := range []SweepMode{SweepAuto, SweepOn, SweepOff} {
		if s == m.String() {
			return m, nil
		}
	}
	if s == "" {
		return SweepAuto, nil
	}
	return SweepAuto, fmt.Errorf("sweep mode %q: want auto, on or off", s)
}

// plan is how long and how much each phase measures.
type plan struct {
	window, warmup time.Duration
	// rounds splits the window of OTP requests, validations and tokens
	// into that many rounds, each after a round of the trivial handler
	// and each with its own warm-up. A quick run takes one round of its
	// whole window: a shorter one could end before a busy machine answers
	// at all.
	rounds       int
	workerWindow time.Duration
	// minCodes is how many delivered codes the validations wait for, up
	// to codesWait: enough that every validation round and spare try
	// lasts through its warm-up and window at the rates seen here (each
	// takes two requests per code, one wrong and one right, at up to
	// about 20,000 a second).
	minCodes      int
	codesWait     time.Duration
	challenges    int
	sweepInterval time.Duration
	sweep         bool
	// lifetime is the live challenges' lifetime and MFA_MAX_CODE_LIFETIME,
	// which the sweeper waits out.
	lifetime time.Duration
}

// planFor sizes the phases of a run.
func planFor(c Config) plan {
	if c.Quick {
		return plan{window: 1500 * time.Millisecond, warmup: 300 * time.Millisecond, rounds: 1,
			workerWindow: 2 * time.Second, minCodes: 25_000, codesWait: 20 * time.Second,
			challenges: 20_000, sweepInterval: time.Second, sweep: c.Sweep == SweepOn,
			lifetime: 30 * time.Second}
	}

	return plan{window: 10 * time.Second, warmup: 2 * time.Second, rounds: 3,
		workerWindow: 10 * time.Second, minCodes: 280_000, codesWait: 3 * time.Minute,
		challenges: 1_000_000, sweepInterval: 15 * time.Second, sweep: c.Sweep != SweepOff,
		lifetime: 10 * time.Minute}
}

// harness is one run's shared state.
type harness struct {
	cfg    Config
	plan   plan
	log    *slog.Logger
	dir    string
	bin    string
	remove bool

	nats    *server.Server
	sink    *smtpsink.Sink
	echo    *ceiling.EchoServer
	api     *apiProc
	workers []*proc
	env     map[string]string
	perfs   []*proc
	// spans add up the CPU times of measurements taken in rounds.
	spans map[string]*span
	// childTicks is the CPU time of the mfactl runs that have ended.
	childTicks uint64
}

// Run runs every phase and returns the report. It fails when a phase
// cannot run at all; a figure that misses its target is in the report,
// not an error.
func Run(ctx context.Context, cfg Config) (*report.Report, error) {
	h, err := open(ctx, cfg)
	if err != nil {
		return nil, err
	}

	f := report.Figures{Quick: cfg.Quick, Machine: machine(), Rounds: h.plan.rounds,
		Repeats: map[string]int{}}
	runErr := h.phases(ctx, &f)
	if err := errors.Join(runErr, h.close()); err != nil {
		return nil, err
	}

	return report.Build(f), nil
}

// phases runs the measurements in order.
func (h *harness) phases(ctx context.Context, f *report.Figures) error {
	steps := []struct {
		name string
		run  func(context.Context, *report.Figures) error
	}{
		{"ceilings", h.ceilings},
		{"system", h.startSystem},
		{"tokens", h.tokens},
		{"delivery latency", h.delivery},
		{"otp requests", h.otpRequests},
		{"email workers", h.emailWorkers},
		{"validations", h.validations},
		{"live challenges", h.memory},
	}

	for _, s := range steps {
		began := time.Now()
		h.log.Info("phase started", slog.String("phase", s.name))
		if err := s.run(ctx, f); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}

		h.log.Info("phase done", slog.String("phase", s.name),
			slog.Duration("took", time.Since(began).Round(time.Millisecond)))
	}

	return nil
}

// open makes the work directory, builds the binaries and starts NATS and
// the SMTP sink.
func open(ctx context.Context, cfg Config) (h *harness, err error) {
	h = &harness{cfg: cfg, plan: planFor(cfg), log: cfg.Log, dir: cfg.WorkDir}
	defer func() {
		if err != nil {
			err = errors.Join(err, h.close())
		}
	}()
	if h.dir == "" {
		if h.dir, err = os.MkdirTemp("", "mfa-bench-"); err != nil {
			return nil, fmt.Errorf("creating work directory: %w", err)
		}

		h.remove = true
	}

	h.bin = filepath.Join(h.dir, "bin")
	h.log.Info("building binaries", slog.String("dir", h.bin))
	if err := build(ctx, h.bin); err != nil {
		return nil, err
	}

	h.nats, err = natsembed.Start(natsembed.Options{StoreDir: filepath.Join(h.dir, "nats"),
		Name: "bench"})
	if err != nil {
		return nil, fmt.Errorf("starting nats: %w", err)
	}

	if h.sink, err = smtpsink.Start(); err != nil {
		return nil, err
	}

	if h.echo, err = ceiling.StartEcho(h.log); err != nil {
		return nil, err
	}

	return h, nil
}

// close stops every process, the sink and NATS, and removes a temporary
// work directory.
func (h *harness) close() error {
	errs := []error{errStopped(h.perfs, syscall.SIGINT, 30*time.Second),
		errStopped(h.workers, syscall.SIGTERM, 20*time.Second)}
	if h.api != nil {
		errs = append(errs, h.api.stop(syscall.SIGTERM, 30*time.Second))
	}

	if h.sink != nil {
		errs = append(errs, h.sink.Close())
	}

	if h.echo != nil {
		errs = append(errs, h.echo.Close(context.Background()))
	}

	if h.nats != nil {
		h.nats.Shutdown()
		h.nats.WaitForShutdown()
	}

	if h.remove {
		if err := os.RemoveAll(h.dir); err != nil {
			errs = append(errs, fmt.Errorf("removing work directory: %w", err))
		}
	}

	return errors.Join(errs...)
}

// measured runs fn and notes how the CPU was spent during it under row
// id, adding to what earlier measurements under id spent, so that a
// figure taken in rounds counts all of them.
func (h *harness) measured(f *report.Figures, id string, fn func() error) error {
	sp, err := h.measure(fn)
	h.record(f, id, sp)
	return err
}

// measure runs fn, once the disk has settled, and returns how the CPU was
// spent during it: nothing when /proc/stat cannot be read.
func (h *harness) measure(fn func() error) (span, error) {
	h.settle()
	before, errBefore := procstat.CPU()
	ownBefore := h.ownTicks()
	err := fn()
	after, errAfter := procstat.CPU()
	var sp span
	if errBefore == nil && errAfter == nil {
		sp.add(before, after, h.ownTicks()-ownBefore)
	}
	return sp, err
}

// record adds sp to what row id has spent.
func (h *harness) record(f *report.Figures, id string, sp span) {
	if sp.cpu.Total == 0 {
		return
	}
	if h.spans == nil {
		h.spans = map[string]*span{}
	}
	total := h.spans[id]
	if total == nil {
		total = &span{}
		h.spans[id] = total
	}
	total.merge(sp)
	if f.CPU == nil {
		f.CPU = map[string]report.CPUShare{}
	}
	f.CPU[id] = total.share()
}

// span is the CPU time of one figure, over all its rounds.
type span struct {
	cpu procstat.CPUTimes
	own uint64
}

// add counts the time between two readings, own of it used by the
// benchmark's processes.
func (s *span) add(before, after procstat.CPUTimes, own uint64) {
	s.cpu.Total += after.Total - before.Total
	s.cpu.Idle += after.Idle - before.Idle
	s.cpu.Steal += after.Steal - before.Steal
	s.own += own
}

// merge adds o's time to s.
func (s *span) merge(o span) {
	s.cpu.Total += o.cpu.Total
	s.cpu.Idle += o.cpu.Idle
	s.cpu.Steal += o.cpu.Steal
	s.own += o.own
}

// share splits the span's CPU time for the report.
func (s *span) share() report.CPUShare {
	var zero procstat.CPUTimes
	c := report.CPUShare{Busy: procstat.BusyShare(zero, s.cpu),
		Steal: procstat.StealShare(zero, s.cpu)}
	if s.cpu.Total > 0 {
		c.Other = max(c.Busy-float64(s.own)/float64(s.cpu.Total), 0)
	}
	return c
}

// ownTicks returns the CPU time, in clock ticks, used so far by this
// process, the running mfa-api and email workers, and every mfactl that
// has ended.
func (h *harness) ownTicks() uint64 {
	pids := []int{os.Getpid()}
	if h.api != nil && !h.api.exited() {
		pids = append(pids, h.api.pid())
	}
	for _, w := range h.workers {
		if !w.exited() {
			pids = append(pids, w.pid())
		}
	}
	ticks := h.childTicks
	for _, pid := range pids {
		if n, err := procstat.ProcessTicks(pid); err == nil {
			ticks += n
		}
	}
	return ticks
}

// settle flushes the page cache to disk and waits, at most 30 seconds,
// until little is left to write, so that a measurement does not share the
// disk with the writeback of an earlier one.
func (h *harness) settle() {
	syscall.Sync()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n, err := procstat.Dirty()
		if err != nil || n < settledDirty {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.log.Warn("disk writeback still pending before a measurement")
}

// settledDirty is how much unwritten data counts as settled.
const settledDirty = 32 << 20

// machine describes this machine for the report header.
func machine() string {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}

	return fmt.Sprintf("%d cores (%s), %s %s/%s, everything on loopback", runtime.NumCPU(), model,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
