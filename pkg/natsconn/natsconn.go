// Package natsconn connects a service to NATS with the reconnect and logging
// behaviour every service wants, and opens JetStream on the connection.
package natsconn

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
)

// Connect dials url, with token when it is not empty, and returns the
// connection and a JetStream handle. The connection reconnects forever;
// disconnects and reconnects are logged. It fails when the first dial
// fails.
func Connect(url, token, name string, logger *slog.Logger,
	opts ...jetstream.JetStreamOpt) (*nats.Conn, jetstream.JetStream, error) {
	var auth nats.Option = func(*nats.Options) error { return nil }
	if token != "" {
		auth = nats.Token(token)
	}
	nc, err := nats.Connect(url, auth,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.Timeout(5*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", logging.Err(err))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			logger.Info("nats reconnected", slog.String(logging.KeyAddr, c.ConnectedUrlRedacted()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			logger.Warn("nats async error", logging.Err(err))
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to nats %s: %w", url, err)
	}
	js, err := jetstream.New(nc, opts...)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("opening jetstream: %w", err)
	}

	return nc, js, nil
}
