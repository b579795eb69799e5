package loadgen

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
)

// Result summarises the measured part of a run.
type Result struct {
	// Name says what was loaded.
	Name string `json:"name"`
	// Concurrency is the number of workers.
	Concurrency int `json:"concurrency"`
	// TargetRate is the paced rate a second; 0 for closed loops.
	TargetRate float64 `json:"targetRate,omitempty"`
	// Seconds is the measured window: from the end of the warm-up to the
	// last counted answer.
	Seconds float64 `json:"seconds"`
	// Requests counts the measured requests, whatever their outcome.
	Requests int `json:"requests"`
	// OK counts the answers the scenario expected.
	OK int `json:"ok"`
	// Unexpected counts answers with another status or body.
	Unexpected int `json:"unexpected"`
	// Errors counts requests that failed in transport.
	Errors int `json:"errors"`
	// Statuses counts answers by HTTP status ("0" for transport errors).
	Statuses map[string]int `json:"statuses"`
	// PerSecond is OK divided by Seconds.
	PerSecond float64 `json:"perSecond"`
	// Latency is over every measured request, in milliseconds.
	Latency Latency `json:"latencyMs"`
	// EachSecond counts the expected answers in each whole second of the
	// measured window, so that stalls show.
	EachSecond []int `json:"eachSecond"`
	// FirstError describes the first unexpected answer or error, if any.
	FirstError string `json:"firstError,omitempty"`
	// SamplesMicros holds every measured request's latency in microseconds,
	// in ascending order, when Options.Samples asks for them.
	SamplesMicros []int64 `json:"samplesUs,omitempty"`
}

// Latency holds latency statistics in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// tally is one worker's record of its measured requests.
type tally struct {
	from       time.Time
	perSecond  []int
	samples    []time.Duration
	last       time.Time
	ok         int
	unexpected int
	errors     int
	statuses   map[int]int
	firstErr   error
}

func newTally(from time.Time) *tally { return &tally{from: from, statuses: map[int]int{}} }

// add records one request that began (or was due) at began and ended at
// end.
func (t *tally) add(began, end time.Time, out Outcome) {
	t.samples = append(t.samples, end.Sub(began))
	t.last = end
	t.statuses[out.Status]++
	switch {
	case out.OK:
		t.ok++
		t.countSecond(end)
	case out.Status == 0:
		t.errors++
	default:
		t.unexpected++
	}

	if !out.OK && t.firstErr == nil {
		t.firstErr = out.Err
		if t.firstErr == nil {
			t.firstErr = fmt.Errorf("status %d", out.Status)
		}
	}
}

// countSecond adds an expected answer to the second it came in.
func (t *tally) countSecond(end time.Time) {
	i := int(end.Sub(t.from) / time.Second)
	if i < 0 {
		return
	}
	for len(t.perSecond) <= i {
		t.perSecond = append(t.perSecond, 0)
	}
	t.perSecond[i]++
}

// summarize merges the workers' tallies.
func summarize(name string, o Options, from time.Time, tallies []*tally) *Result {
	r := &Result{Name: name, Concurrency: o.Concurrency, TargetRate: o.Rate,
		Statuses: map[string]int{}}
	var all []time.Duration
	last := from
	for _, t := range tallies {
		all = append(all, t.samples...)
		r.OK += t.ok
		r.Unexpected += t.unexpected
		r.Errors += t.errors
		for s, n := range t.statuses {
			r.Statuses[strconv.Itoa(s)] += n
		}

		if t.last.After(last) {
			last = t.last
		}

		if t.firstErr != nil && r.FirstError == "" {
			r.FirstError = t.firstErr.Error()
		}
		r.EachSecond = addSeconds(r.EachSecond, t.perSecond)
	}

	r.Requests = len(all)
	r.Seconds = last.Sub(from).Seconds()
	if whole := int(r.Seconds); len(r.EachSecond) > whole {
		r.EachSecond = r.EachSecond[:whole] // the last second is partial
	}
	if r.Seconds > 0 {
		r.PerSecond = float64(r.OK) / r.Seconds
	}

	r.Latency = latencyOf(all)
	if o.Samples {
		r.SamplesMicros = make([]int64, len(all))
		for i, d := range all {
			r.SamplesMicros[i] = (d + time.Microsecond/2).Microseconds() // rounded, as Latency is
		}
	}
	return r
}

// addSeconds adds b to a element by element, growing a as needed.
func addSeconds(a, b []int) []int {
	for len(a) < len(b) {
		a = append(a, 0)
	}
	for i, n := range b {
		a[i] += n
	}
	return a
}

// latencyOf sorts samples and reads the statistics off them.
func latencyOf(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}

	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}

	return Latency{
		Mean: ms(sum / time.Duration(len(samples))),
		P50:  ms(Percentile(samples, 0.50)),
		P90:  ms(Percentile(samples, 0.90)),
		P99:  ms(Percentile(samples, 0.99)),
		P999: ms(Percentile(samples, 0.999)),
		Max:  ms(samples[len(samples)-1]),
	}
}

// Percentile returns the p-quantile (0 < p <= 1) of sorted samples: the
// smallest sample that at least p of them do not exceed. It returns 0 for
// no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}

	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}

// WriteText prints r as two human-readable lines.
func (r *Result) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s: %.0f ok/s over %.1fs, %d workers (requests %d, unexpected %d, "+
		"errors %d)\nlatency ms: mean %.2f p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f\n",
		r.Name, r.PerSecond, r.Seconds, r.Concurrency, r.Requests, r.Unexpected, r.Errors,
		r.Latency.Mean, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	if err == nil && r.FirstError != "" {
		_, err = fmt.Fprintf(w, "first failure: %s\n", r.FirstError)
	}

	return err
}
