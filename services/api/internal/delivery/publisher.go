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
	js jetstream.JetStream
}

// maxPending bounds the publishes waiting for their acks; one more waits
// briefly for room (the library's stall wait) and then fails, which the
// caller answers as unavailable.
const maxPending = 8192

// NewPublisher returns a publisher on nc that waits up to timeout for each
// ack. It fails only when timeout is not positive.
func NewPublisher(nc *nats.Conn, timeout time.Duration) (*Publisher, error) {
	if timeout <= 0 {
		return nil, fmt.Errorf("delivery: publish timeout %v, want more than 0", timeout)
	}
	// The library's own timer bounds every wait for an ack, so that no
	// publish needs a timer of its own.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(timeout),
		jetstream.WithPublishAsyncMaxPending(maxPending))
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	return &Publisher{js: js}, nil
}

// Publish sends d with its deterministic Nats-Msg-Id and waits for the
// stream's ack. ctx is not consulted: a caller that goes away must not
// abandon a publish half done, as the event may already be stored. It
// fails with ErrTimeout or JetStream's error.
func (p *Publisher) Publish(_ context.Context, d *events.Delivery) error {
	wait, err := p.startOpts(d)
	if err != nil {
		return err
	}
	return wait()
}

// ErrBusy is returned by Start when as many publishes as the publisher
// allows already wait for their acks.
var ErrBusy = errors.New("delivery: too many publishes wait for their acks")

// Start sends d as Publish does but returns without waiting for the ack,
// so that the caller can do other work meanwhile; wait then returns once
// the stream has acknowledged the event, with Publish's errors. Start
// never waits for room among the publishes in flight: it fails with
// ErrBusy instead, as it does when d cannot be encoded or the connection
// refuses the message.
//
// TODO: a connection whose socket stops taking data (a hung server) can
// still hold Start in a write until the client's write deadline; the
// health check then reports JetStream down, but Start does not notice
// sooner.
func (p *Publisher) Start(d *events.Delivery) (wait func() error, err error) {
	if p.js.PublishAsyncPending() >= maxPending {
		return nil, ErrBusy
	}
	// Publishes racing this one past the bound wait a millisecond at most.
	return p.startOpts(d, jetstream.WithStallWait(time.Millisecond))
}

// startOpts is Start with publish options.
func (p *Publisher) startOpts(d *events.Delivery, opts ...jetstream.PublishOpt) (func() error, error) {
	data, err := d.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding delivery: %w", err)
	}
	return p.start(d.Channel.DeliverySubject(), d.MsgID(), data, nil, opts...)
}

// PublishRaw publishes data on subject with msgID and extra headers, and
// waits for the ack as Publish does; replays of dead letters use it.
func (p *Publisher) PublishRaw(_ context.Context, subject, msgID string, data []byte,
	hdr nats.Header) error {
	wait, err := p.start(subject, msgID, data, hdr)
	if err != nil {
		return err
	}
	return wait()
}

// start sends the message and returns a wait for its ack or the publish
// timeout.
func (p *Publisher) start(subject, msgID string, data []byte, hdr nats.Header,
	opts ...jetstream.PublishOpt) (func() error, error) {
	h := make(nats.Header, len(hdr)+3)
	for k, v := range hdr {
		h[k] = v
	}
	h[events.HeaderMsgID] = []string{msgID}
	h[events.HeaderSchema] = []string{"1"}
	h[jetstream.ExpectedStreamHeader] = []string{events.StreamDelivery}
	fut, err := p.js.PublishMsgAsync(&nats.Msg{Subject: subject, Header: h, Data: data}, opts...)
	if err != nil {
		return nil, fmt.Errorf("publishing %s: %w", subject, err)
	}
	return func() error {
		select {
		case <-fut.Ok():
			return nil
		case err := <-fut.Err():
			if errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
				return ErrTimeout
			}
			return fmt.Errorf("publishing %s: %w", subject, err)
		}
	}, nil
}
