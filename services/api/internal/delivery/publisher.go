// Package delivery publishes delivery events to JetStream for the workers,
// returning only once the stream has acknowledged them.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
)

// ErrTimeout is returned when JetStream does not acknowledge a publish in
// time.
var ErrTimeout = errors.New("delivery: publish not acknowledged in time")

// Publisher publishes delivery events. Publishes are pipelined: many may
// wait for their acks at once over one connection. It is safe for
// concurrent use.
type Publisher struct {
	js      jetstream.JetStream
	timeout time.Duration
}

// NewPublisher returns a publisher that waits up to timeout for each ack.
// js should be created with jetstream.WithPublishAsyncTimeout set to the
// same timeout, so that abandoned acks are cleaned up.
func NewPublisher(js jetstream.JetStream, timeout time.Duration) *Publisher {
	return &Publisher{js: js, timeout: timeout}
}

// Publish sends d with its deterministic Nats-Msg-Id and waits for the
// stream's ack. It fails with ErrTimeout, ctx's error, or JetStream's.
func (p *Publisher) Publish(ctx context.Context, d *events.Delivery) error {
	data, err := d.Marshal()
	if err != nil {
		return fmt.Errorf("encoding delivery: %w", err)
	}
	return p.publish(ctx, d.Channel.DeliverySubject(), d.MsgID(), data, nil)
}

// PublishRaw publishes data on subject with msgID and extra headers, waiting
// for the ack; replays of dead letters use it.
func (p *Publisher) PublishRaw(ctx context.Context, subject, msgID string, data []byte, hdr nats.Header) error {
	return p.publish(ctx, subject, msgID, data, hdr)
}

func (p *Publisher) publish(ctx context.Context, subject, msgID string, data []byte, hdr nats.Header) error {
	msg := nats.NewMsg(subject)
	for k, v := range hdr {
		msg.Header[k] = v
	}
	msg.Data = data
	msg.Header.Set(events.HeaderMsgID, msgID)
	msg.Header.Set(events.HeaderSchema, "1")

	// A caller that goes away must not abandon a publish half done: the
	// event may already be stored, and the challenge must then stay.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
	defer cancel()
	fut, err := p.js.PublishMsgAsync(msg, jetstream.WithExpectStream(events.StreamDelivery))
	if err != nil {
		return fmt.Errorf("publishing %s: %w", subject, err)
	}
	select {
	case <-fut.Ok():
		return nil
	case err := <-fut.Err():
		return fmt.Errorf("publishing %s: %w", subject, err)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ErrTimeout
		}
		return ctx.Err()
	}
}
