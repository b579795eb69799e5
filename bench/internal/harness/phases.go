package harness

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/ciam-mfa/ciam-mfa/bench/internal/ceiling"
	"github.com/ciam-mfa/ciam-mfa/bench/internal/report"
	"github.com/ciam-mfa/ciam-mfa/bench/internal/smtpsink"
)

// pingBody is what the trivial handler is sent: an OTP request's size.
const pingBody = `{"userName":"bench-123456","email":"bench-123456@example.com",` +
	`"deviceType":"EMAIL","templateName":"demotemplate"}`

// Client counts of the figures that are measured at one count.
const (
	tokenClients    = 64
	validateClients = 64
	deliveryClients = 64
	liveClients     = 64
	boltGoroutines  = 64
	jetStreamWindow = 4096
)

// ceilings measures the trivial handler, bbolt and JetStream, before any
// product process runs.
func (h *harness) ceilings(ctx context.Context, f *report.Figures) error {
	f.Echo = map[int]report.Load{}
	for _, n := range report.Clients {
		err := h.measured(f, "ceiling-echo-"+strconv.Itoa(n), func() (err error) {
			f.Echo[n], err = h.echoLoad(ctx, n)
			return err
		})
		if err != nil {
			return err
		}
	}

	err := h.measured(f, "ceiling-bbolt", func() error {
		b, err := ceiling.Bolt(ctx, ceiling.BoltOptions{Dir: h.dir, Goroutines: boltGoroutines,
			Duration: h.plan.window})
		f.BoltWrites, f.BoltCommits, f.BoltGoroutines = b.WritesPerSec, b.CommitsPerSec, b.Goroutines
		return err
	})
	if err != nil {
		return err
	}

	return h.measured(f, "ceiling-jetstream", func() error {
		js, err := ceiling.JetStream(ctx, ceiling.JetStreamOptions{URL: h.nats.ClientURL(),
			Duration: h.plan.window, Window: jetStreamWindow})
		f.JetStream, f.JetStreamWindow = js.AckedPerSec, js.Window
		return err
	})
}

// echoLoad loads the trivial handler with n clients for the whole window.
func (h *harness) echoLoad(ctx context.Context, n int) (report.Load, error) {
	h.settle()
	res, err := h.echoRound(ctx, n, h.plan.window, false)
	return res.load(), err
}

// echoRound loads the trivial handler with n clients for window; the
// caller lets the disk settle first.
func (h *harness) echoRound(ctx context.Context, n int, window time.Duration,
	samples bool) (loadResult, error) {
	return h.bench(ctx, run{kind: "http", url: h.echo.URL(), clients: n,
		duration: window, warmup: h.plan.warmup, samples: samples,
		extra: []string{"--method", "POST", "--body", pingBody}})
}

// startSystem starts the first mfa-api.
func (h *harness) startSystem(ctx context.Context, _ *report.Figures) error {
	_, err := h.startAPI(ctx, "api", nil)
	return err
}

// tokens measures the token endpoint, in turns with the trivial handler.
func (h *harness) tokens(ctx context.Context, f *report.Figures) (err error) {
	f.TokenClients = tokenClients
	f.TokenEcho, f.Tokens, err = h.pairedLoad(ctx, f, pairing{id: "tokens", clients: tokenClients,
		spare: maxRepeats, product: func(_, _ int, window time.Duration) (loadResult, error) {
			return h.bench(ctx, run{kind: "token", url: h.api.base, clients: tokenClients,
				duration: window, warmup: h.plan.warmup, credentials: h.api.creds, samples: true})
		}})
	return err
}

// delivery paces OTP requests at report.DeliveryRate with one email
// worker and times each from request to the SMTP server's acceptance.
func (h *harness) delivery(ctx context.Context, f *report.Figures) error {
	if err := h.startWorker(ctx); err != nil {
		return err
	}

	h.sink.KeepBodies(false)
	h.sink.Take()
	out := filepath.Join(h.dir, "delivery.tsv")
	var res loadResult
	err := h.measured(f, "delivery", func() (err error) {
		res, err = h.bench(ctx, run{kind: "otp", url: h.api.base, clients: deliveryClients,
			duration: h.plan.window, warmup: h.plan.warmup, rate: report.DeliveryRate,
			credentials: h.api.creds, extra: []string{"--out", out, "--prefix", "lat"}})
		return err
	})
	if err != nil {
		return err
	}

	recs, err := readRecords(out)
	if err != nil {
		return err
	}

	measured := afterWarmup(recs, h.plan.warmup)
	latencies := h.awaitDeliveries(ctx, measured, 30*time.Second)
	d := report.Delivery{Rate: report.DeliveryRate, Achieved: res.PerSecond,
		Created: len(measured), Delivered: len(latencies)}
	d.P50, d.P99 = percentileMillis(latencies, 0.50), percentileMillis(latencies, 0.99)
	f.Delivery = d
	h.log.Info("delivery measured", slog.Int("created", d.Created), slog.Int("delivered", d.Delivered),
		slog.Float64("p50_ms", d.P50), slog.Float64("p99_ms", d.P99))
	return h.stopWorkers()
}

// awaitDeliveries collects the sink's messages until every record's
// address has one or limit passes, and returns the latencies of those
// that arrived.
func (h *harness) awaitDeliveries(ctx context.Context, recs []record, limit time.Duration) []time.Duration {
	sent := make(map[string]time.Time, len(recs))
	for _, r := range recs {
		sent[r.email] = r.sent
	}

	var out []time.Duration
	deadline := time.Now().Add(limit)
	for len(out) < len(recs) && time.Now().Before(deadline) && ctx.Err() == nil {
		for _, a := range h.sink.Take() {
			if at, ok := sent[a.To]; ok {
				out = append(out, a.At.Sub(at))
				delete(sent, a.To)
			}
		}

		_ = sleep(ctx, 50*time.Millisecond)
	}

	return out
}

// percentileMillis returns the p-quantile of ds in milliseconds.
func percentileMillis(ds []time.Duration, p float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return quantileMillis(s, p)
}

// quantileMillis returns the p-quantile of sorted in milliseconds: the
// smallest that at least p of them do not exceed, as mfactl bench reads
// its own; 0 for none.
func quantileMillis(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}

	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return float64(sorted[min(max(i, 0), len(sorted)-1)]) / 1e6
}

// Rounds with more of the CPU stolen than maxRoundSteal are measured
// again, at most maxRoundTries times in all; the last try is kept.
// maxRepeats leaves a figure's repeats capped by the tries alone.
const (
	maxRoundSteal = 0.10
	maxRoundTries = 3
	maxRepeats    = math.MaxInt
)

// otpRequests measures POST /v1/otp at each client count with no worker
// running, leaving the deliveries queued for the email worker phase.
func (h *harness) otpRequests(ctx context.Context, f *report.Figures) error {
	f.OTP, f.OTPEcho = map[int]report.Load{}, map[int]report.Load{}
	for _, n := range report.Clients {
		product := func(round, try int, window time.Duration) (loadResult, error) {
			return h.otpRound(ctx, n, round, try, window)
		}
		echo, otp, err := h.pairedLoad(ctx, f, pairing{id: "otp-" + strconv.Itoa(n), clients: n,
			spare: maxRepeats, product: product})
		if err != nil {
			return err
		}

		f.OTPEcho[n], f.OTP[n] = echo, otp
	}

	return nil
}

// pairing is a product figure measured in turns with the trivial
// handler.
type pairing struct {
	// id is the figure's row, under which its CPU and repeats are kept.
	id      string
	clients int
	// spare caps how many rounds of the figure may be measured again.
	spare int
	// product measures one round of the figure for window.
	product func(round, try int, window time.Duration) (loadResult, error)
}

// pairedLoad measures p in plan.rounds rounds that share the window,
// each a round of the trivial handler with the same clients and then one
// of the product, so that the machine's changes of speed, which are
// large on a shared host, weigh on both alike. It returns both merged.
func (h *harness) pairedLoad(ctx context.Context, f *report.Figures,
	p pairing) (echo, product report.Load, err error) {
	rounds := max(h.plan.rounds, 1)
	window := h.plan.window / time.Duration(rounds)
	var echoes, products []loadResult
	for round := range rounds {
		e, o, pairErr := h.pair(ctx, f, p, round, window)
		if pairErr != nil {
			return echo, product, pairErr
		}

		echoes, products = append(echoes, e), append(products, o)
	}

	return merged(echoes), merged(products), nil
}

// pair measures one round of the trivial handler and then of p, again
// while the CPU stolen during the pair exceeds maxRoundSteal and both
// tries and p's spare repeats are left.
func (h *harness) pair(ctx context.Context, f *report.Figures, p pairing,
	round int, window time.Duration) (loadResult, loadResult, error) {
	for try := 1; ; try++ {
		var echo, product loadResult
		echoSpan, err := h.measure(func() (err error) {
			echo, err = h.echoRound(ctx, p.clients, window, true)
			return err
		})
		if err != nil {
			return echo, product, err
		}

		productSpan, err := h.measure(func() (err error) {
			product, err = p.product(round, try, window)
			return err
		})
		if err != nil {
			return echo, product, err
		}

		steal := max(echoSpan.share().Steal, productSpan.share().Steal)
		if steal <= maxRoundSteal || try == maxRoundTries || f.Repeats[p.id] >= p.spare {
			h.record(f, p.id, productSpan)
			return echo, product, nil
		}

		f.Repeats[p.id]++
		h.log.Warn("round measured again: CPU stolen", slog.String("figure", p.id),
			slog.Int("round", round+1), slog.Float64("stolen", steal))
	}
}

// otpRound measures POST /v1/otp with n clients for window, profiling
// the first round at the target client count.
func (h *harness) otpRound(ctx context.Context, n, round, try int,
	window time.Duration) (loadResult, error) {
	stop := func() {}
	if n == report.TargetClients && round == 0 && try == 1 {
		stop = h.profile(ctx, "otp-"+strconv.Itoa(n))
	}

	res, err := h.bench(ctx, run{kind: "otp", url: h.api.base, clients: n,
		duration: window, warmup: h.plan.warmup, credentials: h.api.creds, samples: true,
		extra: []string{"--out", h.otpRecords(n, round), "--prefix", otpPrefix(n, round, try),
			"--expires-in", strconv.Itoa(int(hardMaxExpiry.Seconds()))}})
	stop()
	return res, err
}

// otpRecords is the file of the challenges one OTP round created; a try
// again overwrites it.
func (h *harness) otpRecords(n, round int) string {
	return filepath.Join(h.dir, "otp-"+strconv.Itoa(n)+"-"+strconv.Itoa(round+1)+".tsv")
}

// otpPrefix starts the user names of one try of an OTP round, unique in
// the run, so that mail to a round measured again is not taken for mail
// to the round kept.
func otpPrefix(n, round, try int) string {
	return "c" + strconv.Itoa(n) + "r" + strconv.Itoa(round+1) + "t" + strconv.Itoa(try)
}

// emailWorkers lets one worker drain the backlog, then two, measuring
// the rate at which mail reaches the sink; it keeps the messages so that
// the validation phase can read their codes.
func (h *harness) emailWorkers(ctx context.Context, f *report.Figures) error {
	h.sink.Take()
	h.sink.KeepBodies(true)
	base := h.sink.Count()
	for i := range 2 {
		if err := h.startWorker(ctx); err != nil {
			return err
		}

		if err := h.measured(f, "email-"+strconv.Itoa(i+1), func() (err error) {
			f.EmailWorker[i], err = h.sinkRate(ctx)
			return err
		}); err != nil {
			return err
		}
		h.log.Info("email workers measured", slog.Int("workers", i+1),
			slog.Float64("per_sec", f.EmailWorker[i]))
	}

	want := min(h.plan.minCodes, h.recorded())
	deadline := time.Now().Add(h.plan.codesWait)
	for h.sink.Count()-base < int64(want) && time.Now().Before(deadline) {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}

	err := h.stopWorkers()
	h.sink.KeepBodies(false)
	return err
}

// recorded is how many challenges the kept OTP rounds created: more
// mail than that is not coming for the validations.
func (h *harness) recorded() int {
	n := 0
	for _, clients := range report.Clients {
		for round := range max(h.plan.rounds, 1) {
			recs, err := readRecords(h.otpRecords(clients, round))
			if err != nil {
				return h.plan.minCodes // the validations report the error
			}
			n += len(recs)
		}
	}
	return n
}

// sinkRate waits out the warm-up, then returns messages a second at the
// sink over the worker window.
func (h *harness) sinkRate(ctx context.Context) (float64, error) {
	if err := sleep(ctx, h.plan.warmup); err != nil {
		return 0, err
	}

	c0, t0 := h.sink.Count(), time.Now()
	if err := sleep(ctx, h.plan.workerWindow); err != nil {
		return 0, err
	}

	c1, t1 := h.sink.Count(), time.Now()
	return float64(c1-c0) / t1.Sub(t0).Seconds(), nil
}

// validateSpare is how many validation rounds may be measured again:
// every try consumes its own share of the delivered codes.
const validateSpare = 2

// validations reads the codes of the delivered messages and validates
// them, one wrong code before each right one, in turns with the trivial
// handler. The codes are shared out among the rounds and the spare
// tries, so that no try sends a code another has used.
func (h *harness) validations(ctx context.Context, f *report.Figures) (err error) {
	lines, err := h.codeLines()
	if err != nil {
		return err
	}

	shares := max(h.plan.rounds, 1) + validateSpare
	per := len(lines) / shares
	if per == 0 {
		return fmt.Errorf("%w: %d delivered codes for %d tries", ErrLoad, len(lines), shares)
	}

	h.log.Info("codes collected", slog.Int("challenges", len(lines)), slog.Int("per_try", per))
	used := 0
	f.ValidateClients = validateClients
	f.ValidateEcho, f.Validate, err = h.pairedLoad(ctx, f, pairing{id: "validate",
		clients: validateClients, spare: validateSpare,
		product: func(round, try int, window time.Duration) (loadResult, error) {
			path := filepath.Join(h.dir, "codes-"+strconv.Itoa(used+1)+".txt")
			if err := writeFile(path, slices.Concat(lines[used*per:(used+1)*per]...)); err != nil {
				return loadResult{}, err
			}

			used++
			return h.validateRound(ctx, path, round == 0 && try == 1, window)
		}})
	return err
}

// validateRound validates the codes in path for window, profiling it
// when profile is set.
func (h *harness) validateRound(ctx context.Context, path string, profile bool,
	window time.Duration) (loadResult, error) {
	stop := func() {}
	if profile {
		stop = h.profile(ctx, "validate")
	}

	res, err := h.bench(ctx, run{kind: "validate", url: h.api.base, clients: validateClients,
		duration: window, warmup: h.plan.warmup, credentials: h.api.creds, samples: true,
		extra: []string{"--codes", path, "--wrong", "1"}})
	stop()
	if err == nil && res.Seconds < 0.9*window.Seconds() {
		h.log.Warn("validation round ran out of codes", slog.Float64("seconds", res.Seconds),
			slog.Float64("window_seconds", window.Seconds()))
	}
	return res, err
}

// codeLines joins the sink's messages with the OTP phase's records and
// returns an "authId code" line for each.
func (h *harness) codeLines() ([][]byte, error) {
	ids := map[string]string{}
	for _, n := range report.Clients {
		for round := range max(h.plan.rounds, 1) {
			recs, err := readRecords(h.otpRecords(n, round))
			if err != nil {
				return nil, err
			}

			for _, r := range recs {
				ids[r.email] = r.authID
			}
		}
	}

	var lines [][]byte
	for _, a := range h.sink.Take() {
		id, ok := ids[a.To]
		if !ok {
			continue
		}

		code, err := smtpsink.Code(a.Raw)
		if err != nil {
			return nil, fmt.Errorf("message to a benchmark user: %w", err)
		}

		lines = append(lines, []byte(id+" "+code+"\n"))
	}

	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: no delivered codes to validate", ErrLoad)
	}

	return lines, nil
}
