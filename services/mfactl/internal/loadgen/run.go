package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Caps on a run's options.
const (
	// MaxDuration is the longest a run may last, warm-up included.
	MaxDuration = time.Hour
	// MaxRequests is the largest request count a run may ask for.
	MaxRequests = 20_000_000
	// MaxConcurrency is the most workers a run may start.
	MaxConcurrency = 4096
)

// Outcome is what one request came to.
type Outcome struct {
	// Status is the HTTP status; 0 when the request failed in transport.
	Status int
	// OK reports whether the answer was the one the scenario expected.
	OK bool
	// Err is the transport error, or what was wrong with the answer.
	Err error
	// Done means the scenario has no more work; nothing was sent.
	Done bool
}

// Op sends one request and reports its outcome.
type Op func(ctx context.Context) Outcome

// Scenario returns the request function of worker w, counted from 0. The
// functions of different workers run concurrently; the calls of one are
// sequential, so it may keep state between them.
type Scenario func(w int) Op

// Options bound and shape a run.
type Options struct {
	// Concurrency is the number of workers, each with at most one request
	// in flight; default 64.
	Concurrency int
	// Duration is how long requests are measured after the warm-up;
	// required, and with Warmup at most MaxDuration.
	Duration time.Duration
	// Warmup is sent before measuring starts and not counted; default 0.
	Warmup time.Duration
	// Requests stops the run after this many requests (warm-up included);
	// 0 means no count limit, at most MaxRequests.
	Requests int
	// Rate, when positive, paces requests at this many a second (an open
	// loop: latency counts from when a request was due, so a slow server
	// shows as queueing); 0 runs closed loops as fast as answers come.
	Rate float64
	// Samples keeps every measured request's latency in the result, so
	// that runs can be merged exactly.
	Samples bool
}

// check fills defaults and fails with ErrBounds on options outside the
// caps.
func (o *Options) check() error {
	if o.Concurrency == 0 {
		o.Concurrency = 64
	}

	switch {
	case o.Concurrency < 1 || o.Concurrency > MaxConcurrency:
		return fmt.Errorf("%w: concurrency %d not in 1..%d", ErrBounds, o.Concurrency, MaxConcurrency)
	case o.Duration <= 0 || o.Warmup < 0 || o.Duration+o.Warmup > MaxDuration:
		return fmt.Errorf("%w: duration %s plus warm-up %s not in (0, %s]", ErrBounds,
			o.Duration, o.Warmup, MaxDuration)
	case o.Requests < 0 || o.Requests > MaxRequests:
		return fmt.Errorf("%w: requests %d not in 0..%d", ErrBounds, o.Requests, MaxRequests)
	case o.Rate < 0:
		return fmt.Errorf("%w: negative rate", ErrBounds)
	}

	return nil
}

// Run runs scenario sc under o and summarises it as name. It stops when
// the duration has passed, the request count is reached, the scenario
// runs out of work, or ctx is cancelled. Requests cut short by the end of
// the run are not counted. It fails only with ErrBounds.
func Run(ctx context.Context, name string, o Options, sc Scenario) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, o.Warmup+o.Duration)
	defer cancel()

	start := time.Now()
	l := &loop{opts: o, measureFrom: start.Add(o.Warmup)}
	if o.Rate > 0 {
		l.slots = pace(ctx, start, o.Rate, o.Concurrency)
	}

	tallies := make([]*tally, o.Concurrency)
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		tallies[w] = newTally(l.measureFrom)
		op := sc(w)
		wg.Go(func() { l.work(ctx, op, tallies[w]) })
	}

	wg.Wait()
	return summarize(name, o, l.measureFrom, tallies), nil
}

// loop is what the workers of one run share.
type loop struct {
	opts        Options
	measureFrom time.Time
	issued      atomic.Int64
	slots       <-chan time.Time
}

// work is one worker's loop.
func (l *loop) work(ctx context.Context, op Op, t *tally) {
	for ctx.Err() == nil {
		if l.opts.Requests > 0 && l.issued.Add(1) > int64(l.opts.Requests) {
			return
		}

		began, ok := l.next(ctx)
		if !ok {
			return
		}

		out := op(ctx)
		if out.Done || ctx.Err() != nil {
			return
		}

		if !began.Before(l.measureFrom) {
			t.add(began, time.Now(), out)
		}
	}
}

// next returns when the next request is due: now in a closed loop, its
// slot in a paced one. It reports false when the run is over.
func (l *loop) next(ctx context.Context) (time.Time, bool) {
	if l.slots == nil {
		return time.Now(), true
	}

	select {
	case at, ok := <-l.slots:
		return at, ok
	case <-ctx.Done():
		return time.Time{}, false
	}
}

// pace emits the due time of every request at rate a second, from start,
// until ctx ends. Slots that fall due while every worker is busy wait in
// a buffer of size buf, then block the pacer, which catches up at once
// when workers free up.
func pace(ctx context.Context, start time.Time, rate float64, buf int) <-chan time.Time {
	ch := make(chan time.Time, buf)
	interval := time.Duration(float64(time.Second) / rate)
	go func() {
		defer close(ch)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for i := int64(0); ; i++ {
			at := start.Add(time.Duration(i) * interval)
			if d := time.Until(at); d > 0 {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}

			select {
			case ch <- at:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
