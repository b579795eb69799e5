package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
)

// StatusSink records delivery outcomes.
type StatusSink interface {
	ApplyStatus(st events.Status) error
}

// ConsumeStatus reads MFA_STATUS through mfa-api's durable consumer and
// passes each status to sink until ctx ends. A status that cannot be
// decoded is dropped; one the sink fails on is retried after a second.
func ConsumeStatus(ctx context.Context, js jetstream.JetStream, sink StatusSink, log *slog.Logger) error {
	cons, err := js.CreateOrUpdateConsumer(ctx, events.StreamStatus, jetstream.ConsumerConfig{
		Durable: events.ConsumerStatus, Description: "mfa-api records delivery outcomes",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 10000,
	})
	if err != nil {
		return fmt.Errorf("creating consumer %s: %w", events.ConsumerStatus, err)
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("status fetch failed", logging.Err(err))
				time.Sleep(time.Second)
			}

			continue
		}

		applyBatch(batch.Messages(), sink, log)
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			log.Debug("status fetch ended", logging.Err(err))
		}
	}

	return nil
}

// statusWriters is how many statuses are applied at once; their writes
// share the store's commits.
const statusWriters = 64

// applyBatch applies the statuses of one fetch concurrently and returns
// once every one is acked or naked. Order does not matter: a challenge's
// history is kept sorted by time.
func applyBatch(msgs <-chan jetstream.Msg, sink StatusSink, log *slog.Logger) {
	slots := make(chan struct{}, statusWriters)
	var wg sync.WaitGroup
	for m := range msgs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			handleStatus(m, sink, log)
		}()
	}
	wg.Wait()
}

func handleStatus(m jetstream.Msg, sink StatusSink, log *slog.Logger) {
	st, err := events.UnmarshalStatus(m.Data())
	if err != nil {
		log.Warn("dropping unreadable status", logging.Err(err))
		_ = m.Term()
		return
	}

	if err := sink.ApplyStatus(st); err != nil {
		log.Warn("status not recorded; will retry", logging.Err(err),
			slog.String(logging.KeyAuthID, st.AuthID))
		_ = m.NakWithDelay(time.Second)
		return
	}

	_ = m.Ack()
}
