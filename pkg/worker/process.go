package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsconn"
)

// Common is the configuration every worker binary shares.
type Common struct {
	// Dev is MFA_PROFILE=dev.
	Dev bool
	// NATSURL is the NATS server (MFA_NATS_URL); default
	// nats://127.0.0.1:4222. Workers never embed one.
	NATSURL string
	// NATSToken authenticates to it (MFA_NATS_TOKEN); default none.
	NATSToken string
	// DeliveryKeys opens delivery payloads (MFA_DELIVERY_KEYS, or
	// MFA_KEYS_FILE); required outside dev.
	DeliveryKeys string
	// DataDir is where the dev profile's generated keys are read
	// (MFA_DATA_DIR); default var/.
	DataDir string
	// TemplatesDir overrides or adds to the built-in templates
	// (MFA_TEMPLATES_DIR).
	TemplatesDir string
	// LogLevel and LogFormat (MFA_LOG_LEVEL, MFA_LOG_FORMAT); default info
	// and json (text in dev).
	LogLevel, LogFormat string
	// StartTimeout bounds the wait for NATS and mfa-api's streams at
	// start-up (MFA_WORKER_START_TIMEOUT); default 60s.
	StartTimeout time.Duration
	// Worker tunes the delivery loop (MFA_WORKER_*).
	Worker Config
}

// LoadCommon reads the shared worker configuration for channel ch.
func LoadCommon(l *envconf.Loader, ch events.Channel) Common {
	var c Common
	c.Dev = l.Dev()
	c.DataDir = l.String("MFA_DATA_DIR", "var")
	l.LoadKeysFile()
	l.LoadDevKeys(c.DataDir)
	c.NATSURL = l.String("MFA_NATS_URL", "nats://127.0.0.1:4222")
	c.NATSToken = l.String("MFA_NATS_TOKEN", "")
	c.DeliveryKeys = l.Required("MFA_DELIVERY_KEYS")
	c.TemplatesDir = l.String("MFA_TEMPLATES_DIR", "")
	c.LogLevel = l.String("MFA_LOG_LEVEL", "info")
	format := "json"
	if c.Dev {
		format = "text"
	}
	c.LogFormat = l.String("MFA_LOG_FORMAT", format)
	c.StartTimeout = l.Duration("MFA_WORKER_START_TIMEOUT", time.Minute)
	def := Config{}.withDefaults()
	c.Worker = Config{
		Channel:         ch,
		Concurrency:     l.Int("MFA_WORKER_CONCURRENCY", DefaultConcurrency(ch)),
		Backoff:         l.Durations("MFA_WORKER_BACKOFF", def.Backoff),
		MaxDeliver:      l.Int("MFA_WORKER_MAX_DELIVER", def.MaxDeliver),
		AckWait:         l.Duration("MFA_WORKER_ACK_WAIT", def.AckWait),
		SendTimeout:     l.Duration("MFA_WORKER_SEND_TIMEOUT", def.SendTimeout),
		PullExpiry:      l.Duration("MFA_WORKER_PULL_EXPIRY", def.PullExpiry),
		ShutdownTimeout: l.Duration("MFA_WORKER_SHUTDOWN_TIMEOUT", def.ShutdownTimeout),
	}

	l.Check("MFA_WORKER_*", c.Worker.Validate())

	return c
}

// DefaultConcurrency is how many messages a worker of channel ch sends at
// once unless MFA_WORKER_CONCURRENCY says otherwise: 64 for email, where a
// send is a few round trips to a relay that takes many connections, and 16
// for SMS, whose provider throttles each account to tens of messages a
// second.
func DefaultConcurrency(ch events.Channel) int {
	if ch == events.ChannelEmail {
		return 64
	}
	return 16
}

// Builder makes a process's Sender once NATS is connected, so that it can
// read the client settings mfa-api publishes there.
type Builder func(ctx context.Context, js jetstream.JetStream, ring *keyring.AEAD) (Sender, error)

// Serve runs one worker process: it connects to NATS, waits for the
// streams mfa-api creates, builds the sender, sets up the consumer, and
// runs the loop until ctx is cancelled; then it drains the connection. It
// fails when NATS or the streams are not there within StartTimeout.
func Serve(ctx context.Context, c Common, name string, build Builder, log *slog.Logger) error {
	ring, err := keyring.NewAEAD(c.DeliveryKeys)
	if err != nil {
		return fmt.Errorf("MFA_DELIVERY_KEYS: %w", err)
	}
	nc, js, err := connect(ctx, c, name, log)
	if err != nil {
		return err
	}
	w := New(c.Worker, js, ring, nil, log)
	if err := setup(ctx, w, c.StartTimeout, log); err != nil {
		nc.Close()
		return err
	}

	if w.sender, err = build(ctx, js, ring); err != nil {
		nc.Close()
		return err
	}

	runErr := w.Run(ctx)
	if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		runErr = errors.Join(runErr, fmt.Errorf("draining nats: %w", err))
	}
	for deadline := time.Now().Add(5 * time.Second); !nc.IsClosed() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	return runErr
}

// connect dials NATS, retrying until StartTimeout.
func connect(ctx context.Context, c Common, name string, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	deadline := time.Now().Add(c.StartTimeout)
	for {
		nc, js, err := natsconn.Connect(c.NATSURL, c.NATSToken, name, log)
		if err == nil {
			return nc, js, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, nil, err
		}
		log.Warn("nats not reachable yet; retrying", logging.Err(err))
		sleep(ctx, time.Second)
	}
}

// setup waits for mfa-api's streams, then creates the consumer.
func setup(ctx context.Context, w *Worker, limit time.Duration, log *slog.Logger) error {
	deadline := time.Now().Add(limit)
	for {
		err := w.Setup(ctx)
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrBucketNotFound) ||
			time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		log.Warn("streams not created yet; is mfa-api running?", logging.Err(err))
		sleep(ctx, time.Second)
	}
}
