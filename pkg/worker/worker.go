package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/redact"
)

// Sender delivers one opened message through a provider and returns the
// provider's message id. An error wrapped with Permanent is dead-lettered at
// once; any other error is retried.
type Sender interface {
	Send(ctx context.Context, d *events.Delivery, s events.Secret) (providerID string, err error)
}

// Config tunes a Worker. Zero values take the defaults noted.
type Config struct {
	// Channel is the kind of message this worker sends; required.
	Channel events.Channel
	// Concurrency is how many messages are sent at once; default 8.
	Concurrency int
	// Backoff lists the nak delays by attempt; the last repeats.
	// Default 1s, 5s, 30s, 2m.
	Backoff []time.Duration
	// MaxDeliver is the number of attempts before dead-lettering;
	// default 5.
	MaxDeliver int
	// AckWait is the consumer's ack deadline; default 30s. Heartbeats go
	// out at a third of it.
	AckWait time.Duration
	// SendTimeout bounds one provider call; default 10s, at most half of
	// AckWait: a message taken from the server may wait for a free slot
	// about that long, and heartbeats only once it is being handled.
	SendTimeout time.Duration
	// PullExpiry is how long one pull request waits at the server before
	// it is renewed; default 30s, at least 1s. The server sends idle
	// heartbeats at half of it (at most every 30s), and two missed ones
	// renew the subscription.
	PullExpiry time.Duration
	// ShutdownTimeout bounds how long in-flight sends may run after the
	// worker is asked to stop; default 15s.
	ShutdownTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 10 * time.Second
	}
	if c.PullExpiry <= 0 {
		c.PullExpiry = 30 * time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Channel != events.ChannelEmail && c.Channel != events.ChannelSMS {
		return events.ErrUnknownChannel
	}
	if c.PullExpiry < time.Second {
		return fmt.Errorf("pull expiry %s must be at least 1s", c.PullExpiry)
	}
	// A message may wait for a free slot about as long as a send lasts
	// before its own send begins to heartbeat.
	if 2*c.SendTimeout > c.AckWait {
		return fmt.Errorf("send timeout %s must be at most half the ack wait %s",
			c.SendTimeout, c.AckWait)
	}
	return nil
}

// Worker runs the delivery loop for one channel.
type Worker struct {
	cfg    Config
	js     jetstream.JetStream
	ring   *keyring.AEAD
	sender Sender
	log    *slog.Logger
	now    func() time.Time

	cons jetstream.Consumer
	sent jetstream.KeyValue
}

// New returns a worker; Run starts it.
func New(cfg Config, js jetstream.JetStream, ring *keyring.AEAD, sender Sender, log *slog.Logger) *Worker {
	cfg = cfg.withDefaults()
	return &Worker{cfg: cfg, js: js, ring: ring, sender: sender, now: time.Now,
		log: log.With(slog.String(logging.KeyChannel, cfg.Channel.String()))}
}

// Setup creates or updates the channel's durable consumer with this
// worker's settings and opens the sent-marker bucket. It fails when the
// streams do not exist yet (mfa-api creates them) or JetStream is down.
func (w *Worker) Setup(ctx context.Context) error {
	if err := w.cfg.Validate(); err != nil {
		return err
	}
	cc := events.ConsumerConfig(w.cfg.Channel, events.ConsumerOptions{
		AckWait: w.cfg.AckWait, MaxDeliver: w.cfg.MaxDeliver,
	})
	cons, err := w.js.CreateOrUpdateConsumer(ctx, events.StreamDelivery, cc)
	if err != nil {
		return fmt.Errorf("setting up consumer %s: %w", cc.Durable, err)
	}
	sent, err := w.js.KeyValue(ctx, events.BucketSent)
	if err != nil {
		return fmt.Errorf("opening bucket %s: %w", events.BucketSent, err)
	}
	w.cons, w.sent = cons, sent

	return nil
}

// Run pulls and handles messages until ctx is cancelled, then lets what
// it holds finish within ShutdownTimeout; sends still running then are
// cancelled and naked. Setup must have succeeded first. Run returns nil on
// a clean stop.
//
// Messages arrive over one long-lived pull subscription that keeps up to
// Concurrency of them waiting, so a send that ends finds the next message
// already there. When the subscription ends, or the worker stops, the
// messages waiting in it are still handled: naking them would spend one
// of their attempts.
func (w *Worker) Run(ctx context.Context) error {
	if w.cons == nil {
		return errors.New("worker: Setup was not called")
	}
	// Sends get their own context, cancelled only at the hard deadline,
	// so a stop request lets them finish.
	sendCtx, stopHard := hardDeadline(ctx, w.cfg.ShutdownTimeout)
	defer stopHard()
	slots := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	start := func(m jetstream.Msg) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			w.handle(sendCtx, m)
		}()
	}

	w.log.Info("worker started", slog.Int("concurrency", w.cfg.Concurrency))
	for ctx.Err() == nil {
		it, err := w.cons.Messages(jetstream.PullMaxMessages(w.cfg.Concurrency),
			jetstream.PullExpiry(w.cfg.PullExpiry))
		if err != nil {
			w.log.Warn("pull subscription failed", logging.Err(err))
			sleep(ctx, retryPause)
			continue
		}

		err = w.consume(ctx, it, slots, start)
		w.finishWaiting(sendCtx, it, slots, start)
		if err != nil {
			w.log.Warn("pull subscription ended; subscribing again", logging.Err(err))
			sleep(ctx, retryPause)
		}
	}

	return w.drain(sendCtx, &wg)
}

// hardDeadline returns a context that ends limit after ctx does, and a
// func that ends it at once and releases its timer.
func hardDeadline(ctx context.Context, limit time.Duration) (context.Context, func()) {
	hard, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	stopWatch := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(limit, cancel)
	})
	return hard, func() {
		stopWatch()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// consume starts each message of it once a slot is free. It returns nil
// when ctx is cancelled, and the error that ended the subscription
// otherwise.
func (w *Worker) consume(ctx context.Context, it jetstream.MessagesContext,
	slots chan struct{}, start func(jetstream.Msg)) error {
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}

		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return nil
			}
			return err
		}

		start(m)
	}
}

// finishWaiting closes the subscription and starts the messages still
// waiting in it as slots free up. Those not started by the hard deadline
// are naked, like the sends it cancels.
func (w *Worker) finishWaiting(hard context.Context, it jetstream.MessagesContext,
	slots chan struct{}, start func(jetstream.Msg)) {
	it.Drain()
	for {
		m, err := it.Next(jetstream.NextMaxWait(retryPause))
		if err != nil {
			return
		}

		if hard.Err() == nil {
			select {
			case slots <- struct{}{}:
				start(m)
				continue
			case <-hard.Done():
			}
		}

		if err := m.Nak(); err != nil {
			w.log.Warn("nak failed; message returns after ack wait", logging.Err(err))
		}
	}
}

// drain waits for the handlers; at the hard deadline their sends are
// cancelled, fail as temporary and are naked for another worker.
func (w *Worker) drain(hard context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		w.log.Info("worker stopped")
		return nil
	case <-hard.Done():
	}

	<-done
	w.log.Warn("worker stopped at deadline; unfinished sends were handed back")
	return nil
}

// retryPause is the wait before subscribing again after a failure, and
// the longest wait for the next waiting message of a closing
// subscription.
const retryPause = time.Second

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// attemptOf returns the message's delivery count (1 on first delivery).
func attemptOf(m jetstream.Msg) int {
	md, err := m.Metadata()
	if err != nil {
		return 1
	}
	return int(md.NumDelivered)
}

// backoff returns the nak delay after the given failed attempt.
func (w *Worker) backoff(attempt int) time.Duration {
	i := min(max(attempt-1, 0), len(w.cfg.Backoff)-1)
	return w.cfg.Backoff[i]
}

// scrub removes the destination and code from provider error text, which
// often quotes the recipient back.
func scrub(text string, s events.Secret) string {
	if s.Destination != "" {
		text = strings.ReplaceAll(text, s.Destination, redact.Destination(s.Destination))
	}
	if s.Code != "" {
		text = strings.ReplaceAll(text, s.Code, "******")
	}
	if len(text) > 300 {
		text = text[:300]
	}
	return text
}

func itoa(n int) string { return strconv.Itoa(n) }
