package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/ciam-mfa/ciam-mfa/bench/internal/report"
)

// loadResult is the JSON that mfactl bench prints.
type loadResult struct {
	Name       string  `json:"name"`
	Seconds    float64 `json:"seconds"`
	Requests   int     `json:"requests"`
	OK         int     `json:"ok"`
	Unexpected int     `json:"unexpected"`
	Errors     int     `json:"errors"`
	PerSecond  float64 `json:"perSecond"`
	Latency    struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latencyMs"`
	EachSecond []int   `json:"eachSecond"`
	FirstError string  `json:"firstError"`
	SamplesUs  []int64 `json:"samplesUs"`
}

// load converts the result for the report.
func (r loadResult) load() report.Load {
	l := report.Load{PerSec: r.PerSecond, P50: r.Latency.P50, P99: r.Latency.P99,
		Requests: r.Requests, Bad: r.Unexpected + r.Errors, SlowestSecond: -1}
	if len(r.EachSecond) > 0 {
		l.SlowestSecond = slices.Min(r.EachSecond)
	}
	return l
}

// merged is the load of rounds taken together: their answers over their
// summed windows, and latency percentiles over all their requests, which
// each round must have run with samples.
func merged(rounds []loadResult) report.Load {
	var l report.Load
	var ok int
	var seconds float64
	var samples []time.Duration
	var each []int
	for _, r := range rounds {
		ok += r.OK
		seconds += r.Seconds
		l.Requests += r.Requests
		l.Bad += r.Unexpected + r.Errors
		each = append(each, r.EachSecond...)
		for _, us := range r.SamplesUs {
			samples = append(samples, time.Duration(us)*time.Microsecond)
		}
	}

	if seconds > 0 {
		l.PerSec = float64(ok) / seconds
	}
	l.SlowestSecond = -1
	if len(each) > 0 {
		l.SlowestSecond = slices.Min(each)
	}
	slices.Sort(samples)
	l.P50, l.P99 = quantileMillis(samples, 0.50), quantileMillis(samples, 0.99)
	return l
}

// clipped is the start of out, for an error message: with samples, the
// output can be megabytes.
func clipped(out []byte) []byte { return out[:min(len(out), 300)] }

// run describes one mfactl bench invocation.
type run struct {
	// kind is the bench subcommand: http, token, otp or validate.
	kind        string
	url         string
	clients     int
	duration    time.Duration
	warmup      time.Duration
	requests    int
	rate        float64
	credentials string
	// samples asks for every latency, for merged.
	samples bool
	// extra are the subcommand's own flags.
	extra []string
}

// args returns the mfactl command line.
func (r run) args() []string {
	a := []string{"--json", "bench", r.kind, "--url", r.url,
		"--concurrency", strconv.Itoa(r.clients), "--duration", r.duration.String(),
		"--warmup", r.warmup.String()}
	if r.requests > 0 {
		a = append(a, "--requests", strconv.Itoa(r.requests))
	}

	if r.rate > 0 {
		a = append(a, "--rate", strconv.FormatFloat(r.rate, 'f', -1, 64))
	}

	if r.samples {
		a = append(a, "--samples")
	}

	if r.credentials != "" {
		a = append(a, "--env-file", r.credentials)
	}

	return append(a, r.extra...)
}

// bench runs mfactl bench and decodes its result. It fails with ErrLoad
// when nothing was answered as expected.
func (h *harness) bench(ctx context.Context, r run) (loadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, r.warmup+r.duration+2*time.Minute)
	defer cancel()
	out, err := h.mfactl(ctx, "", r.args()...)
	if err != nil {
		return loadResult{}, err
	}

	var res loadResult
	if err := json.Unmarshal(out, &res); err != nil {
		return loadResult{}, fmt.Errorf("decoding mfactl bench output %q: %w", clipped(out), err)
	}

	h.log.Info("load measured", slog.String("name", res.Name), slog.Int("clients", r.clients),
		slog.Float64("per_sec", res.PerSecond), slog.Float64("p50_ms", res.Latency.P50),
		slog.Float64("p99_ms", res.Latency.P99), slog.Int("bad", res.Unexpected+res.Errors),
		slog.Any("each_second", res.EachSecond))
	if res.OK == 0 {
		return res, fmt.Errorf("%w: %s: no expected answer: %s", ErrLoad, res.Name, res.FirstError)
	}

	if res.FirstError != "" {
		h.log.Warn("unexpected answers", slog.String("name", res.Name),
			slog.String("first", res.FirstError))
	}

	return res, nil
}
