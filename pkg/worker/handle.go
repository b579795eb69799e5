package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/redact"
)

// handle gives one message its single outcome.
func (w *Worker) handle(ctx context.Context, m jetstream.Msg) {
	defer w.heartbeat(m)()
	attempt := attemptOf(m)
	d, err := events.UnmarshalDelivery(m.Data())
	if err != nil {
		w.deadLetter(ctx, m, nil, events.Secret{}, attempt, Permanent("malformed-event", err))
		return
	}

	log := w.log.With(slog.String(logging.KeyAuthID, d.AuthID),
		slog.Int(logging.KeyAttempt, attempt))

	if d.Expired(w.now()) {
		w.finish(m, log, "ack expired")
		w.report(ctx, &d, events.StateExpired, attempt, "", "challenge expired", "")
		log.Debug("delivery expired before sending")
		return
	}

	if w.alreadySent(ctx, &d) {
		w.finish(m, log, "ack duplicate")
		log.Info("delivery already accepted by provider; not sending again")
		return
	}

	secret, err := d.Open(w.ring)
	if err != nil {
		w.deadLetter(ctx, m, &d, events.Secret{}, attempt, Permanent("unsealable", err))
		return
	}

	log = log.With(slog.String(logging.KeyDestination, redact.Destination(secret.Destination)))

	providerID, err := w.send(ctx, &d, secret)
	switch {
	case err == nil:
		w.markSent(ctx, &d, providerID, log)
		w.finish(m, log, "ack sent")
		w.report(ctx, &d, events.StateSent, attempt, providerID, "", "")
		log.Debug("delivery sent", slog.String(logging.KeyProviderID, providerID))
	case IsPermanent(err) || attempt >= w.cfg.MaxDeliver:
		w.deadLetter(ctx, m, &d, secret, attempt, err)
	default:
		delay := w.backoff(attempt)
		if nerr := m.NakWithDelay(delay); nerr != nil {
			log.Warn("nak failed; message returns after ack wait", logging.Err(nerr))
		}
		w.report(ctx, &d, events.StateFailed, attempt, "", Reason(err), scrub(err.Error(), secret))
		log.Warn("delivery failed; will retry", slog.String(logging.KeyError,
			scrub(err.Error(), secret)), slog.Duration("retry_in", delay))
	}
}

// send calls the provider with a timeout.
func (w *Worker) send(ctx context.Context, d *events.Delivery, s events.Secret) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	defer cancel()
	return w.sender.Send(ctx, d, s)
}

// heartbeat tells the server every third of the ack wait that m is still
// being handled, so that a slow send, or a slow call to JetStream around
// it, does not get m handed out again; the returned func stops it.
func (w *Worker) heartbeat(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(w.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

func (w *Worker) alreadySent(ctx context.Context, d *events.Delivery) bool {
	_, err := w.sent.Get(ctx, events.SentKey(d))
	return err == nil
}

func (w *Worker) markSent(ctx context.Context, d *events.Delivery, providerID string, log *slog.Logger) {
	if providerID == "" {
		providerID = "-"
	}
	if _, err := w.sent.Put(ctx, events.SentKey(d), []byte(providerID)); err != nil {
		log.Warn("sent marker not written; a redelivery could send again", logging.Err(err))
	}
}

func (w *Worker) finish(m jetstream.Msg, log *slog.Logger, what string) {
	if err := m.Ack(); err != nil {
		log.Warn(what+" failed", logging.Err(err))
	}
}

// deadLetter publishes the original event to MFA_DLQ and terminates the
// message; if the dead letter cannot be stored the message is naked so it
// is not lost.
func (w *Worker) deadLetter(ctx context.Context, m jetstream.Msg, d *events.Delivery, s events.Secret,
	attempt int, cause error) {
	reason := Reason(cause)
	if !IsPermanent(cause) {
		reason = "attempts-exhausted"
	}
	lastErr := scrub(cause.Error(), s)
	log := w.log.With(slog.Int(logging.KeyAttempt, attempt), slog.String(logging.KeyReason, reason))

	dl := nats.NewMsg(w.cfg.Channel.DLQSubject())
	dl.Data = m.Data()
	dl.Header.Set(events.HeaderReason, reason)
	dl.Header.Set(events.HeaderAttempts, itoa(attempt))
	dl.Header.Set(events.HeaderLastError, lastErr)
	dl.Header.Set(events.HeaderFailedAt, w.now().UTC().Format(time.RFC3339Nano))
	if d != nil {
		log = log.With(slog.String(logging.KeyAuthID, d.AuthID))
		dl.Header.Set(events.HeaderAuthID, d.AuthID)
		dl.Header.Set(events.HeaderMsgID, "dlq."+d.MsgID())
	}

	if s.Destination != "" {
		dl.Header.Set(events.HeaderDestination, redact.Destination(s.Destination))
	}
	if _, err := w.js.PublishMsg(ctx, dl); err != nil {
		log.Warn("dead letter not stored; handing message back", logging.Err(err))
		_ = m.NakWithDelay(w.backoff(attempt))
		return
	}

	if err := m.TermWithReason(reason); err != nil {
		log.Warn("terminate failed after dead-lettering", logging.Err(err))
	}
	if d != nil {
		w.report(ctx, d, events.StateDeadLettered, attempt, "", reason, lastErr)
	}
	log.Error("delivery dead-lettered", slog.String("last_error", lastErr))
}

// report publishes a status event; a lost status is logged, not retried,
// since the delivery itself already has its outcome.
func (w *Worker) report(ctx context.Context, d *events.Delivery, state events.State, attempt int,
	providerID, reason, errText string) {
	st := events.Status{
		AuthID: d.AuthID, ClientID: d.ClientID, Channel: w.cfg.Channel,
		Generation: d.Generation, Replay: d.Replay, State: state, Attempt: attempt,
		ProviderID: providerID, Reason: reason, Error: errText, At: w.now().UTC(),
	}

	data, err := st.Marshal()
	if err != nil {
		w.log.Warn("status not encoded", logging.Err(err))
		return
	}

	msg := nats.NewMsg(w.cfg.Channel.StatusSubject())
	msg.Data = data
	msg.Header.Set(events.HeaderMsgID, st.MsgID())
	if _, err := w.js.PublishMsgAsync(msg); err != nil && !errors.Is(err, context.Canceled) {
		w.log.Warn("status not published", logging.Err(err), slog.String(logging.KeyAuthID, d.AuthID))
	}
}
